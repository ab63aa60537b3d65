"""The model's state as the user sees it: loading in the background (a download shows in
``download_panel``), a banner with what to do when the model is unavailable, and switching to
another model without a moment of broken search (see ``model_switch``)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QLabel, QWidget

from ..models import MODELS
from . import model_switch
from .model_switch import Coverage
from .panels import Banner
from .services import Services
from .settings_dialog import weights_key
from .tasks import run_task

WEIGHTS_FILTER = "Model weights (*.safetensors *.bin *.pt *.pth);;All files (*)"


def _coverage_of(store: Any, target: Any) -> tuple[Any, Coverage]:
    return target, model_switch.coverage(store, target.identity)


class ModelStatus(QObject):
    """``embedder`` answers searches. Loading another model while one does starts a switch:
    the new one (``target``) embeds the library in the background (both models are in
    memory meanwhile) and takes over searching once its vectors cover every indexed photo,
    or every photo a complete run could reach. Only then does the library's model setting
    change; until then the library keeps the switch as pending, and the next launch resumes
    it."""

    ready = Signal(object)  # Embedder: the first model, searching with it can start
    switched = Signal(object)  # Embedder: searches now use this model instead
    unavailable = Signal(str)
    message = Signal(str)  # for the status bar

    def __init__(self, services: Services, window: QWidget, banner: Banner, label: QLabel) -> None:
        super().__init__(window)
        self.services = services
        self.window = window
        self.banner = banner
        self.label = label
        self.embedder: Any = None
        self.target: Any = None  # the model being prepared, while a switch is under way
        self._first: Any = None  # the first model loaded, while what serves is settled
        self.error = ""
        self.loading = False
        self._checking = False
        self._check_again = False
        loader = services.loader
        loader.loaded.connect(self._on_loaded)
        loader.failed.connect(self._on_failed)
        worker = services.index_worker
        # Bound methods, not lambdas: delivered on the GUI thread, not the indexing thread.
        worker.batchIndexed.connect(self._on_batch)
        worker.upToDate.connect(self._on_up_to_date)

    def load(self, key: str | None = None) -> None:
        if key is not None:
            self.services.model_key = key
            stored = self.services.settings.value(weights_key(key))
            self.services.weights = str(stored) if stored else None
            serving = self.embedder
            if serving is not None and key == serving.spec.key:
                # Back to the model in use before the new one was ready (or could load):
                # nothing to load, the switch is off.
                self.banner.dismiss("model")
                self._cancel_switch()
                return
            if serving is not None and key != serving.spec.key:
                # Kept in the library at once, so that a close mid-switch resumes it.
                run_task(self.services.store.set_setting, model_switch.PENDING_MODEL_SETTING, key)
        self.loading = True
        self.error = ""
        self.banner.dismiss("model")
        if self.embedder is None:
            self.label.setText(f"Loading the {self.services.model_key} model…")
            self.label.setToolTip("Searching by description starts when the model is ready.")
        else:
            self._show_preparing(None)
        self.services.load_model()

    def choose_weights(self) -> None:
        spec = MODELS.get(self.services.model_key)
        title = f"Weights for {spec.key}" if spec else "Model Weights"
        path, _ = QFileDialog.getOpenFileName(self.window, title, "", WEIGHTS_FILTER)
        if path:
            self.services.settings.setValue(weights_key(self.services.model_key), path)
            self.services.weights = path
            self.load()

    def _on_loaded(self, embedder: Any) -> None:
        self.loading = False
        self.banner.dismiss("model")
        serving = self.embedder
        if serving is not None and embedder.spec.key != self.services.model_key:
            return  # asked for before the user chose again: not wanted any more
        if serving is None:
            # What serves searches is settled first: the library's older vectors, while it
            # is re-embedded for a new way of feeding photos to the same model.
            self._first = embedder
            self.loading = True  # until settled
            run_task(
                model_switch.settle_first_model, self.services.store, embedder,
                on_done=self._on_settled, on_failed=self._on_settle_failed,
            )  # fmt: skip
        elif embedder.identity == serving.identity:
            self._cancel_switch()
        else:
            self.target = embedder
            self.services.index_worker.set_embedder(embedder)  # stops the run with the old one
            self._show_preparing(None)
            self._check_coverage()

    def _on_settle_failed(self, _message: str) -> None:
        self._on_settled(model_switch.Launch(self._first, self._first, None))  # a busy library

    def _on_settled(self, launch: model_switch.Launch) -> None:
        if self.embedder is not None:
            return
        self.loading = False
        self.embedder = launch.serving
        self._show_model(launch.serving)
        self.ready.emit(launch.serving)
        if launch.upgrading:
            self.target = launch.loaded
            self.services.index_worker.set_embedder(launch.loaded)
            self._show_preparing(None)
            self._check_coverage()
        self._resume_switch(launch.pending)

    def _resume_switch(self, pending: str | None) -> None:
        if pending and pending in MODELS and self.embedder is not None:
            self.message.emit(f"Resuming the switch to the {pending} model…")
            self.load(pending)

    # -- a switch in progress --------------------------------------------------------------

    def _on_batch(self, _photos: list[Any]) -> None:
        self._check_coverage()

    def _check_coverage(self) -> None:
        """How far the new model has got (in the task pool: two counts)."""
        if self.target is None:
            return
        if self._checking:
            self._check_again = True
            return
        self._checking = True
        # Bound methods (not lambdas): dropped with the window if it closes meanwhile.
        run_task(
            _coverage_of, self.services.store, self.target,
            on_done=self._on_coverage, on_failed=self._on_coverage_failed,
        )  # fmt: skip

    def _on_coverage_failed(self, _message: str) -> None:
        self._on_coverage((None, None))  # a busy library: the next batch asks again

    def _on_coverage(self, result: tuple[Any, Coverage | None]) -> None:
        target, found = result
        self._checking = False
        # (A switch cancelled or redirected meanwhile makes this count stale.)
        if target is not None and target is self.target and found is not None:
            if found.complete:
                self._complete_switch()
                return
            self._show_preparing(found)
        if self._check_again:
            self._check_again = False
            self._check_coverage()

    def _on_up_to_date(self, embedder: Any) -> None:
        # A complete, uncancelled run with the new model: every photo it could reach has its
        # vector. Photos in folders that can't be found now (an unplugged drive) get theirs
        # when they are back; waiting for them would keep the old model on for good.
        if embedder is not None and embedder is self.target:
            self._complete_switch()

    def _complete_switch(self) -> None:
        new = self.target
        self.target = None
        self._check_again = False
        self.embedder = new
        self.services.search_worker.set_embedder(new)  # the old model is let go here
        run_task(model_switch.finish_switch, self.services.store, new.spec.key)
        self._show_model(new)
        self.message.emit(f"Now searching with {new.spec.key}.")
        self.switched.emit(new)

    def _cancel_switch(self) -> None:
        serving = self.embedder
        if self.target is not None:
            self.target = None
            self.services.index_worker.set_embedder(serving)
        run_task(model_switch.finish_switch, self.services.store, serving.spec.key)
        self.services.model_key = serving.spec.key
        self._show_model(serving)

    def _show_model(self, embedder: Any) -> None:
        self.label.setText(f"Model: {embedder.spec.key}")
        self.label.setToolTip(f"{embedder.spec.summary} Running on {embedder.device}.")

    def _show_preparing(self, found: Coverage | None) -> None:
        new, old = self.services.model_key, self.embedder.spec.key
        if self.target is not None and self.target.identity.same_weights(self.embedder.identity):
            done = "" if found is None else f": {found.done:,} of {found.total:,} photos"
            self.label.setText(f"Updating {old} to see whole photos{done}")
            self.label.setToolTip(
                "Your photos are being embedded again, whole instead of their centre square. "
                "Searching keeps using the earlier vectors until every photo is ready."
            )
            return
        if found is None:
            self.label.setText(f"Preparing {new}; searches use {old} until then")
        else:
            self.label.setText(
                f"Preparing {new}: {found.done:,} of {found.total:,} photos; searches use "
                f"{old} until then"
            )
        self.label.setToolTip(
            f"Your photos are being embedded with {new} in the background. Searching keeps "
            f"using {old} until every photo is ready, then switches by itself."
        )

    def _on_failed(self, message: str, missing: bool) -> None:
        self.loading = False
        if self.embedder is not None:
            self._switch_failed(message, missing)
            return
        self.error = message
        self.label.setText("Model unavailable")
        self.label.setToolTip(message)
        self.banner.show_message(
            message
            + " You can browse your photos meanwhile; searching by description needs the model.",
            owner="model",
            level="warning" if missing else "error",
            primary=("Choose Weights File…", self.choose_weights),
            secondary=("Retry", self.load),
        )
        self.unavailable.emit(message)

    def _switch_failed(self, message: str, missing: bool) -> None:
        """The model to switch to can't be loaded: the one in use carries on. The switch stays
        pending (Retry, or the next launch, tries again; choosing the current model in
        Settings drops it)."""
        self._show_model(self.embedder)
        self.banner.show_message(
            f"{message} Searches keep using the {self.embedder.spec.key} model.",
            owner="model",
            level="warning" if missing else "error",
            primary=("Choose Weights File…", self.choose_weights),
            secondary=("Retry", self.load),
        )

"""The model's state as the user sees it: loading in the background, a progress dialog for a
first-run download, and a banner with what to do when the model is unavailable."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QLabel, QProgressDialog, QWidget

from ..models import MODELS
from .panels import Banner
from .services import Services
from .settings_dialog import weights_key

WEIGHTS_FILTER = "Model weights (*.safetensors *.bin *.pt *.pth);;All files (*)"


class ModelStatus(QObject):
    ready = Signal(object)  # Embedder
    unavailable = Signal(str)

    def __init__(self, services: Services, window: QWidget, banner: Banner, label: QLabel) -> None:
        super().__init__(window)
        self.services = services
        self.window = window
        self.banner = banner
        self.label = label
        self.embedder: Any = None
        self.error = ""
        self.loading = False
        self._dialog: QProgressDialog | None = None
        loader = services.loader
        loader.downloadProgress.connect(self._on_download)
        loader.loaded.connect(self._on_loaded)
        loader.failed.connect(self._on_failed)

    def load(self, key: str | None = None) -> None:
        if key is not None:
            self.services.model_key = key
            stored = self.services.settings.value(weights_key(key))
            self.services.weights = str(stored) if stored else None
        self.loading = True
        self.error = ""
        self.banner.dismiss("model")
        self.label.setText(f"Loading the {self.services.model_key} model…")
        self.label.setToolTip("Searching by description starts when the model is ready.")
        self.services.load_model()

    def choose_weights(self) -> None:
        spec = MODELS.get(self.services.model_key)
        title = f"Weights for {spec.key}" if spec else "Model Weights"
        path, _ = QFileDialog.getOpenFileName(self.window, title, "", WEIGHTS_FILTER)
        if path:
            self.services.settings.setValue(weights_key(self.services.model_key), path)
            self.services.weights = path
            self.load()

    def _on_download(self, done: int, total: int) -> None:
        if self._dialog is None:
            spec = MODELS.get(self.services.model_key)
            size = f" ({spec.download_mb:,} MB)" if spec and spec.download_mb else ""
            dialog = QProgressDialog(
                f"Downloading the {self.services.model_key} model{size}. This happens once; "
                "after that photoclip works offline.",
                "Cancel",
                0,
                100,
                self.window,
            )
            dialog.setWindowTitle("Downloading Model")
            dialog.setWindowModality(Qt.WindowModality.WindowModal)
            dialog.setMinimumDuration(0)
            dialog.setAutoClose(False)
            dialog.setAutoReset(False)
            dialog.canceled.connect(self.services.loader.cancel_download)
            self._dialog = dialog
        if total > 0:
            self._dialog.setMaximum(1000)
            self._dialog.setValue(int(1000 * done / total))
            self._dialog.setLabelText(
                f"Downloading the {self.services.model_key} model: "
                f"{done / 1e6:,.0f} of {total / 1e6:,.0f} MB. This happens once; after that "
                "photoclip works offline."
            )
        else:
            self._dialog.setMaximum(0)

    def _close_dialog(self) -> None:
        if self._dialog is not None:
            self._dialog.close()
            self._dialog.deleteLater()
            self._dialog = None

    def _on_loaded(self, embedder: Any) -> None:
        self._close_dialog()
        self.loading = False
        self.embedder = embedder
        self.label.setText(f"Model: {embedder.spec.key}")
        self.label.setToolTip(f"{embedder.spec.summary} Running on {embedder.device}.")
        self.banner.dismiss("model")
        self.ready.emit(embedder)

    def _on_failed(self, message: str, missing: bool) -> None:
        self._close_dialog()
        self.loading = False
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

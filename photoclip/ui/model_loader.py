"""Loads the CLIP model in a background thread (torch is imported there, never before the
window shows), reporting download progress and a readable error when it can't. Weights loaded
before on this computer come back at once as a stand-in that answers text searches from the
exported text tower; the model itself loads when a photo needs it."""

from __future__ import annotations

import logging
import threading
import traceback
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot

from ..errors import PhotoclipError

if TYPE_CHECKING:
    from ..embedder import PhotosAndPhrases

log = logging.getLogger(__name__)


class DownloadCancelled(Exception):
    def __str__(self) -> str:
        return "you cancelled it"


class ModelLoader(QObject):
    """Lives in its own QThread. ``load`` runs there; results come back as signals."""

    downloadProgress = Signal(int, int)  # bytes done, bytes total (0 when unknown)
    loaded = Signal(object)  # Embedder
    failed = Signal(str, bool)  # message, True when the weights are missing (not a bug)
    loadRequested = Signal(str, str, int)  # model key, weights file ("" = none), threads

    def __init__(self) -> None:
        super().__init__()
        self._cancel = threading.Event()
        self.loadRequested.connect(self.load)
        self.attempts = 0

    def request(self, key: str, weights: str | None = None, threads: int = 0) -> None:
        """Ask for a (re)load from any thread."""
        self._cancel.clear()
        self.loadRequested.emit(key, weights or "", threads)

    def cancel_download(self) -> None:
        self._cancel.set()

    @Slot(str, str, int)
    def load(self, key: str, weights: str, threads: int) -> None:
        from ..embedder import deferred_for, load_embedder

        self.attempts += 1

        def load_now() -> PhotosAndPhrases:
            return load_embedder(
                key,
                weights=weights or None,
                threads=threads or None,
                progress=self._progress,
                stop=self._cancel,  # a cancel ends even a stalled download at once
            )

        try:
            # Weights this computer has loaded before: searches start at once with the text
            # tower exported then (numpy, no torch); the model loads when a photo needs it.
            embedder: Any = (
                deferred_for(key, weights or None, load_now, threads or None) or load_now()
            )
        except PhotoclipError as exc:
            from ..errors import ModelUnavailableError

            # A model to download says so in the app's words (Retry and a file chooser are
            # beside it), without the command line's flags and variables.
            message = getattr(exc, "app_message", None) or str(exc)
            self.failed.emit(message, isinstance(exc, ModelUnavailableError))
        except Exception as exc:  # a bug, or a damaged model file
            log.error("Loading the model failed:\n%s", traceback.format_exc())
            self.failed.emit(f"The {key} model couldn't be loaded: {exc}.", False)
        else:
            self.loaded.emit(embedder)

    def _progress(self, done: int, total: int) -> Any:
        if self._cancel.is_set():
            raise DownloadCancelled
        self.downloadProgress.emit(done, total)

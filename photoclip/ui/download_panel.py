"""The model download as the app shows it: a strip in the window (not a dialog: the library
stays browsable meanwhile) with how far, how fast and how long, and Cancel; and a question,
with the download size, before switching to a model that isn't on this computer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..models import MODELS
from ..throughput import Throughput, describe

if TYPE_CHECKING:
    from .services import Services


class DownloadPanel(QFrame):
    """Shown while the model loader downloads; hides itself when the load ends either way
    (a failure, a cancel included, is the model banner's to explain, with Retry)."""

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("downloadPanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.services = services
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.detail = QLabel()
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(12)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip(
            "Stop the download. What has arrived is kept: Retry continues from there."
        )
        text = QVBoxLayout()
        text.setSpacing(4)
        text.addWidget(self.title)
        text.addWidget(self.bar)
        text.addWidget(self.detail)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 8)
        layout.setSpacing(10)
        layout.addLayout(text, 1)
        layout.addWidget(self.cancel_button)
        self.meter = Throughput()
        self.cancel_button.clicked.connect(self.cancel)
        loader = services.loader
        # Bound methods: delivered on the GUI thread, not the loader's.
        loader.downloadProgress.connect(self.on_progress)
        loader.loaded.connect(self.on_finished)
        loader.failed.connect(self.on_finished)
        self.hide()

    def on_progress(self, done: int, total: int) -> None:
        if not self.isVisible():
            self.meter = Throughput()
            key = self.services.model_key
            spec = MODELS.get(key)
            size = f" ({spec.download_mb:,} MB)" if spec and spec.download_mb else ""
            self.title.setText(
                f"Downloading the {key} search model{size}. This happens once; after that "
                "photoclip works offline. You can browse your photos meanwhile."
            )
            self.cancel_button.setEnabled(True)
            self.show()
        self.meter.update(done)
        if total > 0:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * done / total))
        else:
            self.bar.setRange(0, 0)
        self.detail.setText(describe(done, total, self.meter))

    def cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.detail.setText("Stopping the download…")
        self.services.loader.cancel_download()

    def on_finished(self, *_args: object) -> None:
        self.hide()


def confirm_model_download(parent: QWidget, key: str, weights: str | None = None) -> bool:
    """True to go on with ``key``: it is on this computer, or the user agreed to download it
    (asked with its size, before any byte moves)."""
    from ..embedder import locate_weights  # cheap: no torch, no network

    spec = MODELS.get(key)
    if spec is None or spec.is_local_dir or locate_weights(spec, weights) is not None:
        return True
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Download Model?",
        f"The {key} model isn't on this computer yet. photoclip will download it once "
        f"({spec.download_mb:,} MB) from Hugging Face; after that it works offline. Your "
        "photos are then indexed with it in the background.",
        QMessageBox.StandardButton.Cancel,
        parent,
    )
    download = box.addButton(f"Download {spec.download_mb:,} MB", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(download)
    box.exec()
    return box.clickedButton() is download

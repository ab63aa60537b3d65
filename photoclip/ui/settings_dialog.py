"""Settings: the CLIP model (with its size, speed and quality), where the library lives, and
how many CPU threads the model may use. Stored with QSettings; the model choice is the
library's own setting (so the CLI uses it too)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..models import DEFAULT_MODEL, MODELS

LIBRARY_KEY = "library"
THREADS_KEY = "threads"


def weights_key(model: str) -> str:
    return f"weights/{model}"


def settings_threads(settings: QSettings) -> int:
    stored = str(settings.value(THREADS_KEY, 0))
    return int(stored) if stored.isdigit() else 0


@dataclass(frozen=True)
class Choices:
    model: str
    library: str  # "" = the default location
    threads: int  # 0 = automatic


def describe_model(key: str) -> str:
    spec = MODELS[key]
    size = f"{spec.download_mb:,} MB download" if spec.download_mb else "bundled, no download"
    return (
        f"<b>{spec.key}</b>{' (default)' if key == DEFAULT_MODEL else ''}<br>{spec.summary}"
        f"<br><span>Size: {size} · Speed: {spec.speed}<br>Quality: {spec.quality}</span>"
    )


class SettingsDialog(QDialog):
    def __init__(
        self, current: Choices, default_library: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self.initial = current
        self.model = QComboBox()
        for key, spec in MODELS.items():
            size = f"{spec.download_mb:,} MB" if spec.download_mb else "bundled"
            self.model.addItem(f"{key}  —  {size}, {spec.speed}", key)
        self.model.setCurrentIndex(max(0, self.model.findData(current.model)))
        self.model_info = QLabel()
        self.model_info.setWordWrap(True)
        self.model_note = QLabel(
            "Changing the model re-indexes your photos in the background; search keeps "
            "working with what is done so far."
        )
        self.model_note.setWordWrap(True)
        self.library = QLineEdit(current.library)
        self.library.setPlaceholderText(default_library)
        browse = QPushButton("Choose…")
        library_row = QHBoxLayout()
        library_row.addWidget(self.library, 1)
        library_row.addWidget(browse)
        library_note = QLabel("A new library location takes effect the next time photoclip starts.")
        library_note.setWordWrap(True)
        self.threads = QSpinBox()
        self.threads.setRange(0, max(64, os.cpu_count() or 1))
        self.threads.setSpecialValueText("Automatic")
        self.threads.setValue(current.threads)
        self.threads.setToolTip("CPU threads the model may use while indexing and searching")
        theme = QLabel("The app follows your system's light or dark theme.")
        for note in (self.model_note, library_note, theme):
            note.setForegroundRole(self.model_info.foregroundRole())
            note.setEnabled(False)  # the style's quieter, secondary text colour

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Model:", self.model)
        form.addRow("", self.model_info)
        form.addRow("", self.model_note)
        form.addRow("Library:", library_row)
        form.addRow("", library_note)
        form.addRow("Threads:", self.threads)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(theme)
        layout.addWidget(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        browse.clicked.connect(self._browse)
        self.model.currentIndexChanged.connect(self._show_model)
        self._show_model()

    def choices(self) -> Choices:
        return Choices(
            str(self.model.currentData()), self.library.text().strip(), self.threads.value()
        )

    def _show_model(self) -> None:
        self.model_info.setText(describe_model(str(self.model.currentData())))

    def _browse(self) -> None:
        start = self.library.text() or self.library.placeholderText()
        folder = QFileDialog.getExistingDirectory(self, "Library Location", start)
        if folder:
            self.library.setText(folder)

"""Settings: the CLIP model (with its size, speed and quality, and the precision it runs at
here), where the library lives, and how many CPU threads the model may use. The library
location, the weights files and the threads are saved in photoclip's settings file
(``photoclip.config``), which the CLI reads too; the model choice is the library's own
setting. A location on a network drive is refused before it is saved."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..config import (
    Resolver,
    UserConfig,
    config_path,
    load_config,
    save_config,
    set_weights,
    update_config,
)
from ..fsinfo import network_filesystem
from ..models import DEFAULT_MODEL, MODELS
from ..paths import library_db_path
from ..store import network_library_message

LIBRARY_KEY = "library"
THREADS_KEY = "threads"
_WEIGHTS_PREFIX = "weights/"


def weights_key(model: str) -> str:
    return f"{_WEIGHTS_PREFIX}{model}"


def settings_threads(settings: QSettings) -> int:
    stored = str(settings.value(THREADS_KEY, 0))
    return int(stored) if stored.isdigit() else 0


class ConfigSettings(QSettings):
    """The app's QSettings (window state and the like), except for the choices the CLI shares:
    the library location, the weights files and the threads are read from and saved to
    photoclip's settings file. QSettings keeps a copy of them for older photoclips."""

    def __init__(self, base: QSettings, config_file: Path | None = None) -> None:
        super().__init__(base.fileName(), base.format())
        self.config_file = config_file or config_path()

    def value(self, key: str, /, defaultValue: Any = None, type: Any = None) -> Any:
        if key.startswith(_WEIGHTS_PREFIX):  # as the CLI picks it: $PHOTOCLIP_WEIGHTS first
            model = key.removeprefix(_WEIGHTS_PREFIX)
            return Resolver(self.config_file).weights(model).value or defaultValue
        if key == LIBRARY_KEY:
            return load_config(self.config_file).library or defaultValue
        if key == THREADS_KEY:
            return load_config(self.config_file).threads or defaultValue
        if type is None:
            return super().value(key, defaultValue)
        return super().value(key, defaultValue, type)

    def setValue(self, key: str, value: Any, /) -> None:
        if key == LIBRARY_KEY:
            # Absolute: the CLI, started from any folder, must find the same library.
            chosen = os.path.abspath(os.path.expanduser(str(value))) if value else ""
            update_config(self.config_file, library=chosen)
        elif key == THREADS_KEY:
            update_config(self.config_file, threads=max(0, int(value or 0)))
        elif key.startswith(_WEIGHTS_PREFIX):
            set_weights(key.removeprefix(_WEIGHTS_PREFIX), str(value or ""), self.config_file)
        super().setValue(key, value)


def import_app_settings(settings: QSettings, config_file: Path | None = None) -> UserConfig:
    """Once: the library location, weights files and threads that older photoclips kept in
    QSettings move into the settings file, so that existing users keep their choices (and
    the CLI sees them). Choices already in the settings file win."""
    config = load_config(config_file)
    if config.imported_app_settings:
        return config
    raw = QSettings(settings.fileName(), settings.format())  # the stored values, not routed
    library = config.library or str(raw.value(LIBRARY_KEY, "") or "")
    weights = {
        key.removeprefix(_WEIGHTS_PREFIX): str(raw.value(key))
        for key in raw.allKeys()
        if key.startswith(_WEIGHTS_PREFIX) and raw.value(key)
    }
    threads = config.threads or settings_threads(raw)
    config = UserConfig(
        library=library,
        weights={**weights, **config.weights},
        threads=threads,
        imported_app_settings=True,
        extra=config.extra,
    )
    save_config(config, config_file)
    return config


def network_location_problem(library: str) -> str | None:
    """Why ``library`` (a folder or .db file; "" = the default) can't hold the library, or
    None when it can."""
    db_path = library_db_path(library or None)
    kind = network_filesystem(db_path.parent)
    return network_library_message(db_path, kind) if kind else None


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
            "Changing the model re-indexes your photos in the background; searches keep "
            "using the current model until the new one has covered your library."
        )
        self.model_note.setWordWrap(True)
        self.precision = QLabel()
        self.precision.setWordWrap(True)
        self.precision.setToolTip(
            "The fastest numeric precision that keeps the model's results, measured once on "
            "this computer (photoclip --precision overrides it for a command)"
        )
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
        form.addRow("Precision:", self.precision)
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

    def accept(self) -> None:
        """Refuse a library location on a network drive, with the reason, before saving."""
        problem = network_location_problem(self.library.text().strip())
        if problem:
            self.refusal = QMessageBox(
                QMessageBox.Icon.Warning, "Library Location", problem,
                QMessageBox.StandardButton.Ok, self,
            )  # fmt: skip
            self.refusal.open()  # window-modal, without a nested event loop
            return
        super().accept()

    def choices(self) -> Choices:
        return Choices(
            str(self.model.currentData()), self.library.text().strip(), self.threads.value()
        )

    def _show_model(self) -> None:
        from ..precision import describe_for

        key = str(self.model.currentData())
        self.model_info.setText(describe_model(key))
        self.precision.setText(describe_for(key, Resolver().weights(key).value))

    def _browse(self) -> None:
        start = self.library.text() or self.library.placeholderText()
        folder = QFileDialog.getExistingDirectory(self, "Library Location", start)
        if folder:
            self.library.setText(folder)

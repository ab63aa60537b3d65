"""The status-bar widget for background indexing: a progress line, a bar, Pause and Cancel."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QStyle, QToolButton, QWidget

from . import format as fmt


class IndexStatus(QWidget):
    pauseToggled = Signal(bool)
    cancelClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        style = self.style()
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(160)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.pause_button = QToolButton()
        self.pause_button.setCheckable(True)
        self.pause_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaPause))
        self.pause_button.setToolTip("Pause indexing")
        self.pause_button.setAccessibleName("Pause")
        self.cancel_button = QToolButton()
        self.cancel_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DialogCancelButton))
        self.cancel_button.setToolTip("Stop indexing (what is done so far is kept)")
        self.cancel_button.setAccessibleName("Cancel")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.setSpacing(6)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.pause_button)
        layout.addWidget(self.cancel_button)
        self.pause_button.toggled.connect(self._on_pause)
        self.cancel_button.clicked.connect(self.cancelClicked)
        self._last: Any = None
        self.hide()

    @property
    def paused(self) -> bool:
        return self.pause_button.isChecked()

    def starting(self) -> None:
        self.label.setText("Indexing paused" if self.paused else "Looking for new photos…")
        self.bar.setRange(0, 0)
        self.show()

    def set_paused(self, paused: bool) -> None:
        """Show the indexer's pause state (it is the one source of truth; see
        IndexWorker.set_paused)."""
        if paused != self.paused:
            self.pause_button.blockSignals(True)
            self.pause_button.setChecked(paused)
            self.pause_button.blockSignals(False)
            self._refresh()

    def update_progress(self, p: Any) -> None:
        """``p``: indexer.Progress."""
        self._last = p
        self.show()
        if p.phase == "scanning":
            self.label.setText(f"Looking for new photos… {fmt.count(p.scanned, 'photo')} found")
            self.bar.setRange(0, 0)
        elif p.phase == "indexing" and p.total:
            line = fmt.indexing_line(p.done, p.total, p.rate, p.eta_s)
            if self.paused:
                line = f"Paused · {p.done:,} of {p.total:,} indexed"
            self.label.setText(line)
            self.bar.setRange(0, p.total)
            self.bar.setValue(p.done)

    def stopped(self) -> None:
        """The run is over. The pause button keeps its state: a pause outlasts the run."""
        self._last = None
        self.hide()

    def _on_pause(self, paused: bool) -> None:
        self._refresh()
        self.pauseToggled.emit(paused)

    def _refresh(self) -> None:
        self._sync_pause_look()
        if self._last is not None:
            self.update_progress(self._last)
        elif self.isVisible():
            self.starting()

    def _sync_pause_look(self) -> None:
        paused = self.paused
        icon = QStyle.StandardPixmap.SP_MediaPlay if paused else QStyle.StandardPixmap.SP_MediaPause
        self.pause_button.setIcon(self.style().standardIcon(icon))
        self.pause_button.setToolTip("Resume indexing" if paused else "Pause indexing")
        self.pause_button.setAccessibleName("Resume" if paused else "Pause")

"""The controls above the grid's right edge: a thumbnail size slider (any size, not three
steps) and "Whole photos" (the photo's shape kept) instead of square crops; both remembered."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QSlider, QWidget

from .grid_view import MAX_SIDE, MIN_SIDE, PhotoGridView

SIZE_KEY = "grid/thumbSize"
WHOLE_KEY = "grid/wholePhotos"
DEFAULT_SIDE = 168
ZOOM_STEP = 24  # Ctrl++ / Ctrl+- move the slider this far


def stored_side(settings: QSettings) -> int:
    value = str(settings.value(SIZE_KEY, DEFAULT_SIDE))
    side = int(value) if value.isdigit() else DEFAULT_SIDE
    return max(MIN_SIDE, min(MAX_SIDE, side))


class GridControls(QWidget):
    def __init__(self, grid: PhotoGridView, settings: QSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.grid = grid
        self.settings = settings
        self.whole = QCheckBox("Whole photos")
        self.whole.setToolTip("Show each photo whole, its shape kept, instead of a square crop")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(MIN_SIDE, MAX_SIDE)
        self.slider.setSingleStep(8)
        self.slider.setPageStep(ZOOM_STEP)
        self.slider.setFixedWidth(110)
        self.slider.setToolTip("Thumbnail size (Ctrl++ and Ctrl+-)")
        self.slider.setAccessibleName("Thumbnail size")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.whole)
        layout.addWidget(self.slider)
        self.slider.setValue(grid.loader.side)
        whole = str(settings.value(WHOLE_KEY, False)).lower() in ("true", "1")
        self.whole.setChecked(whole)
        grid.set_whole_photos(whole)
        self.slider.valueChanged.connect(self._on_size)
        self.whole.toggled.connect(self._on_whole)

    def zoom(self, step: int) -> None:
        self.slider.setValue(self.slider.value() + step * ZOOM_STEP)

    def _on_size(self, side: int) -> None:
        self.grid.set_thumbnail_side(side)
        self.settings.setValue(SIZE_KEY, side)

    def _on_whole(self, whole: bool) -> None:
        self.grid.set_whole_photos(whole)
        self.settings.setValue(WHOLE_KEY, whole)

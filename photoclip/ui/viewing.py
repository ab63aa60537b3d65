"""Looking at photos: the viewer opened from the grid and back, full screen, the info panel
following the photo in view (the grid's current one, or the viewer's), and the viewer's
heart following favourites changed elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtWidgets import QMainWindow, QStackedWidget, QWidget

from .full_screen import FullScreen
from .grid_model import PhotoGridModel
from .grid_view import PhotoGridView
from .info_panel import InfoPanel
from .tasks import run_task
from .viewer import Viewer


class Viewing(QObject):
    def __init__(
        self,
        window: QMainWindow,
        stack: QStackedWidget,
        grid: PhotoGridView,
        model: PhotoGridModel,
        viewer: Viewer,
        info_panel: InfoPanel,
        chrome: Callable[[], list[QWidget]],
    ) -> None:
        super().__init__(window)
        self.stack = stack
        self.grid = grid
        self.model = model
        self.viewer = viewer
        self.info_panel = info_panel
        self.full_screen = FullScreen(window, chrome, viewer.set_full_screen)
        self.afterClose: Callable[[], None] = lambda: None  # the window settles its stack
        viewer.closed.connect(self.close_viewer)
        viewer.fullScreenToggled.connect(self.full_screen.toggle)
        viewer.infoToggled.connect(self.toggle_info)
        viewer.currentChanged.connect(self._on_viewer_row)
        info_panel.closed.connect(lambda: self.set_info_visible(False))
        grid.selectionModel().currentChanged.connect(self._on_grid_current)
        model.modelReset.connect(self._on_grid_current)

    # -- the viewer ------------------------------------------------------------------------

    @property
    def viewing(self) -> bool:
        return self.stack.currentWidget() is self.viewer

    def open_viewer(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            return
        self.stack.setCurrentWidget(self.viewer)
        self.viewer.show_row(row)
        self.viewer.setFocus(Qt.FocusReason.OtherFocusReason)

    def close_viewer(self) -> None:
        self.full_screen.leave()
        self.viewer.play.setChecked(False)
        row = self.viewer.row
        self.stack.setCurrentWidget(self.grid)
        self.afterClose()
        if 0 <= row < self.model.rowCount():
            index = self.model.index(row)
            self.grid.setCurrentIndex(index)
            self.grid.scrollTo(index)
        self.grid.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- the info panel --------------------------------------------------------------------

    def toggle_info(self) -> None:
        self.set_info_visible(not self.info_panel.isVisible())

    def set_info_visible(self, visible: bool) -> None:
        self.info_panel.setVisible(visible)
        self.viewer.info.setChecked(visible)

    def _on_viewer_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.info_panel.show_photo(self.model.ids[row])

    def _on_grid_current(self, *args: Any) -> None:
        if self.viewing:
            return
        current = self.grid.currentIndex()
        row = current.row() if isinstance(current, QModelIndex) and current.isValid() else -1
        self.info_panel.show_photo(self.model.ids[row] if 0 <= row < self.model.rowCount() else -1)

    # -- favourites ------------------------------------------------------------------------

    def use_store_favourites(self, store: Any) -> None:
        """The heart reads and writes the library's favourites (in the pool)."""

        def is_favourite(photo_id: int, answer: Callable[[bool], None]) -> None:
            run_task(store.is_favourite, photo_id, on_done=answer)

        def set_favourite(photo_id: int, favourite: bool) -> None:
            run_task(store.set_favourite, [photo_id], favourite)

        self.viewer.use_favourites(is_favourite, set_favourite)

    def favourites_changed(self, photo_ids: list[int], favourite: bool) -> None:
        """Favourites changed elsewhere (the grid, a menu): the heart follows."""
        for photo_id in photo_ids:
            self.viewer.show_favourite(photo_id, favourite)
        self.info_panel.refresh()

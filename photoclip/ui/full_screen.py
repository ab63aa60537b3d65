"""Full screen for the viewer: the window goes full screen with everything but the photo
hidden, and comes back as it was (maximised or not, the same chrome showing)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMainWindow, QWidget


class FullScreen:
    def __init__(
        self,
        window: QMainWindow,
        chrome: Callable[[], list[QWidget]],
        on_change: Callable[[bool], None],
    ) -> None:
        self.window = window
        self.chrome = chrome  # the widgets to hide (asked each time: some come and go)
        self.on_change = on_change
        self.active = False
        self._hidden: list[QWidget] = []
        self._was_maximized = False

    def toggle(self) -> None:
        if self.active:
            self.leave()
        else:
            self.enter()

    def enter(self) -> None:
        if self.active:
            return
        self.active = True
        self._was_maximized = self.window.isMaximized()
        self._hidden = [w for w in self.chrome() if w.isVisible()]
        for widget in self._hidden:
            widget.hide()
        self.window.showFullScreen()
        self.on_change(True)

    def leave(self) -> None:
        if not self.active:
            return
        self.active = False
        for widget in self._hidden:
            widget.show()
        self._hidden = []
        if self._was_maximized:
            self.window.showMaximized()
        else:
            self.window.showNormal()
        self.on_change(False)

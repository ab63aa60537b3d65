"""The main window's menu bar and keyboard shortcuts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QMenu, QMessageBox

from .. import __version__

if TYPE_CHECKING:
    from .main_window import MainWindow


def _add(menu: QMenu, text: str, slot: Callable[[], Any], shortcut: Any = None) -> QAction:
    act = menu.addAction(text)
    act.triggered.connect(slot)
    if shortcut is not None:
        act.setShortcut(QKeySequence(shortcut))
    return act


def build_menus(window: MainWindow) -> None:
    bar = window.menuBar()
    keys = QKeySequence.StandardKey
    file_menu = bar.addMenu("&File")
    _add(file_menu, "&Add Folder…", window.choose_folder, keys.Open)
    _add(file_menu, "&Settings…", window.open_settings, "Ctrl+,")
    file_menu.addSeparator()
    _add(file_menu, "&Quit", window.close, keys.Quit)

    edit_menu = bar.addMenu("&Edit")
    _add(edit_menu, "&Find…", window.search_bar.focus, keys.Find)
    _add(edit_menu, "Copy &Image", window.copy_selected_image, keys.Copy)
    _add(edit_menu, "Copy &Path", window.copy_selected_paths, "Ctrl+Shift+C")
    _add(edit_menu, "Find &Similar", window.find_similar_to_selected, "Ctrl+Shift+F")
    _add(edit_menu, "Select &All", window.grid.selectAll, keys.SelectAll)

    view_menu = bar.addMenu("&View")
    _add(view_menu, "&All Photos", window.show_all_photos, "Ctrl+1")
    _add(view_menu, "&Problems", window.sidebar.select_problems, "Ctrl+2")
    view_menu.addSeparator()
    _add(view_menu, "&Larger Thumbnails", lambda: window.zoom(1), keys.ZoomIn)
    _add(view_menu, "&Smaller Thumbnails", lambda: window.zoom(-1), keys.ZoomOut)
    info = _add(view_menu, "&Info Panel", window.toggle_info, "I")
    # Only where photos have the focus: elsewhere "i" is a letter to type.
    info.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    window.grid.addAction(info)
    window.viewer.addAction(info)

    help_menu = bar.addMenu("&Help")
    _add(help_menu, "&Keyboard Shortcuts", window.help.show_shortcuts, "?")
    _add(help_menu, "&Search Tips", window.help.show_search_tips)
    help_menu.addSeparator()
    _add(help_menu, "&About photoclip", lambda: about(window))
    QShortcut(QKeySequence("Ctrl+L"), window, window.search_bar.focus)


def about(window: MainWindow) -> None:
    QMessageBox.about(
        window,
        "About photoclip",
        f"<b>photoclip {__version__}</b><p>Find any photo by describing it.</p>"
        "<p>Private and offline: your photos and searches never leave this computer.</p>"
        f"<p>Library: {window.store.path}</p>",
    )

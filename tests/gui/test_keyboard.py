"""Keyboard: Ctrl+F / Ctrl+L focus the search bar, Esc clears it, and typing while the grid
has focus goes to the search bar."""

from __future__ import annotations

from guitest import launch_indexed, wait_results
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication


def test_search_shortcuts(launch, qtbot, small_shapes_dir):
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    edit = window.search_bar.edit

    for shortcut in ("Ctrl+F", "Ctrl+L"):
        window.grid.setFocus()
        qtbot.keyClick(window.grid, shortcut[-1], Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: QApplication.focusWidget() is edit)

    qtbot.keyClicks(edit, "a star")
    qtbot.keyClick(edit, Qt.Key.Key_Escape)
    assert edit.text() == ""

    # Typing in the grid starts a search.
    window.search.refresh()
    wait_results(qtbot, window)
    window.grid.setFocus()
    window.grid.setCurrentIndex(window.model.index(0))
    qtbot.keyClicks(window.grid, "circle")
    assert QApplication.focusWidget() is edit
    qtbot.waitUntil(lambda: window.model.query.text == "circle", timeout=30_000)

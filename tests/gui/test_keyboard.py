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


def test_tabbing_through_the_sidebar_chooses_nothing(launch, qtbot, small_shapes_dir):
    """Focus arriving in a list by Tab shows where it is; only a key press, click or Space
    chooses a place (Tab into the lower list used to switch the grid to Favourites)."""
    from photoclip.ui.sidebar import ALL, FAVOURITES, FOLDER

    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    sidebar = window.sidebar

    def tab_round(start) -> set:
        start.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(lambda: QApplication.focusWidget() is start)
        seen = set()
        for _ in range(40):
            qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
            seen.add(QApplication.focusWidget())
            if QApplication.focusWidget() is start:
                break
        return seen

    seen = tab_round(window.search_bar.edit)
    assert {sidebar.list, sidebar.places} <= seen
    assert sidebar.current().kind == ALL

    # The keyboard still chooses: Space on the lower list's focused row (Favourites) ...
    sidebar.places.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is sidebar.places)
    qtbot.keyClick(sidebar.places, Qt.Key.Key_Space)
    assert sidebar.current().kind == FAVOURITES
    # ... and from there a Tab round through the upper list leaves that choice alone.
    tab_round(window.search_bar.edit)
    assert sidebar.current().kind == FAVOURITES
    # Down in the upper list moves from its focused row (All photos) to the folder below.
    sidebar.list.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is sidebar.list)
    qtbot.keyClick(sidebar.list, Qt.Key.Key_Down)
    assert sidebar.current().kind == FOLDER
    assert sidebar.current().path == str(small_shapes_dir)
    assert sidebar.places.selectedItems() == []

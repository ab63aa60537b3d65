"""The viewer: Enter or a double-click opens the photo large, Left/Right step through the
current result, Esc goes back to the grid."""

from __future__ import annotations

from guitest import launch_indexed, wait_results
from PySide6.QtCore import Qt


def test_viewer_opens_navigates_and_closes(launch, qtbot, small_shapes_dir):
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    window.search.refresh()
    wait_results(qtbot, window)
    grid, viewer = window.grid, window.viewer
    qtbot.waitUntil(lambda: window.stack.currentWidget() is grid)

    # Keyboard: select the first photo, Enter opens it.
    grid.setFocus()
    grid.setCurrentIndex(window.model.index(0))
    qtbot.keyClick(grid, Qt.Key.Key_Return)
    assert window.stack.currentWidget() is viewer
    assert viewer.row == 0
    assert viewer.title.text() == window.model.row_info(0).path.rsplit("/", 1)[-1]
    assert "1 of 40" in viewer.subtitle.text()
    qtbot.waitUntil(lambda: viewer.canvas.has_image() and not viewer.canvas.message)

    qtbot.keyClick(viewer, Qt.Key.Key_Right)
    qtbot.keyClick(viewer, Qt.Key.Key_Right)
    assert viewer.row == 2 and "3 of 40" in viewer.subtitle.text()
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    assert viewer.row == 1
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    qtbot.keyClick(viewer, Qt.Key.Key_Left)  # stays on the first photo
    assert viewer.row == 0
    qtbot.keyClick(viewer, Qt.Key.Key_End)
    assert viewer.row == 39 and not viewer.next.isEnabled()

    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is grid
    assert grid.currentIndex().row() == 39  # the grid follows the viewer

    # Mouse: a double-click on a cell opens that photo.
    index = window.model.index(3)
    grid.scrollTo(index)
    rect = grid.visualRect(index)
    # What the system sends for a double-click: press, release, double-click, release.
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.stack.currentWidget() is viewer
    assert viewer.row == 3
    viewer.back.click()
    assert window.stack.currentWidget() is grid


def test_viewer_shows_why_a_photo_cannot_be_opened(launch, qtbot, small_shapes_dir):
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    window.search.refresh()
    wait_results(qtbot, window)
    path = window.model.row_info(0).path
    with open(path, "r+b") as f:  # damaged after indexing
        f.truncate(200)
    window.open_viewer(0)
    qtbot.waitUntil(lambda: bool(window.viewer.canvas.message), timeout=10_000)
    assert window.viewer.canvas.message.startswith("Couldn't open ")

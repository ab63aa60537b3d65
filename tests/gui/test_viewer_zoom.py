"""The viewer zooms (keys, Ctrl++, wheel, pinch), pans by dragging, toggles fit and 100 %
(decoding the full photo for it), never enlarges a small photo past 100 % to fit, goes full
screen (F, F11, double-click; Esc leaves), plays a slideshow, has a working heart, and shows
the info panel (I), as does the grid."""

from __future__ import annotations

from pathlib import Path

from guitest import launch_indexed, wait_results
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication, QNativeGestureEvent, QPointingDevice
from PySide6.QtWidgets import QApplication


def big_photo(folder: Path) -> Path:
    """A 2400 x 1600 photo: larger than the test window, so fit is below 100 %."""
    path = folder / "big" / "wide.jpg"
    path.parent.mkdir(parents=True)
    image = Image.new("RGB", (2400, 1600), (30, 90, 200))
    for x in range(0, 2400, 100):  # detail to look at when zoomed
        image.paste((240, 240, 240), (x, 0, x + 8, 1600))
    image.save(path, quality=90)
    return path


def gps_photo(folder: Path) -> Path:
    path = folder / "trip" / "eiffel.jpg"
    path.parent.mkdir(parents=True)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "EOS 5D"
    exif.get_ifd(0x8769)[0x9003] = "2021:06:15 14:30:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (48.0, 51.0, 30.0), "E", (2.0, 17.0, 40.0)
    Image.new("RGB", (320, 240), (200, 40, 40)).save(path, exif=exif)
    return path


def open_photo(window, qtbot, path: Path) -> int:
    window.search.refresh()
    wait_results(qtbot, window)
    row = next(r for r in range(window.model.rowCount()) if window.model.path(r) == str(path))
    window.open_viewer(row)
    qtbot.waitUntil(lambda: window.viewer.full_image_shown(), timeout=15_000)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.viewer.setFocus()
    return row


def test_zoom_pan_fit_and_actual_size(launch, qtbot, small_shapes_dir):
    big = big_photo(small_shapes_dir)
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=41)
    window.resize(1000, 700)
    open_photo(window, qtbot, big)
    viewer, canvas = window.viewer, window.viewer.canvas
    fit = canvas.percent()
    assert canvas.zoom is None and fit < 60 and viewer.zoom_label.text() == "Fit"
    assert canvas.full_size.width() == 2400  # the photo's own size, not the decoded one's

    qtbot.keyClick(viewer, Qt.Key.Key_Plus)
    first = canvas.percent()
    assert canvas.zoom is not None and round(first / fit, 2) == 1.25
    qtbot.keyClick(viewer, Qt.Key.Key_Minus)
    assert canvas.zoom is None  # back at fit: zooming out stops there

    # Ctrl++ zooms the photo, not the grid's thumbnails behind it.
    side = window.thumbnails.side
    qtbot.keyClick(viewer, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    assert canvas.zoom is not None
    assert window.thumbnails.side == side

    # 1: actual pixels, from a full-resolution decode; 0: fit again.
    qtbot.keyClick(viewer, Qt.Key.Key_1)
    assert round(canvas.percent()) == 100 and viewer.zoom_label.text() == "100 %"
    qtbot.waitUntil(lambda: canvas.pixmap_size().width() == 2400, timeout=15_000)
    assert round(canvas.percent()) == 100  # the sharper decode kept the view
    # Drag to pan: the photo moves with the mouse.
    before = canvas.photo_rect()
    centre = canvas.rect().center()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(canvas, centre + QPoint(-150, -80))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=centre + QPoint(-150, -80))
    after = canvas.photo_rect()
    assert round(after.x() - before.x()) == -150 and round(after.y() - before.y()) == -80
    qtbot.keyClick(viewer, Qt.Key.Key_0)
    assert canvas.zoom is None

    # The wheel zooms about the pointer: the photo point under it stays put.
    point = QPointF(canvas.rect().center()) + QPointF(120, 40)
    photo_point = canvas._to_photo(point)
    _wheel(canvas, point, 240)
    assert canvas.zoom is not None and canvas.percent() > first
    moved = canvas._to_photo(point)
    assert abs(moved.x() - photo_point.x()) < 2 and abs(moved.y() - photo_point.y()) < 2
    _wheel(canvas, point, -2400)
    assert canvas.zoom is None

    # A pinch on a touchpad zooms too.
    zoom_gesture = QNativeGestureEvent(
        Qt.NativeGestureType.ZoomNativeGesture, QPointingDevice.primaryPointingDevice(), 2,
        QPointF(canvas.rect().center()), QPointF(canvas.rect().center()),
        QPointF(canvas.mapToGlobal(canvas.rect().center())), 0.5, QPointF(), 0,
    )  # fmt: skip
    QApplication.sendEvent(canvas, zoom_gesture)
    assert canvas.zoom is not None and round(canvas.percent() / fit, 2) == 1.5


def _wheel(widget, pos: QPointF, delta: int) -> None:
    from PySide6.QtGui import QWheelEvent

    event = QWheelEvent(
        pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(), QPoint(0, delta),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
        False,
    )  # fmt: skip
    QApplication.sendEvent(widget, event)


def test_a_small_photo_is_not_enlarged_to_fit(launch, qtbot, small_shapes_dir):
    small = gps_photo(small_shapes_dir)  # 320 x 240
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=41)
    window.resize(1000, 700)
    open_photo(window, qtbot, small)
    canvas = window.viewer.canvas
    assert round(canvas.percent()) == 100
    rect = canvas.photo_rect()
    dpr = canvas.devicePixelRatioF()
    assert round(rect.width() * dpr) == 320 and round(rect.height() * dpr) == 240


def test_full_screen_slideshow_and_heart(launch, qtbot, small_shapes_dir):
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    row = open_photo(window, qtbot, Path(_first_path(window, qtbot)))
    viewer = window.viewer
    assert row == 0

    for key in (Qt.Key.Key_F, Qt.Key.Key_F11):
        qtbot.keyClick(viewer, key)
        assert window.viewing.full_screen.active and viewer.full_screen
        assert not window.sidebar.isVisible() and not window.search_bar.isVisible()
        assert not window.menuBar().isVisible()
        qtbot.keyClick(viewer, Qt.Key.Key_Escape)  # Esc leaves full screen first...
        assert not window.viewing.full_screen.active
        assert window.stack.currentWidget() is viewer
        assert window.sidebar.isVisible() and window.search_bar.isVisible()
    # A double-click on the photo goes full screen too; F11 is the viewer's, not the menu's.
    canvas = viewer.canvas
    qtbot.mouseDClick(canvas, Qt.MouseButton.LeftButton, pos=canvas.rect().center())
    assert window.viewing.full_screen.active
    qtbot.keyClick(viewer, Qt.Key.Key_F11)
    assert not window.viewing.full_screen.active

    # The slideshow moves on by itself, and S stops it.
    viewer.slideshow.setInterval(100)
    qtbot.keyClick(viewer, Qt.Key.Key_S)
    assert viewer.play.isChecked()
    qtbot.waitUntil(lambda: viewer.row >= 2, timeout=10_000)
    qtbot.keyClick(viewer, Qt.Key.Key_S)
    stopped_at = viewer.row
    qtbot.wait(350)
    assert viewer.row == stopped_at

    # The heart marks the photo a favourite, in the library.
    photo_id = window.model.ids[viewer.row]
    assert not window.store.is_favourite(photo_id)
    qtbot.keyClick(viewer, Qt.Key.Key_H)
    assert viewer.heart.isChecked()
    qtbot.waitUntil(lambda: window.store.is_favourite(photo_id), timeout=10_000)
    viewer.heart.click()
    assert not viewer.heart.isChecked()
    qtbot.waitUntil(lambda: not window.store.is_favourite(photo_id), timeout=10_000)

    # Esc (not full screen) goes back to the grid.
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.grid


def _first_path(window, qtbot) -> str:
    window.search.refresh()
    wait_results(qtbot, window)
    return window.model.path(0)


def test_info_panel_in_the_grid_and_the_viewer(launch, qtbot, small_shapes_dir):
    photo = gps_photo(small_shapes_dir)
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=41)
    window.resize(1200, 760)
    window.search.refresh()
    wait_results(qtbot, window)
    album = window.store.create_album("Paris")
    photo_id = window.store.photo_id_for_path(str(photo))
    window.store.add_to_album(album, [photo_id])
    row = window.model.row_of(photo_id)
    assert row is not None
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.grid.setFocus()
    window.grid.setCurrentIndex(window.model.index(row))
    panel = window.info_panel
    assert not panel.isVisible()
    qtbot.keyClick(window.grid, Qt.Key.Key_I)
    assert panel.isVisible()
    qtbot.waitUntil(lambda: panel.info is not None and panel.info.photo_id == photo_id)
    text = panel.text()
    for expected in (
        "Name: eiffel.jpg", f"Path: {photo}", f"Folder: {photo.parent}", "Format: JPEG",
        "Dimensions: 320 × 240 pixels", "Taken: 15 Jun 2021, 14:30",
        "Date from: from the photo's EXIF data", "Camera: Canon EOS 5D",
        "Location: 48.85833° N, 2.29444° E", "Albums: Paris",
    ):  # fmt: skip
        assert expected in text, (expected, text)
    assert "Size: " in text and ("bytes" in text or "KB" in text)
    panel.copy_button.click()
    assert QGuiApplication.clipboard().text() == str(photo)

    # In the viewer it follows the photo shown; I hides it again.
    window.open_viewer(row)
    assert window.viewer.info.isChecked()
    other = 0 if row else 1
    window.viewer.show_row(other)
    qtbot.waitUntil(
        lambda: panel.info is not None and panel.info.photo_id == window.model.ids[other]
    )
    assert "Taken: " in panel.text() and "Date from: from the file's time" in panel.text()
    window.viewer.setFocus()
    qtbot.keyClick(window.viewer, Qt.Key.Key_I)
    assert not panel.isVisible() and not window.viewer.info.isChecked()

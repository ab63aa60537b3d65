"""Browsing as a timeline: month sections with the library's counts under sticky headers, day
sections when zoomed in, a year scrubber that jumps (loading pages), the size slider and
whole photos; and for a search, "Best matches" above "Other photos" in true colours."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from guitest import launch_indexed, wait_results
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QAbstractItemView

from photoclip.ui.grid_model import date_title
from photoclip.ui.grid_view import HEADER_HEIGHT

# (year, month, day) for the 40 photos, in file order: three years, several months.
WHEN = (
    [(2022, 7, 14)] * 6
    + [(2023, 2, 1)] * 8
    + [(2023, 2, 9)] * 4
    + [(2024, 3, 5)] * 12
    + [(2024, 11, 30)] * 10
)


def date_the_photos(folder: Path) -> dict[str, str]:
    """File times spread over three years (the photos have no EXIF date): path -> month."""
    months = {}
    for path, (y, m, d) in zip(sorted(folder.rglob("*.jpg")), WHEN, strict=True):
        t = datetime(y, m, d, 12, 0).timestamp()
        os.utime(path, (t, t))
        months[str(path)] = f"{y}-{m:02d}"
    return months


def browse(launch, qtbot, folder):
    window = launch_indexed(launch, qtbot, [folder], at_least=40)
    window.search.refresh()
    wait_results(qtbot, window)
    # The headers carry the library's counts once the timeline has them.
    qtbot.waitUntil(lambda: bool(window.model.group_counts), timeout=10_000)
    return window


def test_browsing_is_a_timeline_of_months_with_sticky_headers(launch, qtbot, small_shapes_dir):
    date_the_photos(small_shapes_dir)
    window = browse(launch, qtbot, small_shapes_dir)
    window.resize(900, 640)
    model, grid = window.model, window.grid
    titles = [s.title for s in model.sections()]
    assert titles == [
        "November 2024 · 10 photos",
        "March 2024 · 12 photos",
        "February 2023 · 12 photos",
        "July 2022 · 6 photos",
    ]
    assert window.store.date_counts(7)["2024-03"] == 12
    # Each section starts on a new line below its header.
    layout = grid.layout_now()
    second = model.sections()[1]
    first_cell = grid.visualRect(model.index(second.start))
    assert first_cell.left() == 0
    assert first_cell.top() + grid.verticalOffset() == layout.tops[1] + HEADER_HEIGHT
    assert not grid.indexAt(first_cell.topLeft() - QPoint(0, 10)).isValid()  # the header

    # Scrolled into March 2024, the header at the top says so.
    grid.verticalScrollBar().setValue(layout.tops[1] + HEADER_HEIGHT + 5)
    assert grid.header_title_at_top() == "March 2024 · 12 photos"
    assert model.row_info(grid.top_row()).taken_at.startswith("2024-03")
    image = grid.viewport().grab().toImage()
    # The sticky header is painted over the cells: the top strip is the header's ground.
    ground = grid.palette().color(QPalette.ColorRole.Base)
    assert QColor(image.pixel(image.width() - 40, 4)).rgb() == ground.rgb()
    assert grid.indexAt(QPoint(20, 4)).isValid()  # there is a cell under it

    # The scrubber lists the years, follows the scroll, and jumps.
    scrubber = window.timeline.scrubber
    assert scrubber.isVisible() and scrubber.years == ["2024", "2023", "2022"]
    assert scrubber.current == "2024"
    view = grid.viewport().rect()

    def shown_and_current(section: int) -> bool:
        row = model.sections()[section].start
        return grid.currentIndex().row() == row and view.contains(grid.visualRect(model.index(row)))

    window.timeline.jump_to_year("2022")
    qtbot.waitUntil(lambda: shown_and_current(3))
    # A click on a year in the strip does the same.
    qtbot.mouseClick(scrubber, Qt.MouseButton.LeftButton, pos=scrubber.rect_of("2023").center())
    qtbot.waitUntil(lambda: shown_and_current(2))
    assert model.row_info(grid.top_row()).taken_at.startswith("2023")


def test_zoomed_in_the_sections_are_days_and_whole_photos_keep_their_shape(
    launch, qtbot, small_shapes_dir
):
    date_the_photos(small_shapes_dir)
    window = browse(launch, qtbot, small_shapes_dir)
    controls, grid, model = window.grid_controls, window.grid, window.model
    side = window.thumbnails.side
    controls.zoom(1)
    assert window.thumbnails.side == side + 24  # the slider moves in any step, not 3 sizes
    controls.slider.setValue(260)
    assert window.thumbnails.side == 260
    qtbot.waitUntil(
        lambda: len(model.group_counts) > 4 and len(next(iter(model.group_counts))) == 10,
        timeout=10_000,
    )
    titles = [s.title for s in model.sections()]
    assert titles[:2] == [date_title("2024-11-30", 10), date_title("2024-03-05", 12)]
    assert "Thursday 9 February 2023 · 4 photos" in titles
    assert window.settings.value("grid/thumbSize") in (260, "260")

    # Whole photos: a photo that isn't square leaves the tile's edges empty.
    controls.slider.setValue(168)
    controls.whole.setChecked(True)
    dpr = grid.devicePixelRatioF()
    row = next(
        r for r in range(model.rowCount())
        if _aspect(model.path(r)) > 1.3 or _aspect(model.path(r)) < 0.77
    )  # fmt: skip
    grid.scrollTo(model.index(row))
    pid = model.ids[row]
    grid.viewport().update()
    qtbot.waitUntil(lambda: window.thumbnails.peek(pid, dpr) is not None, timeout=10_000)
    pix = window.thumbnails.peek(pid, dpr).toImage()
    wide = _aspect(model.path(row)) > 1
    edge = (pix.width() // 2, 2) if wide else (2, pix.height() // 2)
    assert pix.pixelColor(*edge).alpha() == 0
    assert pix.pixelColor(pix.width() // 2, pix.height() // 2).alpha() == 255
    controls.whole.setChecked(False)
    qtbot.waitUntil(lambda: window.thumbnails.peek(pid, dpr) is not None, timeout=10_000)
    pix = window.thumbnails.peek(pid, dpr).toImage()
    assert pix.pixelColor(*edge).alpha() == 255  # a square crop fills the tile


def _aspect(path: str) -> float:
    from PIL import Image

    with Image.open(path) as im:
        return im.width / im.height


def test_3_weaker_matches_keep_true_colours_below_an_other_photos_header(
    launch, qtbot, small_shapes_dir
):
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    window.resize(1000, 700)
    window.search_bar.set_text("a red circle")
    wait_results(qtbot, window)
    model, grid = window.model, window.grid
    strong = model.strong_count
    assert 0 < strong < model.rowCount()
    sections = model.sections()
    assert [s.title for s in sections] == [f"Best matches · {strong}", "Other photos"]
    # The first weaker photo starts a new line under its own header.
    weaker = grid.visualRect(model.index(strong))
    layout = grid.layout_now()
    assert weaker.left() == 0
    assert weaker.top() + grid.verticalOffset() == layout.tops[1] + HEADER_HEIGHT
    # ...and is painted as it is, not washed toward white.
    grid.clearSelection()
    grid.setCurrentIndex(model.index(0))  # (the current tile is drawn framed)
    grid.scrollTo(model.index(strong), QAbstractItemView.ScrollHint.PositionAtCenter)
    dpr = grid.devicePixelRatioF()
    pid = model.ids[strong]
    grid.viewport().update()
    qtbot.waitUntil(lambda: window.thumbnails.peek(pid, dpr) is not None, timeout=10_000)
    rect = grid.visualRect(model.index(strong))
    shot = grid.viewport().grab().toImage()
    thumb = window.thumbnails.peek(pid, dpr).toImage()
    side = window.thumbnails.side
    tile_x = rect.x() + (rect.width() - side) // 2
    tile_y = rect.y() + (rect.height() - side) // 2
    for fx, fy in ((0.5, 0.5), (0.25, 0.25), (0.75, 0.6)):
        on_screen = QColor(
            shot.pixel(round((tile_x + fx * side) * dpr), round((tile_y + fy * side) * dpr))
        )
        original = QColor(thumb.pixel(round(fx * thumb.width()), round(fy * thumb.height())))
        for a, b in ((on_screen.red(), original.red()), (on_screen.green(), original.green()),
                     (on_screen.blue(), original.blue())):  # fmt: skip
            assert abs(a - b) <= 6, (on_screen.name(), original.name())

"""Albums, favourites, export and Move to Trash with Undo, through the real widgets of the real
app on an indexed library: the sidebar's places, the grid's context menu and shortcuts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from guitest import drop_urls, launch_indexed, wait_results
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QLabel

from photoclip.ui.sidebar import CountRole, PlaceRole

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def actions(menu) -> dict[str, object]:
    return {a.text(): a for a in menu.actions() if not a.isSeparator()}


def count(window, key: str) -> int | None:
    item = window.sidebar.place_item(key)
    return None if item is None else item.data(CountRole)


def select_rows(window, rows) -> None:
    selection = window.grid.selectionModel()
    selection.clearSelection()
    flag = selection.SelectionFlag
    selection.setCurrentIndex(window.model.index(rows[0], 0), flag.NoUpdate)
    for r in rows:
        selection.select(window.model.index(r, 0), flag.Select)
    window.grid.setFocus()


def shown_paths(window) -> list[str]:
    return [window.model.path(r) for r in range(window.model.rowCount())]


def album_key(window, name: str) -> str:
    return f"album:{window.store.album_named(name).id}"


def test_albums_from_the_sidebar_and_the_context_menu(launch, qtbot, small_shapes_dir):
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    wait_results(qtbot, window)
    sidebar = window.sidebar
    qtbot.waitUntil(lambda: count(window, "favourites") == 0, timeout=10_000)

    # New Album… in the sidebar: a name, and the new (empty) album is chosen.
    new = next(
        sidebar.places.item(i)
        for i in range(sidebar.places.count())
        if sidebar.places.item(i).text() == "New Album…"
    )
    rect = sidebar.places.visualItemRect(new)
    qtbot.mouseClick(sidebar.places.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    dialog = window.collections.name_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.setTextValue("Trip")
    dialog.accept()
    qtbot.waitUntil(lambda: sidebar.current().name == "Trip", timeout=10_000)
    wait_results(qtbot, window)
    assert window.model.rowCount() == 0
    assert window.stack.currentWidget() is window.empty
    assert window.empty.detail.text().startswith("This album is empty. Drag photos onto it")

    # Back to all photos: three of them into the album from the context menu.
    sidebar.select_all_photos()
    wait_results(qtbot, window)
    select_rows(window, [0, 1, 2])
    chosen = [window.model.path(r) for r in (0, 1, 2)]
    menu = window.context_menu_for(1)
    submenu = actions(menu)["Add to Album"].menu()
    actions(submenu)["Trip"].trigger()
    qtbot.waitUntil(lambda: count(window, album_key(window, "Trip")) == 3, timeout=10_000)
    assert "Added 3 photos to “Trip”." in window.statusBar().currentMessage()

    # The album in the sidebar: its photos, and a search within it.
    assert sidebar.select_place(album_key(window, "Trip"))
    wait_results(qtbot, window)
    assert sorted(shown_paths(window)) == sorted(chosen)
    window.search_bar.edit.setText("a red circle")
    window.search_bar.edit.textEdited.emit("a red circle")
    qtbot.waitUntil(lambda: window.model.query.kind == "text", timeout=60_000)
    wait_results(qtbot, window)
    assert window.model.total == 3 and sorted(shown_paths(window)) == sorted(chosen)
    window.search_bar.clear()
    qtbot.waitUntil(lambda: window.model.query.kind == "browse", timeout=10_000)
    wait_results(qtbot, window)

    # Remove one from the album: it leaves the grid, not the library.
    row = window.model.row_of(window.store.photo_id_for_path(chosen[0]))
    select_rows(window, [row])
    actions(window.context_menu_for(row))["Remove from “Trip”"].trigger()
    assert chosen[0] not in shown_paths(window)
    qtbot.waitUntil(lambda: count(window, album_key(window, "Trip")) == 2, timeout=10_000)
    assert window.store.counts()["indexed"] == 40

    # Delete with the album chosen in the sidebar asks about the album, not the photos.
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    sidebar.places.setFocus()
    qtbot.keyClick(sidebar.places, Qt.Key.Key_Delete)
    box = window.collections.confirm_box
    assert box is not None and box.text() == "Delete the album “Trip”?"
    assert window.collections.trash.confirm is None
    box.reject()
    qtbot.waitUntil(lambda: window.collections.confirm_box is None, timeout=5_000)

    # Rename and delete from the album's own context menu.
    place = sidebar.place_item(album_key(window, "Trip")).data(PlaceRole)
    actions(sidebar.place_menu(place))["Rename Album…"].trigger()
    window.collections.name_dialog.setTextValue("Rome 2024")
    window.collections.name_dialog.accept()
    qtbot.waitUntil(lambda: sidebar.current().name == "Rome 2024", timeout=10_000)
    place = sidebar.place_item(sidebar.current().key).data(PlaceRole)
    actions(sidebar.place_menu(place))["Delete Album…"].trigger()
    box = window.collections.confirm_box
    assert "Delete the album “Rome 2024”?" in box.text()
    assert "photos stay in your library and in their folders" in box.informativeText()
    next(b for b in box.buttons() if b.text() == "Delete Album").click()
    qtbot.waitUntil(lambda: window.store.albums() == [], timeout=10_000)
    qtbot.waitUntil(lambda: sidebar.current().kind == "all", timeout=10_000)
    assert all(os.path.exists(p) for p in chosen)


# Offscreen has no keyboard to grab for a popup menu (Ctrl+Shift+A's): a test-platform warning.
@pytest.mark.qt_log_ignore(
    "This plugin does not support propagateSizeHints",
    "This plugin does not support raise",
    "This plugin does not support grabbing the keyboard",
)
def test_photos_dropped_on_an_album_go_in_it(launch, qtbot, small_shapes_dir):
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    window.store.create_album("Dropped")
    window.collections.refresh()
    key = album_key(window, "Dropped")
    qtbot.waitUntil(lambda: count(window, key) == 0, timeout=10_000)
    wait_results(qtbot, window)
    paths = shown_paths(window)[:2]
    places = window.sidebar.places
    target = places.visualItemRect(window.sidebar.place_item(key)).center()
    assert drop_urls(places.viewport(), paths, target)
    qtbot.waitUntil(lambda: count(window, key) == 2, timeout=10_000)
    # Ctrl+Shift+A: the albums to add the selection to, where the pointer is.
    select_rows(window, [5])
    qtbot.keyClick(window.grid, Qt.Key.Key_A, CTRL_SHIFT)
    menu = window.collections.album_menu
    assert menu.isVisible() and list(actions(menu)) == ["Dropped", "New Album…"]
    actions(menu)["Dropped"].trigger()
    qtbot.waitUntil(lambda: count(window, key) == 3, timeout=10_000)
    # The album's own Export… asks where to copy its three photos.
    place = window.sidebar.place_item(key).data(PlaceRole)
    actions(window.sidebar.place_menu(place))["Export Album…"].trigger()
    qtbot.waitUntil(lambda: window.collections.exporter.dialog is not None, timeout=10_000)
    texts = [label.text() for label in window.collections.exporter.dialog.findChildren(QLabel)]
    assert any(t.startswith("Copy the original files of 3 photos") for t in texts)
    window.collections.exporter.dialog.reject()
    # A folder dropped there isn't put in the album: it goes on to the window, which takes
    # dropped folders for the library (this one is in it already).
    drop_urls(places.viewport(), [str(small_shapes_dir)], target)
    qtbot.wait(300)
    assert window.store.album_named("Dropped").photo_count == 3


def corner(window, row: int) -> list[QColor]:
    """The bottom-left corner of a tile as the grid paints it, where a heart goes."""
    image = window.grid.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    rect = window.grid.visualRect(window.model.index(row, 0))
    side = window.thumbnails.side
    left = rect.x() + (rect.width() - side) // 2
    bottom = rect.y() + (rect.height() + side) // 2
    return [
        QColor(image.pixel(x, y))
        for x in range(left, left + side // 3)
        for y in range(bottom - side // 3, bottom)
    ]


def hearts(before: list[QColor], after: list[QColor]) -> int:
    """Pixels that turned the heart's red."""
    red = (235, 64, 92)

    def is_red(c: QColor) -> bool:
        return all(
            abs(v - r) < 30 for v, r in zip((c.red(), c.green(), c.blue()), red, strict=True)
        )

    return sum(is_red(a) and not is_red(b) for b, a in zip(before, after, strict=True))


def test_favourites_with_the_shortcut_show_a_heart_and_a_place(launch, qtbot, small_shapes_dir):
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    wait_results(qtbot, window)
    window.grid.clearSelection()
    plain = [corner(window, r) for r in (0, 2)]
    # The Photo menu opened with nothing selected greys its entries; once it closes, their
    # shortcuts work again on what is selected then.
    menu = window.collections.photo_menu
    menu.aboutToShow.emit()
    assert not actions(menu)["&Favourite"].isEnabled()
    menu.aboutToHide.emit()
    select_rows(window, [0, 1])
    picked = [window.model.path(r) for r in (0, 1)]
    qtbot.keyClick(window.grid, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: count(window, "favourites") == 2, timeout=10_000)
    assert window.store.favourite_photo_ids() and {
        window.store.photo(i)["path"] for i in window.store.favourite_ids()
    } == set(picked)
    window.grid.clearSelection()
    qtbot.waitUntil(lambda: hearts(plain[0], corner(window, 0)) > 20, timeout=5_000)
    assert hearts(plain[1], corner(window, 2)) == 0  # not a favourite: no heart

    assert window.sidebar.select_place("favourites")
    wait_results(qtbot, window)
    assert sorted(shown_paths(window)) == sorted(picked)
    # Unmarked while Favourites is shown: it leaves the grid.
    select_rows(window, [0])
    gone = window.model.path(0)
    qtbot.keyClick(window.grid, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert gone not in shown_paths(window)
    qtbot.waitUntil(lambda: count(window, "favourites") == 1, timeout=10_000)


def region(window, box) -> list[QColor]:
    image = window.grid.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    return [
        QColor(image.pixel(x, y))
        for x in range(int(box.left()), int(box.right()))
        for y in range(int(box.top()), int(box.bottom()))
    ]


def test_in_whole_photos_the_heart_sits_on_the_photo(launch, qtbot, small_shapes_dir):
    from PySide6.QtCore import QRectF

    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    wait_results(qtbot, window)
    window.grid_controls.whole.setChecked(True)
    store, model = window.store, window.model
    wide = next(
        r for r in range(model.rowCount())
        if (p := store.photo(model.ids[r]))["width"] > 1.4 * p["height"]
    )  # fmt: skip
    pid = model.ids[wide]
    window.grid.scrollTo(model.index(wide, 0))
    delegate, side = window.grid.itemDelegate(), window.thumbnails.side
    rect = window.grid.visualRect(model.index(wide, 0))
    tile = QRectF(rect.x() + (rect.width() - side) // 2, rect.y() + (rect.height() - side) // 2,
                  side, side)  # fmt: skip
    # the whole-photo thumbnail has arrived: the photo covers a band of the square
    qtbot.waitUntil(
        lambda: delegate._photo_rect(pid, 1.0, tile).height() < side * 0.8, timeout=10_000
    )
    photo = delegate._photo_rect(pid, 1.0, tile)
    on_photo = QRectF(photo.left(), photo.bottom() - side / 4, side / 4, side / 4)
    below = QRectF(tile.left(), tile.bottom() - side / 8, side / 4, side / 8 - 1)
    before = region(window, on_photo), region(window, below)
    window.collections.set_favourite([pid], True)
    qtbot.waitUntil(lambda: hearts(before[0], region(window, on_photo)) > 20, timeout=5_000)
    assert hearts(before[1], region(window, below)) == 0  # not in the empty corner


def test_export_copies_the_selection_by_date(launch, qtbot, small_shapes_dir, tmp_path):
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    wait_results(qtbot, window)
    select_rows(window, [0, 1, 2])
    picked = [window.model.path(r) for r in (0, 1, 2)]
    before = {p: Path(p).read_bytes() for p in picked}
    qtbot.keyClick(window.grid, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = window.collections.exporter.dialog
    assert dialog is not None and dialog.isVisible()
    texts = [label.text() for label in dialog.findChildren(QLabel)]
    assert any(t.startswith("Copy the original files of 3 photos") for t in texts)
    out = tmp_path / "exported"
    dialog.folder.setText(str(out))
    dialog._buttons["date"].setChecked(True)
    dialog.accept()
    qtbot.waitUntil(
        lambda: "Copied 3 photos to" in window.statusBar().currentMessage(), timeout=30_000
    )
    copies = sorted(p for p in out.rglob("*.jpg"))
    assert len(copies) == 3
    assert {c.read_bytes() for c in copies} == set(before.values())
    dates = {window.store.photo(window.store.photo_id_for_path(p))["taken_at"][:7] for p in picked}
    assert {c.parent.name for c in copies} == dates  # 2024/2024-06/…
    assert {p: Path(p).read_bytes() for p in picked} == before  # never moved


def test_move_to_trash_asks_then_undo_puts_everything_back(
    launch, qtbot, small_shapes_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    wait_results(qtbot, window)
    store = window.store
    picked = [window.model.path(r) for r in (0, 1)]
    ids = [store.photo_id_for_path(p) for p in picked]
    album = store.create_album("Kept")
    store.add_to_album(album, ids)
    store.set_favourite(ids[:1])
    window.collections.refresh()
    qtbot.waitUntil(lambda: count(window, f"album:{album}") == 2, timeout=10_000)

    select_rows(window, [0, 1])
    qtbot.keyClick(window.grid, Qt.Key.Key_Delete)
    box = window.collections.trash.confirm
    assert box is not None and box.text() == "Move 2 photos to the Trash?"
    assert "The 2 files go to the system Trash" in box.informativeText()
    next(b for b in box.buttons() if b.text() == "Move to Trash").click()
    qtbot.waitUntil(lambda: not any(os.path.exists(p) for p in picked), timeout=10_000)
    trash = tmp_path / "data" / "Trash" / "files"
    assert sorted(os.listdir(trash)) == sorted(os.path.basename(p) for p in picked)
    qtbot.waitUntil(lambda: not set(picked) & set(shown_paths(window)), timeout=10_000)
    bar = window.collections.trash.undo_bar
    assert bar.isVisible() and bar.label.text() == "Moved 2 photos to the Trash."
    # The library forgets them as the rescan finds them gone (the normal rule).
    qtbot.waitUntil(lambda: store.counts()["indexed"] == 38, timeout=60_000)

    qtbot.mouseClick(bar.undo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: all(os.path.exists(p) for p in picked), timeout=10_000)
    assert os.listdir(trash) == [] and os.listdir(trash.parent / "info") == []
    qtbot.waitUntil(lambda: store.counts()["indexed"] == 40, timeout=60_000)
    # … and they are back in their album, the favourite with its heart.
    qtbot.waitUntil(lambda: store.album(album).photo_count == 2, timeout=30_000)
    back = [store.photo_id_for_path(p) for p in picked]
    assert sorted(store.album_photo_ids(album)) == sorted(back)
    assert store.favourite_ids() == {back[0]}
    qtbot.waitUntil(lambda: count(window, "favourites") == 1, timeout=10_000)


def test_cancelling_the_trash_question_moves_nothing(launch, qtbot, small_shapes_dir):
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    wait_results(qtbot, window)
    select_rows(window, [0])
    path = window.model.path(0)
    actions(window.context_menu_for(0))["Move to Trash…"].trigger()
    box = window.collections.trash.confirm
    assert box.text() == f"Move “{os.path.basename(path)}” to the Trash?"
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.collections.trash.confirm is None, timeout=5_000)
    assert os.path.exists(path) and path in shown_paths(window)


def test_help_lists_the_collecting_shortcuts_the_actions_have(launch, qtbot):
    from PySide6.QtGui import QKeySequence

    from photoclip.ui.help import SHORTCUTS

    window = launch()
    listed = dict(dict(SHORTCUTS)["Collecting"])
    c = window.collections
    for action in (c.favourite_action, c.add_action, c.export_action, c.trash_action,
                   c.trash.undo_action):  # fmt: skip
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.PortableText)
        assert keys in ("Del", *listed), (action.text(), keys)
    assert "Delete" in listed


def test_move_to_trash_from_the_viewer_goes_on_to_the_next_photo(
    launch, qtbot, small_shapes_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    wait_results(qtbot, window)
    first, second = window.model.path(0), window.model.path(1)
    window.open_viewer(0)
    assert window.stack.currentWidget() is window.viewer
    qtbot.keyClick(window.viewer, Qt.Key.Key_Delete)
    box = window.collections.trash.confirm
    assert box is not None and box.text() == f"Move “{os.path.basename(first)}” to the Trash?"
    next(b for b in box.buttons() if b.text() == "Move to Trash").click()
    qtbot.waitUntil(lambda: first not in shown_paths(window), timeout=10_000)
    assert not os.path.exists(first)
    assert window.stack.currentWidget() is window.viewer
    assert window.model.path(window.viewer.row) == second
    assert window.viewer.title.text() == os.path.basename(second)

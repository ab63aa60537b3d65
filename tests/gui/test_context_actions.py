"""The grid's context menu: copy the path, find similar photos, and the rest are there."""

from __future__ import annotations

from guitest import launch_indexed, wait_results
from PySide6.QtWidgets import QApplication

from photoclip.ui.grid_model import PathRole
from tools.shapes import read_manifest


def menu_actions(menu) -> dict[str, object]:
    return {a.text(): a for a in menu.actions() if not a.isSeparator()}


def test_context_menu_copy_path_and_find_similar(launch, qtbot, small_shapes_dir):
    from PIL import Image

    # A near-duplicate (smaller, re-encoded) of one photo: its look-alike in the library.
    original = sorted(read_manifest(small_shapes_dir))[11]
    twin = small_shapes_dir / "inbox" / "twin-of-11.jpg"
    with Image.open(original) as im:
        im.resize((im.width * 3 // 4, im.height * 3 // 4)).save(twin, quality=75)

    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=41)
    window.search.refresh()
    wait_results(qtbot, window)
    row = window.model.row_of(window.store.photo_id_for_path(original))
    assert row is not None

    menu = window.context_menu_for(row)
    actions = menu_actions(menu)
    for label in ("View", "Open with Default App", "Show in Folder", "Copy Path", "Copy Image",
                  "Find Similar"):  # fmt: skip
        assert label in actions, actions.keys()

    actions["Copy Path"].trigger()
    assert QApplication.clipboard().text() == original
    assert window.statusBar().currentMessage() == "Path copied."

    actions["Find Similar"].trigger()
    qtbot.waitUntil(lambda: window.model.query.kind == "similar", timeout=30_000)
    wait_results(qtbot, window)
    ranked = [window.model.index(r).data(PathRole) for r in range(window.model.rowCount())]
    assert original not in ranked  # the photo itself is left out of its look-alikes
    assert ranked[0] == str(twin)
    assert window.model.total == 40

    # Several selected photos: Copy Path copies them all, one a line.
    window.search_bar.clear()
    qtbot.waitUntil(lambda: window.model.query.kind == "browse", timeout=10_000)
    wait_results(qtbot, window)
    selection = window.grid.selectionModel()
    for r in (0, 1, 2):
        selection.select(window.model.index(r), selection.SelectionFlag.Select)
    menu_actions(window.context_menu_for(1))["Copy 3 Paths"].trigger()
    assert QApplication.clipboard().text().splitlines() == [window.model.path(r) for r in (0, 1, 2)]

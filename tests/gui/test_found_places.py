"""Duplicates and Things in the app (#10): the sidebar's "Found for you" places open their
windows; copies are checked after indexing and resolved from the window (undoable)."""

from __future__ import annotations

from guitest import launch_indexed
from PIL import Image

from photoclip.ui.duplicates_view import GroupRole
from photoclip.ui.found_places import DUPLICATES, THINGS


def test_duplicates_window_resolves_a_group_and_things_window_lists_things(launch, qtbot, tmp_path):
    from skimage import data

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(data.chelsea()).save(photos / "chelsea.jpg", quality=95)
    Image.fromarray(data.chelsea()).save(photos / "chelsea again.jpg", quality=55)
    Image.fromarray(data.coins()).save(photos / "coins.jpg")
    window = launch_indexed(launch, qtbot, [str(photos)], at_least=3)
    qtbot.waitUntil(lambda: window.found.embedder is not None, timeout=30_000)
    # checked after indexing, in the index worker: the place counts the pair
    qtbot.waitUntil(lambda: window.sidebar.place_item("duplicates") is not None, timeout=30_000)

    view = window.found.open(DUPLICATES)
    assert view is not None
    qtbot.waitUntil(lambda: view.tree.topLevelItemCount() == 1, timeout=30_000)
    header = view.tree.topLevelItem(0)
    assert header.text(0) == "The same photo"
    group_item = header.child(0)
    assert group_item.childCount() == 2 and group_item.child(0).text(0).endswith("— keep")
    view.tree.setCurrentItem(group_item)
    group = group_item.data(0, GroupRole)
    view.hide_rest.click()
    qtbot.waitUntil(lambda: window.store.hidden_photo_ids() == group.rest, timeout=10_000)
    qtbot.waitUntil(lambda: view.summary.text() == "No copies found.", timeout=30_000)
    view.undo_button.click()
    qtbot.waitUntil(lambda: window.store.hidden_photo_ids() == [], timeout=10_000)
    qtbot.waitUntil(lambda: view.tree.topLevelItemCount() == 1, timeout=30_000)

    # Move the rest to the Trash: the app's own Move to Trash asks, moves, and Undo puts back.
    copy = photos / "chelsea again.jpg"
    view.tree.setCurrentItem(view.tree.topLevelItem(0).child(0))
    assert view.trash_rest.isVisible() and view.trash_rest.isEnabled()
    view.trash_rest.click()
    trash = window.collections.trash
    qtbot.waitUntil(lambda: trash.confirm is not None, timeout=10_000)
    assert trash.confirm.text() == "Move “chelsea again.jpg” to the Trash?"
    [move] = [b for b in trash.confirm.buttons() if b.text() == "Move to Trash"]
    move.click()
    qtbot.waitUntil(lambda: not copy.exists(), timeout=30_000)
    assert (photos / "chelsea.jpg").exists()
    # The file leaves in the worker before the move is done on the GUI thread: Undo is
    # offered (and works) once it is.
    qtbot.waitUntil(trash.undo_action.isEnabled, timeout=10_000)
    trash.undo()
    qtbot.waitUntil(copy.exists, timeout=30_000)
    view.close()

    things = window.found.open(THINGS)
    assert things is not None
    qtbot.waitUntil(lambda: things.labels is not None, timeout=60_000)
    assert things.summary.text()
    things.close()

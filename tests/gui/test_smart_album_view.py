"""Smart albums in the app (#10 part 2): a search saved from the Edit menu appears in the
sidebar with the core's count; its window lists the core's members, learns from 👍 / 👎 as the
core says, and freezes into a plain album with those photos."""

from __future__ import annotations

from pathlib import Path

from guitest import launch_indexed

from photoclip.search import Searcher
from photoclip.smart_albums import SmartAlbum
from photoclip.ui.sidebar import CountRole
from photoclip.ui.smart_album_view import PhotoRole, shared_searcher

PHOTOS = 80


def test_save_a_search_as_a_smart_album_teach_it_and_freeze_it(launch, qtbot, tmp_path):
    from tools.shapes import read_manifest, write_library

    photos = tmp_path / "photos"
    write_library(photos, PHOTOS, seed=20261129, min_side=200, max_side=400)
    manifest = {str(Path(k).resolve()): v for k, v in read_manifest(photos).items()}
    window = launch_indexed(launch, qtbot, [str(photos)], at_least=PHOTOS)
    smart = window.smart_albums
    qtbot.waitUntil(lambda: smart.embedder is not None, timeout=30_000)
    store = window.store

    # Edit ▸ Save Search as Smart Album… with "a red shape" in the search bar
    window.search_bar.edit.setText("a red shape")
    assert smart.save_action in window.menuBar().actions()[1].menu().actions()
    smart.save_action.trigger()
    dialog = smart.name_dialog
    assert dialog is not None and dialog.textValue() == "a red shape"
    dialog.setTextValue("Red circles")
    dialog.accept()
    qtbot.waitUntil(lambda: len(store.albums(kind="smart")) == 1, timeout=30_000)
    [saved] = store.albums(kind="smart")
    assert saved.name == "Red circles"
    key = f"smart:{saved.id}"
    core = SmartAlbum(Searcher(store, smart.embedder), saved.id)

    def sidebar_count() -> int | None:
        item = window.sidebar.place_item(key)
        return None if item is None else item.data(CountRole)

    plain = core.members()
    assert not plain.learned and plain.photo_ids
    qtbot.waitUntil(lambda: sidebar_count() == len(plain.photo_ids), timeout=30_000)
    # The counts and the album windows share one searcher: its vectors are loaded once, not
    # again by every refresh of the sidebar.
    shared = shared_searcher(store)
    assert shared is not None and len(shared.index) == PHOTOS
    window.collections.refresh()
    qtbot.wait(200)
    qtbot.waitUntil(lambda: sidebar_count() == len(plain.photo_ids), timeout=30_000)
    assert shared_searcher(store) is shared

    # choosing it in the sidebar opens its window with the core's members, best first
    assert window.sidebar.select_place(key)
    qtbot.waitUntil(lambda: saved.id in smart.views, timeout=10_000)
    view = smart.views[saved.id]
    qtbot.waitUntil(lambda: view.membership is not None, timeout=30_000)
    assert view.membership.photo_ids == plain.photo_ids
    shown = [view.photos.item(i).data(PhotoRole) for i in range(view.photos.count())]
    assert shown == plain.photo_ids
    assert view.summary.text().startswith(f"{len(plain.photo_ids)} photo")

    # 👍 on red circles, 👎 on the other red shapes the search found
    paths = {f.id: str(Path(f.path).resolve()) for f in store.photo_files()}

    def is_red_circle(pid: int) -> bool:
        m = manifest[paths[pid]]
        return m["colour"] == "red" and m["shape"] == "circle"

    good = [p for p in plain.photo_ids if is_red_circle(p)][:3]
    bad = [p for p in plain.photo_ids if not is_red_circle(p)][:3]
    assert good and bad, (len(good), len(bad))

    def select(ids: list[int]) -> None:
        view.photos.clearSelection()
        for i in range(view.photos.count()):
            item = view.photos.item(i)
            item.setSelected(item.data(PhotoRole) in ids)

    select(good)
    view.belongs.click()
    qtbot.waitUntil(lambda: store.examples(saved.id) == dict.fromkeys(good, 1), timeout=30_000)
    select(bad)
    view.not_belongs.click()
    qtbot.waitUntil(lambda: len(store.examples(saved.id)) == len(good) + len(bad), timeout=30_000)
    qtbot.waitUntil(lambda: view.membership is not None and view.membership.learned, timeout=60_000)
    learned = core.members()
    assert learned.learned
    assert view.membership.photo_ids == learned.photo_ids
    assert set(good) <= set(learned.photo_ids) and not set(bad) & set(learned.photo_ids)
    marks = {view.photos.item(i).data(PhotoRole): view.photos.item(i).text()
             for i in range(view.photos.count())}  # fmt: skip
    assert all(marks[p].startswith("👍") for p in good)
    qtbot.waitUntil(lambda: sidebar_count() == len(learned.photo_ids), timeout=60_000)

    # Freeze into Album…: a plain album with those photos, in the sidebar
    view.freeze_button.click()
    freeze = view.name_dialog
    assert freeze is not None and freeze.textValue() == "Red circles (frozen)"
    freeze.accept()
    qtbot.waitUntil(lambda: store.album_named("Red circles (frozen)") is not None, timeout=30_000)
    frozen = store.album_named("Red circles (frozen)")
    assert frozen.kind == "album"
    assert sorted(store.album_photo_ids(frozen.id)) == sorted(learned.photo_ids)
    qtbot.waitUntil(lambda: window.sidebar.place_item(f"album:{frozen.id}") is not None,
                    timeout=30_000)  # fmt: skip
    view.close()

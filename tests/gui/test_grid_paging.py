"""The grid's paging contract: keyset pages, concatenated, are exactly the library newest
first (Store.list_photo_ids), photos indexed between two pages neither repeat nor shift the
next page, and the grid model puts a newly indexed photo where that order says."""

from __future__ import annotations

import time

from photoclip.ui.grid_model import PhotoGridModel
from photoclip.ui.search_worker import Page, Query, Row


def add_photos(store, folder_id: int, items: list[tuple[str, str | None]]) -> None:
    with store.transaction() as conn:
        for path, taken in items:
            store.upsert_photo(conn, {
                "folder_id": folder_id, "path": path, "size": 1, "mtime_ns": 1,
                "status": "indexed", "taken_at": taken, "indexed_at": time.time(),
            })  # fmt: skip


def pages(store, limit: int, **filters) -> list[int]:
    out: list[int] = []
    after = None
    while True:
        page = store.photo_page(after=after, limit=limit, **filters)
        out += [r["id"] for r in page]
        if len(page) < limit:
            return out
        after = (page[-1]["taken_at"], page[-1]["path"])


def test_keyset_pages_match_the_newest_first_order(library, tmp_path):
    folder = library.add_folder(str(tmp_path))
    items = [(f"/p/{i:03d}.jpg", f"2024-01-{1 + i % 28:02d}T12:00:00") for i in range(95)]
    items += [(f"/p/undated-{i}.jpg", None) for i in range(4)]  # sort last
    add_photos(library, folder, items)
    expected = library.list_photo_ids()
    for limit in (1, 7, 10, 200):
        assert pages(library, limit) == expected
    assert library.count_photos() == 99
    assert library.count_photos(date_from="2024-01-27") == len(
        [1 for _, t in items if t and t >= "2024-01-27"]
    )
    assert pages(library, 9, date_to="2024-01-03") == library.list_photo_ids(date_to="2024-01-03")

    # A photo indexed between two pages: no repeat, no shift.
    first = library.photo_page(limit=10)
    add_photos(library, folder, [("/p/new.jpg", "2030-01-01T00:00:00")])
    second = library.photo_page(after=(first[-1]["taken_at"], first[-1]["path"]), limit=10)
    assert {r["id"] for r in first}.isdisjoint(r["id"] for r in second)
    assert [r["id"] for r in first + second] == expected[:20]


def test_model_inserts_new_photos_in_order_and_pages_on(qtbot):
    model = PhotoGridModel()
    rows = [Row(i, f"/p/{i}.jpg", f"2024-01-{30 - i:02d}T00:00:00", None, False) for i in range(5)]
    model.show_page(Page(1, Query(), 0, rows, total=8, strong_count=0))
    assert model.canFetchMore()
    with qtbot.waitSignal(model.moreRequested) as more:
        model.fetchMore()
    assert more.args == [5, ("2024-01-26T00:00:00", "/p/4.jpg")]
    assert not model.canFetchMore()  # one request at a time
    # Indexed meanwhile: one belongs between loaded rows, one after them (a later page).
    model.insert_new_photos([
        Row(100, "/p/100.jpg", "2024-01-28T12:00:00", None, False),
        Row(101, "/p/101.jpg", "2020-01-01T00:00:00", None, False),
    ])  # fmt: skip
    assert model.ids == [0, 1, 100, 2, 3, 4]
    assert model.total == 10
    later = [Row(i, f"/p/{i}.jpg", f"2024-01-{30 - i:02d}T00:00:00", None, False) for i in (5, 6)]
    model.append_page(Page(1, Query(), 5, later, total=-1, strong_count=0))
    assert model.ids[-2:] == [5, 6] and model.total == 10
    assert model.row_of(6) == 7
    stale = Page(0, Query(), 7, [Row(9, "/p/9.jpg", "", None, False)], 10, 0)
    model.append_page(stale)  # an older generation's page: ignored
    assert 9 not in model.ids

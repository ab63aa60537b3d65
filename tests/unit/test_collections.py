"""Albums, a smart album's examples and favourites on a real library file: they follow a photo
through a move or rename, outlive a reopen, and never touch the photos on disk."""

from __future__ import annotations

import os
import shutil

import pytest

from photoclip.errors import AlbumError
from photoclip.indexer import Indexer
from photoclip.store import SCHEMA_VERSION, Store
from tests.unit.test_store import add_photos, made


@pytest.fixture
def photos(library, tmp_path) -> list[int]:
    folder = library.add_folder(made(tmp_path / "photos"))
    paths = [tmp_path / "photos" / f"{name}.jpg" for name in "abcd"]
    taken = ["2024-01-01T10:00:00", "2024-03-01T10:00:00", "2023-05-01T10:00:00", None]
    ids = []
    for path, when in zip(paths, taken, strict=True):
        ids += add_photos(library, folder, [path], taken_at=when)
    return ids


def test_an_album_holds_photos_by_date_and_counts_them(library, photos):
    a, b, c, _ = photos
    album = library.create_album("  Trip   to Rome ")
    assert library.album(album).name == "Trip to Rome"  # spaces tidied
    assert library.add_to_album(album, [a, b, c]) == 3
    assert library.add_to_album(album, [a, 999_999]) == 0  # already in; unknown id ignored
    assert library.album_photo_ids(album) == [b, a, c]  # newest first
    assert library.album_photo_ids(album, newest_first=False) == [c, a, b]
    assert library.album(album).photo_count == 3
    assert [al.name for al in library.albums_of_photo(a)] == ["Trip to Rome"]

    assert library.remove_from_album(album, [a, photos[3]]) == 1
    assert library.album_photo_ids(album) == [b, c]
    assert library.count_photos() == 4  # out of the album, not out of the library


def test_album_names_are_unique_ignoring_case_and_can_be_renamed(library):
    first = library.create_album("Holidays")
    with pytest.raises(AlbumError, match="already an album called “holidays”"):
        library.create_album("holidays")
    with pytest.raises(AlbumError, match="needs a name"):
        library.create_album("   ")
    second = library.create_album("Family")
    with pytest.raises(AlbumError, match="already"):
        library.rename_album(second, "HOLIDAYS")
    library.rename_album(second, "Family 2024")
    assert [a.name for a in library.albums()] == ["Family 2024", "Holidays"]
    library.delete_album(first)
    assert [a.name for a in library.albums()] == ["Family 2024"]
    with pytest.raises(AlbumError, match="no longer exists"):
        library.add_to_album(first, [1])


def test_deleting_an_album_keeps_its_photos(library, photos):
    album = library.create_album("Keep")
    library.add_to_album(album, photos)
    library.delete_album(album)
    assert library.count_photos() == 4
    assert library.conn.execute("SELECT COUNT(*) FROM album_photos").fetchone()[0] == 0


def test_smart_albums_keep_their_query_and_examples(library, photos):
    smart = library.create_album("Sunsets", kind="smart", query='{"text": "a sunset"}')
    library.create_album("Plain")
    assert [a.name for a in library.albums(kind="smart")] == ["Sunsets"]
    library.set_example(smart, photos[0], 1)
    library.set_example(smart, photos[1], -1)
    library.set_example(smart, photos[1], 1)  # changed its mind
    library.set_example(smart, photos[2], -1)
    library.set_example(smart, photos[2], None)  # unmarked
    assert library.examples(smart) == {photos[0]: 1, photos[1]: 1}
    with pytest.raises(ValueError):
        library.set_example(smart, photos[0], 0)
    library.set_album_query(smart, '{"text": "a sunset at sea"}')
    assert library.album(smart).query == '{"text": "a sunset at sea"}'


def test_favourites(library, photos):
    a, b, c, d = photos
    assert library.set_favourite([a, c]) == 2
    assert library.set_favourite([a]) == 0  # already
    assert library.favourite_ids() == {a, c}
    assert library.favourite_photo_ids() == [a, c]
    assert library.is_favourite(a) and not library.is_favourite(b)
    assert library.set_favourite([a, d], False) == 1
    assert library.favourite_ids() == {c}


def test_collections_outlive_reopening_the_library(tmp_path):
    db = tmp_path / "lib" / "library.db"
    store = Store(db)
    folder = store.add_folder(made(tmp_path / "photos"))
    (pid,) = add_photos(store, folder, [tmp_path / "photos" / "x.jpg"])
    album = store.create_album("Kept")
    store.add_to_album(album, [pid])
    store.set_favourite([pid])
    store.close()

    again = Store(db)
    try:
        assert again.schema_version == SCHEMA_VERSION
        assert again.album_photo_ids(album) == [pid]
        assert again.favourite_ids() == {pid}
    finally:
        again.close()


def test_albums_and_favourites_follow_a_photo_moved_or_renamed_on_disk(
    tmp_path, small_shapes_dir, tiny_embedder
):
    store = Store(tmp_path / "lib" / "library.db")
    try:
        Indexer(store, tiny_embedder, batch_size=8).run([str(small_shapes_dir)], add=True)
        files = sorted(small_shapes_dir.rglob("*.jpg"))
        first, second = (store.photo_id_for_path(str(f)) for f in files[:2])
        album = store.create_album("Moved about")
        store.add_to_album(album, [first, second])
        store.set_favourite([first])

        renamed = files[0].with_name("renamed.jpg")
        os.rename(files[0], renamed)
        (small_shapes_dir / "elsewhere").mkdir()
        moved = small_shapes_dir / "elsewhere" / files[1].name
        shutil.move(files[1], moved)
        report = Indexer(store, tiny_embedder, batch_size=8).run()
        assert report.moved == 2

        now = {store.photo(i)["path"] for i in store.album_photo_ids(album)}
        assert now == {str(renamed), str(moved)}
        assert store.favourite_ids() == {store.photo_id_for_path(str(renamed))}

        os.remove(renamed)  # really gone from disk: forgotten, and out of the album
        Indexer(store, tiny_embedder, batch_size=8).run()
        assert [store.photo(i)["path"] for i in store.album_photo_ids(album)] == [str(moved)]
        assert store.favourite_ids() == set()
    finally:
        store.close()


def test_an_album_or_favourites_scopes_browsing_like_a_folder(library, photos):
    """The grid's paging, its count and the searcher's allowed set all take the scope."""
    a, b, c, d = photos
    album = library.create_album("Scope")
    library.add_to_album(album, [a, c, d])
    library.set_favourite([b, c])
    assert library.list_photo_ids(album_id=album) == [a, c, d]  # newest first, undated last
    assert library.count_photos(album_id=album) == 3
    assert [r["id"] for r in library.photo_page(album_id=album, limit=2)] == [a, c]
    assert library.list_photo_ids(favourites=True) == [b, c]
    assert library.count_photos(album_id=album, favourites=True) == 1
    assert library.list_photo_ids(album_id=album, date_from="2024-01-01") == [a]
    allowed = library.filtered_photo_ids(None, None, None, None, album_id=album)
    assert sorted(allowed.tolist()) == sorted([a, c, d])
    empty = library.create_album("Empty")
    assert library.list_photo_ids(album_id=empty) == []
    assert library.count_photos() == 4  # no scope: the whole library

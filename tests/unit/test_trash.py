"""Undo after Move to Trash, on real files and a real library: the file goes back where it
was (never over another), the Trash forgets it, and the photo gets its albums and heart back,
whether or not a rescan forgot it meanwhile."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from photoclip.indexer import Indexer
from photoclip.store import Store
from photoclip.trash import TrashedPhoto, TrashError, give_back, keepsakes, restore_file


def to_trash(path: Path, trash: Path) -> Path:
    """What the freedesktop Trash does (QFile.moveToTrash): files/NAME and info/NAME.trashinfo."""
    (trash / "files").mkdir(parents=True, exist_ok=True)
    (trash / "info").mkdir(exist_ok=True)
    target = trash / "files" / path.name
    os.rename(path, target)
    (trash / "info" / f"{path.name}.trashinfo").write_text(f"[Trash Info]\nPath={path}\n")
    return target


def test_restore_puts_the_file_back_and_empties_its_trash_entry(tmp_path):
    photo = tmp_path / "photos" / "a.jpg"
    photo.parent.mkdir()
    photo.write_bytes(b"jpeg bytes")
    trash = tmp_path / "Trash"
    item = TrashedPhoto(1, str(photo), str(to_trash(photo, trash)))
    restore_file(item)
    assert photo.read_bytes() == b"jpeg bytes"
    assert os.listdir(trash / "files") == [] and os.listdir(trash / "info") == []
    with pytest.raises(TrashError, match="no longer in the Trash"):
        restore_file(item)


def test_restore_never_overwrites_a_new_file_of_the_same_name(tmp_path):
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"old")
    item = TrashedPhoto(1, str(photo), str(to_trash(photo, tmp_path / "Trash")))
    photo.write_bytes(b"new")
    with pytest.raises(TrashError, match=r"a file of that name is there now\. It is still in"):
        restore_file(item)
    assert photo.read_bytes() == b"new"
    assert Path(item.in_trash).read_bytes() == b"old"


@pytest.mark.parametrize("rescan_between", [False, True])
def test_undo_gives_albums_and_heart_back(
    tmp_path, small_shapes_dir, tiny_embedder, rescan_between
):
    """Measured both ways: with no rescan between, the row and its memberships simply stay;
    with one, the photo is forgotten, indexed again under a new id, and give_back re-files it."""
    store = Store(tmp_path / "lib" / "library.db")
    try:
        Indexer(store, tiny_embedder, batch_size=16).run([str(small_shapes_dir)], add=True)
        files = sorted(small_shapes_dir.rglob("*.jpg"))[:2]
        ids = [store.photo_id_for_path(str(f)) for f in files]
        trip = store.create_album("Trip")
        store.add_to_album(trip, ids)
        store.set_favourite(ids[:1])
        kept = keepsakes(store, ids)
        assert [(k.album_ids, k.favourite) for k in kept] == [((trip,), True), ((trip,), False)]
        trashed = [
            TrashedPhoto(k.photo_id, k.path, str(to_trash(Path(k.path), tmp_path / "Trash")),
                         k.album_ids, k.favourite)
            for k in kept
        ]  # fmt: skip
        if rescan_between:
            report = Indexer(store, tiny_embedder, batch_size=16).run()
            assert report.removed == 2 and store.album(trip).photo_count == 0
            assert store.favourite_ids() == set()
        for item in trashed:
            restore_file(item)
        waiting = give_back(store, trashed)
        if rescan_between:
            assert waiting == trashed  # not in the library until a scan finds them
            Indexer(store, tiny_embedder, batch_size=16).run()
            assert give_back(store, waiting) == []
        else:
            assert waiting == []
            assert Indexer(store, tiny_embedder, batch_size=16).run().indexed == 0  # unchanged
        now = [store.photo_id_for_path(str(f)) for f in files]
        assert (now == ids) is not rescan_between
        assert sorted(store.album_photo_ids(trip)) == sorted(now)
        assert store.favourite_ids() == {now[0]}
    finally:
        store.close()

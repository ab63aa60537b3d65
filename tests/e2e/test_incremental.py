"""Incremental indexing on a real folder: unchanged files are skipped, changed ones are
re-embedded, moved/renamed ones re-linked without re-embedding, deleted ones forgotten, and an
unplugged folder is kept."""

from __future__ import annotations

import os
import shutil
import threading

from PIL import Image

from photoclip.indexer import Indexer
from photoclip.search import Filters, Searcher
from photoclip.store import Store


def _vector_ids(store):
    return dict(store.conn.execute("SELECT photo_id, id FROM vectors").fetchall())


def test_incremental_rescan(tmp_path, small_shapes_dir, tiny_embedder):
    store = Store(tmp_path / "lib" / "library.db")
    indexer = Indexer(store, tiny_embedder, batch_size=8)
    first = indexer.run([str(small_shapes_dir)], add=True)
    assert (first.new, first.indexed, first.failed) == (40, 40, 0)
    ids_before = _vector_ids(store)

    again = indexer.run()
    assert (again.unchanged, again.indexed, again.new, again.removed) == (40, 0, 0, 0)

    files = sorted(small_shapes_dir.rglob("*.jpg"))
    renamed = files[0].with_name("renamed.jpg")
    os.rename(files[0], renamed)
    (small_shapes_dir / "album").mkdir()
    moved = small_shapes_dir / "album" / files[1].name
    shutil.move(files[1], moved)
    Image.new("RGB", (400, 300), (0, 200, 0)).save(files[2], "JPEG")  # edited in place
    os.remove(files[3])
    shutil.copy(files[4], small_shapes_dir / "copy-of-4.jpg")  # a duplicate, original stays

    report = indexer.run()
    assert report.moved == 2
    assert report.changed == 1
    assert report.removed == 1
    assert report.new == 1
    assert report.indexed == 2  # the edited photo and the copy; moves cost nothing
    assert store.counts()["indexed"] == 40
    ids_after = _vector_ids(store)
    pid_renamed = store.photo_id_for_path(str(renamed))
    pid_moved = store.photo_id_for_path(str(moved))
    assert ids_after[pid_renamed] == ids_before[pid_renamed]  # same vector row: not re-embedded
    assert ids_after[pid_moved] == ids_before[pid_moved]
    pid_edited = store.photo_id_for_path(str(files[2]))
    assert ids_after[pid_edited] != ids_before[pid_edited]
    assert store.photo_id_for_path(str(files[3])) is None

    # The search index follows all of it incrementally.
    searcher = Searcher(store, tiny_embedder)
    hits = searcher.search("a green square", limit=40).hits
    assert {h.path for h in hits} == {r[0] for r in store.conn.execute("SELECT path FROM photos")}
    store.close()


def test_unplugged_folder_keeps_its_photos(tmp_path, small_shapes_dir, tiny_embedder):
    store = Store(tmp_path / "lib" / "library.db")
    indexer = Indexer(store, tiny_embedder)
    indexer.run([str(small_shapes_dir)], add=True)
    away = tmp_path / "elsewhere"
    os.rename(small_shapes_dir, away)
    report = indexer.run()
    assert report.missing_folders == [str(small_shapes_dir)]
    assert report.removed == 0
    assert store.counts()["indexed"] == 40
    assert any("can't be found" in p.reason for p in store.problems())
    os.rename(away, small_shapes_dir)
    report = indexer.run()
    assert (report.unchanged, report.removed) == (40, 0)
    assert not store.problems()
    store.close()


def test_stop_event_cancels_between_batches_and_resume_completes(
    tmp_path, small_shapes_dir, tiny_embedder
):
    store = Store(tmp_path / "lib" / "library.db")
    stop = threading.Event()
    batches = []

    def on_batch(ids):
        batches.append(ids)
        stop.set()  # ask to stop after the first committed batch

    report = Indexer(store, tiny_embedder, batch_size=8).run(
        [str(small_shapes_dir)], add=True, on_batch=on_batch, stop=stop
    )
    assert report.cancelled
    assert report.indexed == len(batches[0]) == 8
    assert store.counts()["indexed"] == 8
    report = Indexer(store, tiny_embedder).run()
    assert (report.indexed, report.unchanged) == (32, 8)
    store.close()


def test_date_filter_uses_exif_or_file_time(tmp_path, small_shapes_dir, tiny_embedder):
    files = sorted(small_shapes_dir.rglob("*.jpg"))
    old = 946_684_800  # 2000-01-01
    for f in files[:10]:
        os.utime(f, (old, old))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2012:07:14 09:30:00"
    with Image.open(files[10]) as im:
        im.save(files[10], "JPEG", exif=exif.tobytes())
    store = Store(tmp_path / "lib" / "library.db")
    Indexer(store, tiny_embedder).run([str(small_shapes_dir)], add=True)
    searcher = Searcher(store, tiny_embedder)
    in_2000 = searcher.search(
        "a circle", filters=Filters(date_from="2000-01-01", date_to="2000-12-31")
    )
    assert in_2000.total == 10
    in_2012 = searcher.search(
        "a circle", filters=Filters(date_from="2012-07-14", date_to="2012-07-14")
    )
    assert [h.path for h in in_2012.hits] == [str(files[10])]
    assert in_2012.hits[0].taken_at == "2012-07-14T09:30:00"
    newest_first = store.list_photo_ids()
    assert store.photo(newest_first[-1])["taken_at"].startswith("2000-01-01")
    store.close()

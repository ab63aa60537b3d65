"""The index survives what disks do (issue #7): an emptied or moved-away library folder, a
folder that can't be listed, a link to a drive that is gone, read errors, a parent folder
added mid-run, one file that breaks the code, two spellings of one place. Each test runs the
real indexer with the tiny trained model on real files in a real SQLite library."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

import photoclip.indexer as indexer_module
from photoclip.imaging import file_time
from photoclip.indexer import Indexer
from photoclip.scanner import PHOTO_EXTENSIONS
from photoclip.store import Store

from .helpers import photoclip


def snapshot(store: Store) -> dict[str, tuple]:
    """path -> (photo id, status, vector bytes, thumbnail bytes) of every photo row."""
    rows = store.conn.execute(
        """SELECT p.path, p.id, p.status, v.vector, t.jpeg FROM photos p
           LEFT JOIN vectors v ON v.photo_id = p.id
           LEFT JOIN thumbnails t ON t.photo_id = p.id"""
    ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


@pytest.fixture
def indexed(tmp_path, small_shapes_dir, tiny_embedder):
    """A library holding the 40 shape photos of ``small_shapes_dir``, fully indexed."""
    store = Store(tmp_path / "lib" / "library.db")
    indexer = Indexer(store, tiny_embedder, batch_size=8)
    assert indexer.run([str(small_shapes_dir)], add=True).indexed == 40
    yield store, indexer, small_shapes_dir
    store.close()


def test_an_emptied_library_folder_is_missing_not_deleted(indexed):
    """What an unplugged drive leaves behind: its mount point, an empty folder."""
    store, indexer, photos = indexed
    before = snapshot(store)
    hidden = photos.parent / "unplugged"
    photos.rename(hidden)
    photos.mkdir()

    report = indexer.run()
    assert report.removed == 0
    assert report.missing_folders == [str(photos)]
    assert report.kept == 40
    assert snapshot(store) == before
    reasons = {p.path: p.reason for p in store.problems()}
    assert "unplugged" in reasons[str(photos)]

    photos.rmdir()
    hidden.rename(photos)  # plugged back in
    back = indexer.run()
    assert (back.unchanged, back.indexed, back.removed, back.missing_folders) == (40, 0, 0, [])
    assert snapshot(store) == before
    assert str(photos) not in {p.path for p in store.problems()}


def test_a_folder_that_vanished_keeps_its_photos(indexed):
    store, indexer, photos = indexed
    before = snapshot(store)
    shutil.rmtree(photos)
    report = indexer.run()
    assert (report.removed, report.missing_folders) == (0, [str(photos)])
    assert snapshot(store) == before


def test_photos_deleted_for_real_are_forgotten(indexed):
    """The other side of the rule: when the disk says a photo is gone, it goes."""
    store, indexer, photos = indexed
    victims = sorted(photos.rglob("*.jpg"))[:5]
    for path in victims:
        path.unlink()
    report = indexer.run()
    assert report.removed == 5
    assert all(store.photo_id_for_path(str(p)) is None for p in victims)
    assert store.counts()["indexed"] == store.counts()["vectors"] == 35


def test_a_subfolder_that_fails_to_list_keeps_its_photos(indexed, monkeypatch):
    """An I/O error while listing one folder (injected at os.scandir, the call the scanner
    makes) must not read as "every photo in it was deleted"."""
    store, indexer, photos = indexed
    sub = photos / "sub"
    sub.mkdir()
    moved_in = sorted(photos.rglob("*.jpg"))[:6]
    for path in moved_in:
        path.rename(sub / path.name)
    indexer.run()  # the six photos are re-linked under sub/, vectors kept
    before = snapshot(store)
    assert all(str(sub / p.name) in before for p in moved_in)

    real_scandir = os.scandir

    def failing_scandir(path):
        if os.fspath(path) == str(sub):
            raise OSError(5, "Input/output error", str(sub))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", failing_scandir)
    report = indexer.run()
    assert report.removed == 0 and report.kept == 6
    assert snapshot(store) == before
    reasons = {p.path: p.reason for p in store.problems()}
    assert "Input/output error" in reasons[str(sub)]


def test_a_link_to_a_drive_that_is_gone_keeps_what_was_found_through_it(
    tmp_path, indexed, tiny_embedder
):
    store, indexer, photos = indexed
    drive = tmp_path / "drive"
    drive.mkdir()
    for path in sorted(photos.rglob("*.jpg"))[:4]:
        shutil.copy(path, drive / f"drive-{path.name}")
    (photos / "external").symlink_to(drive, target_is_directory=True)
    assert indexer.run().indexed == 4
    before = snapshot(store)

    drive.rename(tmp_path / "drive-unplugged")  # the link now leads nowhere
    report = indexer.run()
    assert (report.removed, report.kept) == (0, 4)
    assert snapshot(store) == before
    reasons = {p.path: p.reason for p in store.problems()}
    assert "can't be found" in reasons[str(photos / "external")]


def test_a_read_error_changes_nothing_and_the_file_is_tried_again(indexed):
    """A real OS error on the read path: between the scan and the decode, the photo's path
    holds a folder (EISDIR). Its old row, vector and thumbnail stay; the next scan retries."""
    store, indexer, photos = indexed
    target = sorted(photos.rglob("*.jpg"))[0]
    os.utime(target, ns=(1, 1_000_000_000))  # changed on disk: the plan re-embeds it
    before = snapshot(store)
    parked = target.with_suffix(".parked")

    def swap_in_a_folder(progress):
        if progress.phase == "indexing" and not parked.exists():
            target.rename(parked)
            target.mkdir()

    report = indexer.run(on_progress=swap_in_a_folder)
    assert (report.indexed, report.failed, report.deferred, report.removed) == (0, 0, 1, 0)
    assert snapshot(store) == before  # status, vector and thumbnail untouched
    reasons = {p.path: p.reason for p in store.problems()}
    assert "try it again" in reasons[str(target)]

    target.rmdir()
    parked.rename(target)
    again = indexer.run()
    assert (again.changed, again.indexed, again.deferred) == (1, 1, 0)
    assert str(target) not in {p.path for p in store.problems()}
    assert store.photo(store.photo_id_for_path(str(target)))["status"] == "indexed"


def test_a_file_that_breaks_the_code_is_skipped_and_the_run_goes_on(indexed, monkeypatch):
    store, indexer, photos = indexed
    new = photos / "new"
    new.mkdir()
    for i, path in enumerate(sorted(photos.rglob("*.jpg"))[:3]):
        shutil.copy(path, new / f"n{i}.jpg")
        (new / f"n{i}.jpg").write_bytes((new / f"n{i}.jpg").read_bytes() + bytes([i]))
    cursed = str(new / "n1.jpg")
    real_decode = indexer_module.decode_photo

    def decode(path, *args, **kwargs):
        if path == cursed:
            raise ZeroDivisionError("a bug")
        return real_decode(path, *args, **kwargs)

    monkeypatch.setattr(indexer_module, "decode_photo", decode)
    report = indexer.run()
    assert (report.indexed, report.deferred) == (2, 1)
    reason = {p.path: p.reason for p in store.problems()}[cursed]
    assert "unexpected error" in reason and "ZeroDivisionError" in reason
    assert store.photo_id_for_path(cursed) is None  # nothing half-written

    monkeypatch.setattr(indexer_module, "decode_photo", real_decode)
    assert indexer.run().indexed == 1  # the next run tries it again


def test_file_times_no_calendar_can_show_give_no_date_rather_than_an_error():
    assert file_time(10**30) == (None, None)
    stamp, offset = file_time(1_700_000_000 * 10**9)
    assert stamp is not None and stamp.startswith("2023-11-1")
    assert offset is not None and offset[0] in "+-" and offset[3] == ":"


def test_adding_a_parent_folder_mid_run_does_not_abort_it(
    tmp_path, small_shapes_dir, tiny_embedder
):
    """Issue #7: the parent absorbs the subfolder's row while the subfolder is being indexed;
    the run's later batches used to fail with FOREIGN KEY constraint failed."""
    sub = small_shapes_dir / "sub"
    sub.mkdir()
    for path in sorted(small_shapes_dir.rglob("*.jpg"))[:24]:
        path.rename(sub / path.name)
    store = Store(tmp_path / "lib" / "library.db")
    added: list[int] = []

    def add_parent(ids):
        if not added:  # from another thread, as the app's task pool does
            worker = threading.Thread(
                target=lambda: added.append(store.add_folder(str(small_shapes_dir)))
            )
            worker.start()
            worker.join()

    report = Indexer(store, tiny_embedder, batch_size=4).run(
        [str(sub)], add=True, on_batch=add_parent
    )
    assert report.indexed == 24 and not report.cancelled
    folders = store.folders()
    assert [(f.id, f.path) for f in folders] == [(added[0], str(small_shapes_dir))]
    assert folders[0].photo_count == 24
    store.close()


def test_a_run_for_a_removed_folder_does_not_bring_it_back(indexed):
    store, indexer, photos = indexed
    store.remove_folder(str(photos))
    report = indexer.run([str(photos)])  # a late watcher event or queued request
    assert report.scanned == 0
    assert store.folders() == []
    assert store.counts()["indexed"] == 0


def test_one_place_is_one_folder_and_each_photo_is_stored_once(
    tmp_path, small_shapes_dir, tiny_embedder
):
    """A link to the folder, and a link inside one library folder to another, reach photos
    twice; a hard-linked file has two names. Each photo gets one row."""
    other = tmp_path / "other"
    other.mkdir()
    for path in sorted(small_shapes_dir.rglob("*.jpg"))[:5]:
        path.rename(other / path.name)
    (small_shapes_dir / "to-other").symlink_to(other, target_is_directory=True)
    (small_shapes_dir / "to-self").symlink_to(small_shapes_dir, target_is_directory=True)
    first = sorted(small_shapes_dir.rglob("*.jpg"))[0]
    os.link(first, small_shapes_dir / "hardlink.jpg")
    alias = tmp_path / "alias"
    alias.symlink_to(small_shapes_dir, target_is_directory=True)

    store = Store(tmp_path / "lib" / "library.db")
    home = store.add_folder(str(small_shapes_dir))
    assert store.add_folder(str(alias)) == home  # the same place, spelt another way
    assert store.add_folder(str(alias / "sub-does-not-matter" / "..")) == home
    indexer = Indexer(store, tiny_embedder)
    indexer.run([str(other)], add=True)
    report = indexer.run()
    assert store.counts()["indexed"] == 40
    paths = [r[0] for r in store.conn.execute("SELECT path FROM photos")]
    assert len(paths) == len(set(paths)) == 40
    assert not any("/to-other/" in p or "/to-self/" in p for p in paths)
    assert report.removed == 0
    store.close()


def test_every_photo_format_pillow_reads_is_indexed(tmp_path, tiny_embedder, pillow_images):
    """The formats chosen in issue #7: multi-picture JPEG, animated PNG, JPEG 2000 and
    Photoshop files, each a real sample from Pillow's own test corpus."""
    samples = ["frozenpond.mpo", "iss634.apng", "balloon.jpf", "hopper.psd"]
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in samples:
        assert Path(name).suffix in PHOTO_EXTENSIONS
        shutil.copy(pillow_images / name, folder / name)
    store = Store(tmp_path / "lib" / "library.db")
    report = Indexer(store, tiny_embedder).run([str(folder)], add=True)
    assert (report.indexed, report.failed) == (4, 0), store.problems()
    formats = {os.path.basename(r["path"]): r["format"] for r in map(store.photo, range(1, 5))}
    assert formats == {"frozenpond.mpo": "MPO", "iss634.apng": "PNG",
                       "balloon.jpf": "JPEG2000", "hopper.psd": "PSD"}  # fmt: skip
    store.close()


def test_options_before_the_command_run_the_command(tmp_path, small_shapes_dir):
    """`photoclip --model tiny-shapes search "a red circle"` used to open the app and add
    "search" and "a red circle" as library folders."""
    lib = tmp_path / "lib"
    photoclip(lib, "--model", "tiny-shapes", "index", str(small_shapes_dir))
    done = photoclip(lib, "--model", "tiny-shapes", "search", "a red circle", "-n", "3")
    hits = [line for line in done.stdout.splitlines() if line[:1].isdigit()]
    assert len(hits) == 3 and all(str(small_shapes_dir) in line for line in hits)
    assert "strong match" in done.stderr
    folders = photoclip(lib, "folders").stdout
    assert folders.splitlines() == [f"{small_shapes_dir}  (40 photos)"]


def test_dates_on_the_command_line_are_checked(tmp_path, small_shapes_dir):
    lib = tmp_path / "lib"
    photoclip(lib, "index", str(small_shapes_dir), "--model", "tiny-shapes")
    bad = photoclip(lib, "search", "a red circle", "--from", "2024-6-1", check=False)
    assert bad.returncode == 2
    assert "YYYY-MM-DD" in bad.stderr and "2024-6-1" in bad.stderr
    good = photoclip(lib, "search", "a red circle", "--from", "2000-01-01", "--json")
    assert good.returncode == 0


def test_a_place_reached_under_another_name_is_the_same_folder(tmp_path):
    """Where names differ but the file system says it's one place (a bind mount here; a
    case-insensitive disk's ~/pictures for ~/Pictures is the same test of identity)."""
    import subprocess

    real = tmp_path / "Pictures"
    (real / "2024").mkdir(parents=True)
    alias = tmp_path / "alias"
    alias.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(real), str(alias)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"a bind mount needs root: {mounted.stderr.decode().strip()}")
    try:
        store = Store(tmp_path / "lib" / "library.db")
        home = store.add_folder(str(real))
        assert store.add_folder(str(alias)) == home
        assert store.add_folder(str(alias / "2024")) == home
        assert store.folder_id_for(str(alias / "2024" / "x.jpg")) == home
        assert [f.path for f in store.folders()] == [str(real)]
        store.close()
    finally:
        subprocess.run(["umount", str(alias)], check=True)


def test_a_photo_that_turns_unreadable_keeps_other_models_vectors(tmp_path, indexed):
    """Issue #7: a decode failure of readable bytes touches only the vector of the model
    being written. The other model's vector stays (not searchable while the file is bad);
    once the file holds a new, good picture, vectors of the old picture go."""
    from safetensors.torch import load_file, save_file

    from photoclip.embedder import load_embedder
    from photoclip.models import tiny_shapes_dir
    from photoclip.search import Searcher

    store, indexer_a, photos = indexed
    weights_b = tmp_path / "tiny-b.safetensors"
    tensors = load_file(str(Path(tiny_shapes_dir()) / "open_clip_model.safetensors"))
    save_file(tensors, str(weights_b), metadata={"variant": "b"})  # same net, another file
    model_b = load_embedder(
        "tiny-shapes", weights=str(weights_b), device="cpu", precision="fp32",
        allow_download=False,
    )  # fmt: skip
    assert model_b.identity != indexer_a.embedder.identity
    indexer_b = Indexer(store, model_b)
    assert indexer_b.run().indexed == 40
    a, b = (store.model_id(e.identity) for e in (indexer_a.embedder, model_b))

    target = sorted(photos.rglob("*.jpg"))[0]
    pid = store.photo_id_for_path(str(target))
    target.write_bytes(b"\xff\xd8\xff\xe0 not a picture any more")
    report = indexer_b.run()
    assert (report.failed, report.deferred) == (1, 0)
    assert store.photo(pid)["status"] == "error"
    assert store.vector_for_photo(pid, b) is None
    assert store.vector_for_photo(pid, a) is not None  # model A's work is kept
    assert store.thumbnail(pid) is not None
    searcher_a = Searcher(store, indexer_a.embedder)
    ranked = searcher_a.search("a red circle", limit=50)
    assert ranked.total == 39 and pid not in {h.photo_id for h in ranked.hits}
    assert store.vector_count(a) == 39

    shutil.copy(sorted(photos.rglob("*.jpg"))[1], target)  # a good picture again, a new one
    os.utime(target, ns=(1, 2_000_000_000))
    again = indexer_b.run()  # changed on disk: tried again
    assert again.indexed == 1
    assert store.photo(pid)["status"] == "indexed"
    assert store.vector_for_photo(pid, a) is None  # it described the old picture
    assert Indexer(store, indexer_a.embedder).run().indexed == 1  # made again for A


def test_the_cli_says_which_folder_is_missing_and_keeps_it(tmp_path, small_shapes_dir):
    lib = tmp_path / "lib"
    photoclip(lib, "index", str(small_shapes_dir), "--model", "tiny-shapes")
    small_shapes_dir.rename(tmp_path / "unplugged")
    small_shapes_dir.mkdir()
    done = photoclip(lib, "index", "--model", "tiny-shapes")
    assert "0 removed" in done.stdout and "40 kept" in done.stdout
    assert f"Missing: {small_shapes_dir}" in done.stderr
    listed = photoclip(lib, "folders").stdout
    assert listed.strip() == f"{small_shapes_dir}  (40 photos, 1 problem; missing " + (
        "(unplugged or unreadable), its photos are kept)"
    )
    assert "unplugged" in photoclip(lib, "problems").stdout


def test_photos_an_older_photoclip_stored_through_a_link_move_to_their_real_name(
    tmp_path, small_shapes_dir, tiny_embedder
):
    """An older photoclip followed a link into its own library folder and stored the photos
    under the link's name. The walk now lists them under their real name: the rows move
    there with their vectors, rather than stay beside a second copy of each."""
    album = small_shapes_dir / "inbox"
    store = Store(tmp_path / "lib" / "library.db")
    indexer = Indexer(store, tiny_embedder)
    assert indexer.run([str(small_shapes_dir)], add=True).indexed == 40
    model = store.model_id(tiny_embedder.identity)
    linked = {p: store.photo_id_for_path(str(p)) for p in album.glob("*.jpg")}
    vectors = {pid: store.vector_for_photo(pid, model).tobytes() for pid in linked.values()}
    real = small_shapes_dir / "real-inbox"
    album.rename(real)
    album.symlink_to(real, target_is_directory=True)  # the old rows' names now pass a link

    report = indexer.run()
    assert (report.indexed, report.moved, report.removed) == (0, len(linked), 0)
    paths = [r[0] for r in store.conn.execute("SELECT path FROM photos")]
    assert len(paths) == len(set(paths)) == 40
    for old, pid in linked.items():
        assert store.photo_id_for_path(str(real / old.name)) == pid
        assert store.vector_for_photo(pid, model).tobytes() == vectors[pid]
    store.close()

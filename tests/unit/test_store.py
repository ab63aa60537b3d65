"""The library database on a real SQLite file: schema and migrations, refusing what it can't
use, the single-writer lock, folders, problems and transactions."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import photoclip.store.schema as schema_module
import photoclip.store.vectors as vectors_module
from photoclip.errors import LibraryBusyError, StoreError
from photoclip.models import ModelIdentity
from photoclip.store import SCHEMA_VERSION, Problem, Store

REPO = Path(__file__).resolve().parents[2]


def made(folder: Path) -> str:
    """``folder``, created: the library takes only folders that exist."""
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


def photo_row(folder_id: int, path: str, status: str = "indexed", **extra) -> dict:
    row = {
        "folder_id": folder_id,
        "path": path,
        "size": 100,
        "mtime_ns": 1,
        "status": status,
        "indexed_at": time.time(),
    }
    row.update(extra)
    return row


def add_photos(store: Store, folder_id: int, paths, **extra) -> list[int]:
    with store.transaction() as conn:
        return [store.upsert_photo(conn, photo_row(folder_id, str(p), **extra)) for p in paths]


def open_fds_to(path: Path) -> list[str]:
    """Files this process holds open whose path starts with ``path``."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(path)):
            found.append(target)
    return found


# -- schema ------------------------------------------------------------------------------------


def test_a_new_library_has_the_current_schema_in_wal_mode(library):
    assert library.path.is_file()
    assert library.schema_version == SCHEMA_VERSION
    with sqlite3.connect(library.path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    raw.close()
    assert {"folders", "photos", "models", "vectors", "thumbnails", "scan_problems"} <= tables
    assert library.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_reopening_keeps_the_data_and_does_not_migrate_again(tmp_path):
    db = tmp_path / "library.db"
    first = Store(db)
    folder = first.add_folder(made(tmp_path / "photos"))
    first.close()

    again = Store(db)
    try:
        assert [f.id for f in again.folders()] == [folder]
        assert list(tmp_path.glob("*.bak")) == []
    finally:
        again.close()


def test_the_library_folder_is_created(tmp_path):
    store = Store(tmp_path / "new" / "deeper" / "library.db")
    try:
        assert store.path.is_file()
    finally:
        store.close()


def test_a_library_from_a_newer_photoclip_is_refused_untouched(tmp_path):
    db = tmp_path / "library.db"
    with sqlite3.connect(db) as raw:
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("CREATE TABLE future (x)")
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    raw.close()
    before = db.read_bytes()

    with pytest.raises(StoreError) as err:
        Store(db)

    assert "newer photoclip" in str(err.value)
    assert "Update photoclip" in str(err.value)
    assert db.read_bytes() == before
    assert list(tmp_path.glob("*.bak")) == []
    # Nothing is left holding the file (the user may move it aside right away).
    assert open_fds_to(db) == []


def test_a_corrupt_file_is_refused_in_words_and_left_alone(tmp_path):
    db = tmp_path / "library.db"
    garbage = b"These are not the bytes of a SQLite database. " * 200
    db.write_bytes(garbage)

    with pytest.raises(StoreError) as err:
        Store(db)

    message = str(err.value)
    assert "damaged" in message and "Move it aside" in message
    assert "file is not a database" not in message  # words, not SQLite's raw error
    assert isinstance(err.value.__cause__, sqlite3.DatabaseError)
    assert db.read_bytes() == garbage
    assert open_fds_to(db) == []


def test_a_library_folder_that_cant_be_created_is_refused_in_words(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("in the way")

    with pytest.raises(StoreError, match="can't create its library folder"):
        Store(blocker / "lib" / "library.db")


# -- migrations --------------------------------------------------------------------------------


OLD = SCHEMA_VERSION  # the tests add one more step: today's schema becomes the old one


@pytest.fixture
def old_library(tmp_path) -> Path:
    """A library at today's schema with a folder, two photos and a thumbnail in it."""
    db = tmp_path / "lib" / "library.db"
    store = Store(db)
    assert store.schema_version == OLD
    folder = store.add_folder(made(tmp_path / "photos"))
    ids = add_photos(store, folder, [tmp_path / "photos" / "a.jpg", tmp_path / "photos" / "b.jpg"])
    with store.transaction() as conn:
        conn.execute("INSERT INTO thumbnails VALUES (?, ?, 1, 1)", (ids[0], b"jpeg-bytes"))
    store.close()
    return db


def add_migration_step(monkeypatch, sql: str) -> None:
    monkeypatch.setattr(schema_module, "MIGRATIONS", (*schema_module.MIGRATIONS, sql))
    monkeypatch.setattr(schema_module, "SCHEMA_VERSION", OLD + 1)


def test_migrating_backs_up_first_then_upgrades_keeping_the_data(old_library, monkeypatch):
    add_migration_step(monkeypatch, "ALTER TABLE photos ADD COLUMN rating INTEGER;")

    store = Store(old_library)
    try:
        assert store.schema_version == OLD + 1
        columns = {r[1] for r in store.conn.execute("PRAGMA table_info(photos)")}
        assert "rating" in columns
        paths = [r[0] for r in store.conn.execute("SELECT path FROM photos ORDER BY path")]
        assert [os.path.basename(p) for p in paths] == ["a.jpg", "b.jpg"]
        assert store.thumbnail(store.photo_id_for_path(paths[0])) == b"jpeg-bytes"
    finally:
        store.close()

    (backup,) = old_library.parent.glob(f"library.db.v{OLD}.*.bak")
    with sqlite3.connect(backup) as old:
        assert old.execute("PRAGMA user_version").fetchone()[0] == OLD
        assert old.execute("SELECT COUNT(*) FROM photos").fetchone()[0] == 2
        assert old.execute("SELECT jpeg FROM thumbnails").fetchone()[0] == b"jpeg-bytes"
        old_columns = {r[1] for r in old.execute("PRAGMA table_info(photos)")}
    old.close()
    assert "rating" not in old_columns


def test_a_version_1_library_gains_the_phrase_cache_and_keeps_everything(tmp_path, monkeypatch):
    """The real v1 -> v2 step, on a library written by the first release's schema."""
    db = tmp_path / "lib" / "library.db"
    with monkeypatch.context() as first_release:
        first_release.setattr(schema_module, "MIGRATIONS", schema_module.MIGRATIONS[:1])
        first_release.setattr(schema_module, "SCHEMA_VERSION", 1)
        v1 = Store(db)
        folder = v1.add_folder(made(tmp_path / "photos"))
        add_photos(v1, folder, [tmp_path / "photos" / "a.jpg"])
        model = v1.model_id(ModelIdentity("arch", "tag", "0" * 64, 4))
        v1.close()

    store = Store(db)
    try:
        assert store.schema_version == SCHEMA_VERSION == 6
        assert os.path.basename(store.photo(store.list_photo_ids()[0])["path"]) == "a.jpg"
        store.remember_text_vectors(model, {"a red circle": np.ones(4, np.float32)})
        assert list(store.text_vectors(model, ["a red circle"])) == ["a red circle"]
        # v3: the scan's footing per folder; nothing known yet for a folder scanned by v1.
        assert store.folder_state(folder).device is None
        assert store.folder_state(folder).mount_points == {}
        # v6: extra views; a v1 photo (no recorded size) needs none.
        assert store.conn.execute("SELECT COUNT(*) FROM view_vectors").fetchone()[0] == 0
        assert store.photo_ids_without_views(model, folder) == set()
    finally:
        store.close()
    assert len(list(db.parent.glob("library.db.v1.*.bak"))) == 1


def test_phrase_vectors_are_per_model_and_the_oldest_are_forgotten(library, monkeypatch):
    monkeypatch.setattr(vectors_module, "TEXT_VECTORS_KEPT", 3)
    a = library.model_id(ModelIdentity("arch", "a", "0" * 64, 4))
    b = library.model_id(ModelIdentity("arch", "b", "1" * 64, 4))
    for i, text in enumerate(["one", "two", "three", "four"]):
        monkeypatch.setattr(time, "time", lambda i=i: 1000.0 + i)
        library.remember_text_vectors(a, {text: np.full(4, i, np.float32)})
    library.remember_text_vectors(b, {"one": np.full(4, 9, np.float32)})

    kept = library.text_vectors(a, ["one", "two", "three", "four", "five"])
    assert sorted(kept) == ["four", "three", "two"]  # "one" was the oldest of model a
    np.testing.assert_array_equal(kept["four"], np.full(4, 3, np.float32))
    assert library.text_vectors(b, ["one", "two"])["one"][0] == 9  # model b's own vector
    # Remembering a phrase again replaces its vector rather than adding a row.
    library.remember_text_vectors(a, {"four": np.zeros(4, np.float32)})
    assert library.text_vectors(a, ["four"])["four"].tolist() == [0, 0, 0, 0]
    count = library.conn.execute("SELECT COUNT(*) FROM text_vectors WHERE model_id = ?", (a,))
    assert count.fetchone()[0] == 3


def test_a_failing_migration_step_leaves_the_library_as_it_was(old_library, monkeypatch):
    add_migration_step(monkeypatch, "ALTER TABLE photos ADD COLUMN rating INTEGER; NOT SQL;")

    with pytest.raises(StoreError) as err:
        Store(old_library)

    assert str(err.value).startswith(f"The library {old_library} couldn't be used")
    # The half-applied step was rolled back and nothing still holds the database: another
    # writer can start right away.
    with sqlite3.connect(old_library, timeout=0) as raw:
        raw.execute("BEGIN IMMEDIATE")
        assert raw.execute("PRAGMA user_version").fetchone()[0] == OLD
        columns = {r[1] for r in raw.execute("PRAGMA table_info(photos)")}
        assert "rating" not in columns
        assert raw.execute("SELECT COUNT(*) FROM photos").fetchone()[0] == 2
        raw.rollback()
    raw.close()
    assert list(old_library.parent.glob(f"library.db.v{OLD}.*.bak")) != []


# -- the single-writer lock --------------------------------------------------------------------


def test_a_second_writer_in_this_process_is_told_the_library_is_busy(library):
    other = Store(library.path)
    try:
        with library.writer_lock():
            with pytest.raises(LibraryBusyError, match="already indexing"), other.writer_lock():
                pass
            # Even the same handle can't nest.
            with pytest.raises(LibraryBusyError), library.writer_lock():
                pass
        # Released: the other handle may write now.
        with other.writer_lock():
            pass
    finally:
        other.close()


def test_the_lock_is_released_when_the_writer_fails(library):
    with pytest.raises(RuntimeError), library.writer_lock():
        raise RuntimeError("indexing crashed")

    with library.writer_lock():
        pass


def test_a_writer_in_another_process_makes_this_one_busy(library):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys
                sys.path.insert(0, {str(REPO)!r})
                from photoclip.store import Store
                store = Store({str(library.path)!r})
                with store.writer_lock():
                    print("locked", flush=True)
                    sys.stdin.readline()
                store.close()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LibraryBusyError), library.writer_lock():
            pass
        holder.stdin.write("done\n")
        holder.stdin.flush()
        assert holder.wait(timeout=60) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        for stream in (holder.stdin, holder.stdout):
            if stream is not None:
                stream.close()

    with library.writer_lock():  # the other process is gone: free again
        pass


# -- folders -----------------------------------------------------------------------------------


def test_adding_the_same_folder_twice_gives_one_folder(library, tmp_path):
    first = library.add_folder(made(tmp_path / "photos"))

    assert library.add_folder(made(tmp_path / "photos") + os.sep) == first
    assert library.add_folder(made(tmp_path / "photos" / "x" / "..")) == first
    assert [f.path for f in library.folders()] == [str(tmp_path / "photos")]


def test_a_folder_inside_a_library_folder_is_covered_by_it(library, tmp_path):
    parent = library.add_folder(made(tmp_path / "photos"))

    assert library.add_folder(made(tmp_path / "photos" / "2023" / "summer")) == parent
    assert [f.id for f in library.folders()] == [parent]


def test_a_sibling_with_a_common_prefix_is_not_inside(library, tmp_path):
    a = library.add_folder(made(tmp_path / "photos"))
    b = library.add_folder(made(tmp_path / "photos2"))

    assert a != b
    assert [f.path for f in library.folders()] == [
        str(tmp_path / "photos"),
        str(tmp_path / "photos2"),
    ]


def test_a_parent_folder_absorbs_library_folders_inside_it(library, tmp_path):
    child_a = library.add_folder(made(tmp_path / "photos" / "a"))
    child_b = library.add_folder(made(tmp_path / "photos" / "b"))
    outside = library.add_folder(made(tmp_path / "other"))
    ids_a = add_photos(library, child_a, [tmp_path / "photos" / "a" / "1.jpg"])
    ids_b = add_photos(
        library, child_b, [tmp_path / "photos" / "b" / "2.jpg", tmp_path / "photos" / "b" / "3.jpg"]
    )
    add_photos(library, outside, [tmp_path / "other" / "4.jpg"])
    with library.transaction() as conn:
        conn.execute(
            "INSERT INTO scan_problems VALUES (?, ?, 'Permission denied.', 0)",
            (str(tmp_path / "photos" / "b" / "locked"), child_b),
        )

    parent = library.add_folder(made(tmp_path / "photos"))

    folders = {f.path: f for f in library.folders()}
    assert set(folders) == {str(tmp_path / "photos"), str(tmp_path / "other")}
    assert folders[str(tmp_path / "photos")].id == parent
    assert folders[str(tmp_path / "photos")].photo_count == 3
    assert folders[str(tmp_path / "photos")].problem_count == 1
    assert folders[str(tmp_path / "other")].photo_count == 1
    # The very same rows (ids, so their vectors and thumbnails) now belong to the parent.
    assert set(library.known_files(parent)) == {
        str(tmp_path / "photos" / "a" / "1.jpg"),
        str(tmp_path / "photos" / "b" / "2.jpg"),
        str(tmp_path / "photos" / "b" / "3.jpg"),
    }
    assert {k.id for k in library.known_files(parent).values()} == set(ids_a + ids_b)


def test_removing_a_folder_forgets_it_but_never_touches_the_photos(library, tmp_path):
    folder_path = tmp_path / "photos"
    files = []
    for i in range(3):
        f = folder_path / f"sub{i % 2}" / f"IMG_{i}.jpg"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(os.urandom(2000))
        files.append(f)
    digests = {f: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    folder = library.add_folder(str(folder_path))
    ids = add_photos(library, folder, files)
    model = library.model_id(ModelIdentity("arch", "tag", "0" * 64, 2))
    with library.transaction() as conn:
        for pid in ids:
            conn.execute("INSERT INTO thumbnails VALUES (?, ?, 1, 1)", (pid, b"thumb"))
            conn.execute(
                "INSERT INTO vectors (photo_id, model_id, vector) VALUES (?, ?, ?)",
                (pid, model, b"\0" * 8),
            )
        conn.execute(
            "INSERT INTO scan_problems VALUES (?, ?, 'Permission denied.', 0)",
            (str(folder_path / "locked"), folder),
        )
    kept = library.add_folder(made(tmp_path / "kept"))
    add_photos(library, kept, [tmp_path / "kept" / "x.jpg"])

    assert library.remove_folder(str(folder_path)) == 3

    assert [f.path for f in library.folders()] == [str(tmp_path / "kept")]
    counts = library.counts()
    assert counts == {
        "folders": 1,
        "indexed": 1,
        "problems": 0,
        "vectors": 0,
        "wide_photos": 0,
        "remembered_phrases": 0,
    }
    assert library.conn.execute("SELECT COUNT(*) FROM thumbnails").fetchone()[0] == 0
    for f in files:
        assert f.is_file()
        assert hashlib.sha256(f.read_bytes()).hexdigest() == digests[f]


def test_a_folders_indexed_photos_are_counted_as_they_are_now(library, tmp_path):
    folder = library.add_folder(made(tmp_path / "photos"))
    other = library.add_folder(made(tmp_path / "other"))
    assert library.indexed_in_folder(folder) == 0
    add_photos(library, folder, [tmp_path / "photos" / f"{i}.jpg" for i in range(3)])
    add_photos(library, folder, [tmp_path / "photos" / "bad.jpg"], status="error")
    add_photos(library, other, [tmp_path / "other" / "x.jpg"])
    assert library.indexed_in_folder(folder) == 3  # what Remove will forget, said in its question
    assert library.remove_folder(folder) == 4


def test_removing_a_folder_by_id_and_an_unknown_folder(library, tmp_path):
    folder = library.add_folder(made(tmp_path / "photos"))
    add_photos(library, folder, [tmp_path / "photos" / "a.jpg"])

    assert library.remove_folder(str(tmp_path / "never-added")) == 0
    assert library.remove_folder(folder + 100) == 0
    assert library.remove_folder(folder) == 1
    assert library.folders() == []


# -- problems and transactions -----------------------------------------------------------------


def test_problems_lists_unreadable_photos_and_scan_problems_by_path(library, tmp_path):
    folder = library.add_folder(made(tmp_path))
    add_photos(library, folder, [tmp_path / "fine.jpg"])
    with library.transaction() as conn:
        library.upsert_photo(
            conn,
            photo_row(
                folder,
                str(tmp_path / "b_cut.jpg"),
                status="error",
                error="The file is truncated: it ends before the image data does.",
            ),
        )
        conn.execute(
            "INSERT INTO scan_problems VALUES (?, ?, ?, 0)",
            (
                str(tmp_path / "a_locked"),
                folder,
                "Permission denied: photoclip isn't allowed to read this folder.",
            ),
        )

    assert library.problems() == [
        Problem(
            str(tmp_path / "a_locked"),
            "Permission denied: photoclip isn't allowed to read this folder.",
        ),
        Problem(
            str(tmp_path / "b_cut.jpg"),
            "The file is truncated: it ends before the image data does.",
        ),
    ]
    assert library.counts()["problems"] == 2
    assert library.folders()[0].problem_count == 2
    assert library.folders()[0].photo_count == 1


def test_transaction_commits_on_success(library, tmp_path):
    with library.transaction() as conn:
        conn.execute("INSERT INTO settings VALUES ('k', 'v')")

    with sqlite3.connect(library.path) as raw:  # visible to another connection: committed
        assert raw.execute("SELECT value FROM settings WHERE key = 'k'").fetchone() == ("v",)
    raw.close()


def test_transaction_rolls_back_on_an_exception(library, tmp_path):
    folder = library.add_folder(made(tmp_path))

    with pytest.raises(ValueError), library.transaction() as conn:
        library.upsert_photo(conn, photo_row(folder, str(tmp_path / "a.jpg")))
        conn.execute("DELETE FROM folders")
        raise ValueError("a bug mid-batch")

    assert library.known_files(folder) == {}
    assert [f.id for f in library.folders()] == [folder]
    # The connection is usable afterwards.
    add_photos(library, folder, [tmp_path / "b.jpg"])
    assert list(library.known_files(folder)) == [str(tmp_path / "b.jpg")]


def test_a_database_error_inside_a_transaction_becomes_a_store_error(library, tmp_path):
    folder = library.add_folder(made(tmp_path))

    with pytest.raises(StoreError), library.transaction() as conn:
        library.upsert_photo(conn, photo_row(folder, str(tmp_path / "a.jpg")))
        library.upsert_photo(conn, photo_row(folder, str(tmp_path / "b.jpg"), status="bogus"))

    assert library.known_files(folder) == {}


def test_upsert_updates_a_photo_in_place(library, tmp_path):
    folder = library.add_folder(made(tmp_path))
    (first,) = add_photos(library, folder, [tmp_path / "a.jpg"])

    (again,) = add_photos(library, folder, [tmp_path / "a.jpg"], size=999, camera="Pixel 7")

    assert again == first
    row = library.photo(first)
    assert row is not None and row["size"] == 999 and row["camera"] == "Pixel 7"


def test_each_thread_gets_its_own_connection(library, tmp_path):
    folder = library.add_folder(made(tmp_path))
    seen: dict[str, object] = {}

    def worker() -> None:
        seen["conn"] = library.conn
        add_photos(library, folder, [tmp_path / "from_thread.jpg"])

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(timeout=60)

    assert seen["conn"] is not library.conn
    assert list(library.known_files(folder)) == [str(tmp_path / "from_thread.jpg")]


def test_settings_round_trip(library):
    assert library.get_setting("model") is None
    assert library.get_setting("model", "ViT-B-32") == "ViT-B-32"
    library.set_setting("model", "tiny-shapes")
    library.set_setting("model", "ViT-B-16")
    assert library.get_setting("model") == "ViT-B-16"


def test_model_identity_gets_one_stable_row(library):
    a = ModelIdentity("ViT-B-32", "laion", "a" * 64, 512)
    b = ModelIdentity("ViT-B-32", "laion", "b" * 64, 512)

    first = library.model_id(a)

    assert library.model_id(a) == first
    assert library.model_id(b) != first


def test_photos_by_id_keeps_the_order_given_and_drops_missing(library, tmp_path):
    folder = library.add_folder(made(tmp_path))
    ids = add_photos(library, folder, [tmp_path / f"{i:04}.jpg" for i in range(1000)])
    wanted = [ids[999], 123456, ids[0], *ids[500:950]]

    rows = library.photos_by_id(wanted)

    assert [r["id"] for r in rows] == [ids[999], ids[0], *ids[500:950]]
    assert rows[0]["path"] == str(tmp_path / "0999.jpg")


def test_another_programs_database_is_refused_untouched(tmp_path):
    import sqlite3

    from photoclip.errors import StoreError
    from photoclip.store import Store

    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    with pytest.raises(StoreError, match="another program's database"):
        Store(db)
    assert db.read_bytes() == before


def test_processes_opening_a_new_library_at_once_all_succeed(tmp_path):
    import subprocess
    import sys

    from photoclip.store import SCHEMA_VERSION, Store

    db = tmp_path / "fresh" / "library.db"
    code = f"from photoclip.store import Store; Store({str(db)!r}).close()"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    store = Store(db)
    assert store.schema_version == SCHEMA_VERSION
    assert store.conn.execute("SELECT COUNT(*) FROM counters").fetchone()[0] == 1
    store.close()

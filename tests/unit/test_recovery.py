"""A damaged library file: refused in words, then moved aside byte for byte (never deleted) and
rebuilt from its folders, with the real CLI on real photos and the tiny trained model."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from photoclip.errors import DamagedLibraryError, StoreError
from photoclip.recovery import (
    Salvaged,
    folders_file,
    move_aside,
    rebuild,
    remember_folders,
    salvage,
)
from photoclip.store import Store

REPO = Path(__file__).resolve().parents[2]


def cli(lib: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, PHOTOCLIP_LIBRARY=str(lib), HF_HUB_OFFLINE="1")
    done = subprocess.run(
        [sys.executable, "-m", "photoclip", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if check and done.returncode != 0:
        raise AssertionError(f"photoclip {' '.join(args)} failed:\n{done.stderr}")
    return done


def library_contents(db: Path) -> tuple[list[str], list[str]]:
    """(folders, indexed photo paths), read-only."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        folders = [r[0] for r in conn.execute("SELECT path FROM folders ORDER BY path")]
        photos = [
            r[0]
            for r in conn.execute("SELECT path FROM photos WHERE status = 'indexed' ORDER BY path")
        ]
    finally:
        conn.close()
    return folders, photos


def pages_of(db: Path, *names: str) -> list[int]:
    conn = sqlite3.connect(db)
    try:
        marks = ",".join("?" * len(names))
        return [
            r[0]
            for r in conn.execute(
                f"SELECT rootpage FROM sqlite_master WHERE tbl_name IN ({marks})", names
            )
            if r[0]
        ]
    finally:
        conn.close()


def overwrite(db: Path, offset: int, length: int) -> None:
    with open(db, "r+b") as f:
        f.seek(offset)
        f.write(bytes((i * 37 + 11) % 256 for i in range(length)))


@pytest.fixture(scope="module")
def indexed_library(tmp_path_factory) -> Path:
    """Two folders of shape photos indexed by `photoclip index` with the tiny model."""
    from tools.shapes import write_library

    root = tmp_path_factory.mktemp("indexed")
    write_library(root / "photos" / "trips", 10, seed=3, min_side=200, max_side=400)
    write_library(root / "photos" / "home", 6, seed=4, min_side=200, max_side=400)
    lib = root / "lib"
    cli(lib, "index", str(root / "photos" / "trips"), str(root / "photos" / "home"),
        "--model", "tiny-shapes")  # fmt: skip
    return lib


@pytest.fixture
def library_copy(indexed_library, tmp_path) -> Path:
    """A private copy of the indexed library (and the folder list kept beside it)."""
    lib = tmp_path / "lib"
    lib.mkdir()
    for f in indexed_library.iterdir():
        if f.is_file() and not f.name.endswith(("-wal", "-shm", ".lock")):
            (lib / f.name).write_bytes(f.read_bytes())
    return lib / "library.db"


@pytest.mark.parametrize("damage", ["header", "folder pages"])
def test_a_damaged_library_is_kept_byte_for_byte_and_rebuilt_with_its_folders_and_photos(
    library_copy, damage
):
    lib = library_copy.parent
    folders, photos = library_contents(library_copy)
    assert len(folders) == 2 and len(photos) == 16
    assert json.loads(folders_file(library_copy).read_text())["folders"] == folders
    page_size = 4096
    if damage == "header":
        overwrite(library_copy, 0, 100)
    else:
        for page in pages_of(library_copy, "folders"):  # the table and its path index
            overwrite(library_copy, (page - 1) * page_size, page_size)
    damaged = library_copy.read_bytes()

    with pytest.raises(DamagedLibraryError):
        Store(library_copy)
    refused = cli(lib, "status", check=False)
    assert refused.returncode == 1 and "is damaged" in refused.stderr
    assert "photoclip rebuild" in refused.stderr and "Traceback" not in refused.stderr
    assert library_copy.read_bytes() == damaged

    done = cli(lib, "rebuild")
    (kept,) = lib.glob("library.damaged-*.db")
    assert kept.read_bytes() == damaged
    assert f"kept as {kept}" in done.stdout
    assert "with 2 folders (from the folder list kept beside it" in done.stdout

    cli(lib, "index")  # no folders named, no model: every library folder, its model
    assert library_contents(library_copy) == (folders, photos)
    assert json.loads(cli(lib, "status", "--json").stdout)["model"] == "tiny-shapes"
    assert kept.read_bytes() == damaged  # still there, untouched
    assert "isn't damaged" in cli(lib, "rebuild").stdout


def test_folders_are_read_from_the_damaged_file_itself_when_sqlite_still_can(library_copy):
    folders, _ = library_contents(library_copy)
    folders_file(library_copy).unlink()  # a library from before the list was kept
    for page in pages_of(library_copy, "photos", "thumbnails"):
        overwrite(library_copy, (page - 1) * 4096, 4096)
    damaged = library_copy.read_bytes()

    assert salvage(library_copy) == Salvaged(folders, "tiny-shapes", "the damaged library")
    assert library_copy.read_bytes() == damaged

    rebuilt = rebuild(library_copy, now=0)
    try:
        assert [f.path for f in rebuilt.store.folders()] == folders
        assert rebuilt.store.get_setting("model") == "tiny-shapes"
        assert rebuilt.store.counts()["indexed"] == 0  # indexing fills it again
        assert rebuilt.damaged_copy.name == "library.damaged-" + _stamp(0) + ".db"
        assert rebuilt.damaged_copy.read_bytes() == damaged
    finally:
        rebuilt.store.close()
    assert json.loads(folders_file(library_copy).read_text())["folders"] == folders


def _stamp(when: float) -> str:
    import time

    return time.strftime("%Y%m%d-%H%M%S", time.localtime(when))


def test_with_neither_the_folders_nor_their_list_the_new_library_starts_empty(tmp_path):
    db = tmp_path / "library.db"
    db.write_bytes(b"garbage " * 1000)

    assert salvage(db) == Salvaged([], None, "nowhere (add your folders again)")
    rebuilt = rebuild(db, now=0)
    rebuilt.store.close()
    assert "Add your folders to it." in rebuilt.summary()
    assert rebuilt.damaged_copy.read_bytes() == b"garbage " * 1000


def test_moving_aside_takes_the_log_along_and_never_reuses_a_name(tmp_path):
    db = tmp_path / "photos.db"
    for suffix, text in (("", "main"), ("-wal", "log"), ("-shm", "index")):
        Path(f"{db}{suffix}").write_text(text)

    first = move_aside(db, now=0)
    assert first.name == f"photos.damaged-{_stamp(0)}.db"
    assert [Path(f"{first}{s}").read_text() for s in ("", "-wal", "-shm")] == [
        "main", "log", "index",
    ]  # fmt: skip
    assert not db.exists() and not Path(f"{db}-wal").exists()

    db.write_text("again")
    second = move_aside(db, now=0)
    assert second.name == f"photos.damaged-{_stamp(0)}-2.db"
    assert first.read_text() == "main" and second.read_text() == "again"


def test_only_sqlites_own_words_mark_a_library_damaged():
    from photoclip.store import as_damaged

    read_only = StoreError("The library /home/me/corrupt photos/library.db is read-only.")
    read_only.__cause__ = sqlite3.OperationalError("attempt to write a readonly database")
    assert as_damaged(read_only) is read_only

    garbled = StoreError("The library /home/me/library.db is damaged.")
    garbled.__cause__ = sqlite3.DatabaseError("database disk image is malformed")
    damaged = as_damaged(garbled)
    assert isinstance(damaged, DamagedLibraryError) and isinstance(damaged, StoreError)
    assert "photoclip rebuild" in str(damaged)


def test_the_folder_list_is_rewritten_only_when_the_folders_change(tmp_path):
    store = Store(tmp_path / "lib" / "library.db")
    try:
        (tmp_path / "a").mkdir()
        store.add_folder(str(tmp_path / "a"))
        remember_folders(store)
        listed = folders_file(store.path)
        first = listed.stat().st_mtime_ns
        os.utime(listed, ns=(first - 10**9, first - 10**9))
        remember_folders(store)
        assert listed.stat().st_mtime_ns == first - 10**9  # unchanged: not written again
        (tmp_path / "b").mkdir()
        store.add_folder(str(tmp_path / "b"))
        remember_folders(store)
        assert json.loads(listed.read_text()) == {"model": None, "folders": [
            str(tmp_path / "a"), str(tmp_path / "b"),
        ]}  # fmt: skip
    finally:
        store.close()

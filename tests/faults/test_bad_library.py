"""A library photoclip can't use (damaged, from a newer photoclip, on a read-only folder):
one clear line, a non-zero exit, and the library file's bytes untouched."""

from __future__ import annotations

import hashlib
import random
import shutil
import sqlite3

import pytest

from tools.shapes import write_library

from .invariants import read_library
from .system import MODEL, index, one_line_error, run_cli

PHOTOS = 20


@pytest.fixture(scope="module")
def indexed_library(tmp_path_factory):
    base = tmp_path_factory.mktemp("badlib")
    photos = base / "photos"
    write_library(photos, PHOTOS, seed=85, min_side=64, max_side=96)
    more = base / "more"
    write_library(more, 5, seed=86, min_side=64, max_side=96)
    lib = base / "lib"
    index(lib, str(photos))
    assert not (lib / "library.db-wal").exists() or (lib / "library.db-wal").stat().st_size == 0
    return lib, more, photos


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _garbage_header(db) -> str:
    data = bytearray(db.read_bytes())
    data[:100] = random.Random(86).randbytes(100)
    db.write_bytes(bytes(data))
    return "garbage over the header"


def _truncated(db) -> str:
    data = db.read_bytes()
    db.write_bytes(data[: len(data) * 6 // 10 + 123])
    return "truncated"


def _newer(db) -> str:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    return "from a newer photoclip (user_version 99)"


WORDS = {"garbage over the header": "damaged", "truncated": "damaged",
         "from a newer photoclip (user_version 99)": "newer photoclip"}  # fmt: skip


@pytest.mark.parametrize("spoil", [_garbage_header, _truncated, _newer],
                         ids=["garbage-header", "truncated", "newer-version"])  # fmt: skip
def test_unusable_library_is_refused_untouched(indexed_library, tmp_path, reliability, spoil):
    pristine, more, photos = indexed_library
    lib = tmp_path / "lib"
    shutil.copytree(pristine, lib)
    db = lib / "library.db"
    snap = read_library(db)
    what = spoil(db)
    case = reliability(f"Library file {what}")
    digest = _digest(db)
    for args in (["status"], ["index", *MODEL], ["index", str(more), *MODEL],
                 ["search", "a red circle", *MODEL]):  # fmt: skip
        proc = run_cli(lib, *args)
        case.injected += 1
        line = one_line_error(proc)
        assert str(db) in line or str(lib) in line, f"the error doesn't name the library: {line}"
        assert WORDS[what] in line, f"`photoclip {args[0]}` on a library {what}: {line}"
        assert _digest(db) == digest, f"`photoclip {' '.join(args)}` changed the library file"
    if spoil is _newer:  # still a readable SQLite file: everything in it is intact
        case.check(db, [photos], before=snap, complete=True).assert_ok("after the refusals")


def test_read_only_library_folder_is_refused_untouched(
    indexed_library, tmp_path, mounts, reliability
):
    case = reliability("Library folder read-only (read-only bind mount)")
    pristine, more, photos = indexed_library
    lib = tmp_path / "lib"
    shutil.copytree(pristine, lib)
    db = lib / "library.db"
    snap = read_library(db)
    digest = _digest(db)
    mounts.bind_read_only(lib, lib)
    proc = run_cli(lib, "index", str(more), *MODEL)
    case.injected += 1
    line = one_line_error(proc)
    assert "read-only" in line or "writable" in line, line
    assert _digest(db) == digest
    mounts.umount(lib)
    case.check(db, [photos], before=snap, complete=True).assert_ok("after the refusal")

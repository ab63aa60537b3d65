"""Crash safety and bad input: SIGKILL mid-index loses at most a batch and resumes without
duplicates; Pillow's own corpus of broken and unusual images never crashes indexing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from photoclip.indexer import Indexer
from photoclip.scanner import walk
from photoclip.store import Store

from ..library_db import count_rows
from .helpers import cli_env, photoclip_json


def test_sigkill_mid_index_then_resume_indexes_each_photo_once(tmp_path):
    from tools.shapes import write_library

    photos = tmp_path / "photos"
    files = write_library(photos, 120, seed=11, min_side=300, max_side=600)
    lib = tmp_path / "lib"
    db = lib / "library.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "photoclip", "index", str(photos), "--model", "tiny-shapes",
         "--batch-size", "4"],
        env=cli_env(lib), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while count_rows(db, "SELECT COUNT(*) FROM vectors") < 12:
        assert proc.poll() is None, "indexing finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    committed = count_rows(db, "SELECT COUNT(*) FROM vectors")
    assert 12 <= committed < 120
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    before = dict(conn.execute("SELECT photo_id, id FROM vectors").fetchall())
    conn.close()

    proc = subprocess.run(
        [sys.executable, "-m", "photoclip", "index", "--model", "tiny-shapes"],
        env=cli_env(lib), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert f"{120 - committed} indexed" in proc.stdout
    conn = sqlite3.connect(db)
    paths = [r[0] for r in conn.execute("SELECT path FROM photos")]
    assert sorted(paths) == sorted(str(p) for p, _ in files)  # each once, none lost
    assert conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0] == 120
    assert conn.execute("SELECT COUNT(*) FROM thumbnails").fetchone()[0] == 120
    after = dict(conn.execute("SELECT photo_id, id FROM vectors").fetchall())
    conn.close()
    # What was committed before the kill was kept, not embedded again.
    assert all(after[pid] == vid for pid, vid in before.items())
    assert photoclip_json(lib, "status")["indexed"] == 120


@pytest.mark.slow
def test_pillow_corpus_never_crashes_and_every_file_is_accounted_for(
    tmp_path, tiny_embedder, pillow_images
):
    store = Store(tmp_path / "library.db")
    report = Indexer(store, tiny_embedder).run([str(pillow_images)], add=True)
    files = {e.path for e in walk(str(pillow_images))}
    assert report.scanned == len(files) > 500
    assert report.indexed + report.failed == len(files)
    indexed = {r[0] for r in store.conn.execute("SELECT path FROM photos WHERE status='indexed'")}
    problems = {p.path: p.reason for p in store.problems()}
    assert indexed | set(problems) == files
    assert not indexed & set(problems)
    for path, reason in problems.items():
        assert reason.endswith(".") and len(reason) > 15, (path, reason)
    print(f"\nPillow corpus: {len(indexed)} indexed, {len(problems)} problems of {len(files)}")
    # Every indexed photo is searchable and has a thumbnail.
    assert store.counts()["vectors"] == len(indexed)
    n_thumbs = store.conn.execute("SELECT COUNT(*) FROM thumbnails").fetchone()[0]
    assert n_thumbs == len(indexed)
    store.close()


def test_photos_are_opened_read_only(tmp_path, small_shapes_dir, tiny_embedder):
    """Indexing never writes into photo folders: the tree is byte-for-byte identical and no
    file was added, even with the whole folder made read-only."""
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in small_shapes_dir.rglob("*")
              if p.is_file()}  # fmt: skip
    for d in [small_shapes_dir, *[p for p in small_shapes_dir.rglob("*") if p.is_dir()]]:
        os.chmod(d, 0o555)
    try:
        store = Store(tmp_path / "lib" / "library.db")
        report = Indexer(store, tiny_embedder).run([str(small_shapes_dir)], add=True)
        assert report.indexed == 40
        store.close()
    finally:
        for d in [small_shapes_dir, *[p for p in small_shapes_dir.rglob("*") if p.is_dir()]]:
            os.chmod(d, 0o755)
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in small_shapes_dir.rglob("*")
             if p.is_file()}  # fmt: skip
    assert after == before

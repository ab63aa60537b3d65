"""The disk holding the library fills up while indexing: a clear error, nothing already
indexed lost, the library still opens, and indexing resumes once there is space."""

from __future__ import annotations

import os

from tools.shapes import write_library

from .invariants import read_library, tree_state
from .system import index, report_counts, run_cli

FREE_LEFT = 160 * 1024  # what the ballast leaves free: a few batches' worth


def test_disk_full_while_writing_the_library(tmp_path, mounts, reliability):
    case = reliability("Disk holding the library fills up while indexing (small tmpfs)")
    first, more = tmp_path / "first", tmp_path / "more"
    write_library(first, 40, seed=83, min_side=64, max_side=96)
    write_library(more, 400, seed=84, min_side=96, max_side=160)
    roots = [first, more]
    tree = tree_state(*roots)
    lib = mounts.tmpfs(tmp_path / "libdisk", size="6m")
    db = lib / "library.db"
    index(lib, str(first))
    snap = read_library(db)
    assert len(snap.indexed) == 40

    ballast = lib / "ballast"
    st = os.statvfs(lib)
    with open(ballast, "wb") as f:
        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - FREE_LEFT))
    out = index(lib, str(more), ok=False)
    case.injected += 1
    assert out.returncode != 0, f"the disk filled up, yet the index succeeded:\n{out.stdout}"
    assert "Traceback" not in out.stderr, out.stderr
    assert "is full. Free some space and try again." in out.stderr, out.stderr
    case.check(db, roots, before=snap, tree=tree).assert_ok("with the disk full")

    ballast.unlink()
    status = run_cli(lib, "status")
    assert status.returncode == 0, f"the library doesn't open after freeing space:\n{status}"
    partial = read_library(db)
    out = index(lib)
    assert report_counts(out.stdout)["indexed"] == 440 - len(partial.indexed), out.stdout
    case.check(db, roots, before=partial, tree=tree, complete=True).assert_ok(
        "after freeing space and resuming"
    )
    assert set(snap.indexed) <= set(partial.indexed)

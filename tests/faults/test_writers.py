"""Two writers at once: CLI + CLI, and CLI + the desktop app, on one library."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tools.shapes import write_library

from ..library_db import count_rows
from .invariants import tree_state
from .system import MODEL, REPO, env_for, index, report_counts, run_cli, wait_for

PHOTOS = 200


def _library_with_model(tmp_path):
    """A library that has used the tiny model once (3 photos): later runs open it and take
    the writer lock at once, before any model load, so the two writers really overlap."""
    seed = tmp_path / "seed"
    write_library(seed, 3, seed=72, min_side=64, max_side=96)
    photos = tmp_path / "photos"
    write_library(photos, PHOTOS, seed=73, min_side=64, max_side=96)
    lib = tmp_path / "lib"
    index(lib, str(seed))
    return lib, [seed, photos]


def _check_second_writer(proc: subprocess.CompletedProcess, who: str) -> None:
    """The second writer either waited its turn (exit 0) or said clearly that the library is
    busy (exit 1, a clear line, no traceback)."""
    assert "Traceback" not in proc.stderr, proc.stderr
    if proc.returncode == 0:
        return
    lines = [line for line in proc.stderr.splitlines() if line.startswith("photoclip: ")]
    assert proc.returncode == 1, f"{who}: exit {proc.returncode}\n{proc.stderr}"
    assert lines and "already indexing" in lines[-1].lower(), (
        f"{who}: no clear 'already indexing' error:\n{proc.stderr}"
    )


def test_two_cli_writers_at_once(tmp_path, reliability):
    case = reliability("Two `photoclip index` at once on one library")
    lib, roots = _library_with_model(tmp_path)
    db = lib / "library.db"
    tree = tree_state(*roots)
    first = subprocess.Popen(
        [sys.executable, "-m", "photoclip", "index", str(roots[1]), *MODEL, "--batch-size", "4"],
        env=env_for(lib), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(
            "the first writer indexing",
            lambda: count_rows(db, "SELECT COUNT(*) FROM vectors") >= 3 + 8,
            300,
            alive=first,
        )
        second = run_cli(lib, "index", str(roots[1]), *MODEL)
        case.injected += 1
        _, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, err
    _check_second_writer(second, "the second `photoclip index`")
    case.check(db, roots, tree=tree, complete=True).assert_ok("after both writers")
    # Both eventually done: another run finds nothing left to do.
    snap = case.check(db, roots).library
    again = index(lib)
    assert report_counts(again.stdout)["indexed"] == 0, again.stdout
    case.check(db, roots, before=snap, tree=tree, complete=True).assert_ok("after a rerun")


def test_cli_while_the_app_indexes_then_the_app_gets_sigterm(tmp_path, reliability):
    case = reliability("`photoclip index` while the app indexes; app stopped with SIGTERM")
    lib, roots = _library_with_model(tmp_path)
    db = lib / "library.db"
    tree = tree_state(*roots)
    env = env_for(lib, QT_QPA_PLATFORM="offscreen")
    env.pop("PHOTOCLIP_LIBRARY")
    app = subprocess.Popen(
        [sys.executable, "-m", "photoclip", str(roots[1]), "--library", str(lib), *MODEL],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(
            "the app indexing",
            lambda: count_rows(db, "SELECT COUNT(*) FROM vectors") >= 3 + 8,
            300,
            alive=app,
        )
        cli = run_cli(lib, "index", str(roots[1]), *MODEL)
        case.injected += 1
        _check_second_writer(cli, "`photoclip index` while the app indexes")
        app.send_signal(signal.SIGTERM)
        case.injected += 1
        _, app_err = app.communicate(timeout=90)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    assert app.returncode == 0, f"the app didn't close cleanly on SIGTERM:\n{app_err}"
    after_app = case.check(db, roots, tree=tree)
    after_app.assert_ok("after the app closed")
    # The CLI finishes whatever is left, keeping everything both wrote.
    index(lib)
    case.check(db, roots, before=after_app.library, tree=tree, complete=True).assert_ok(
        "after a clean `photoclip index`"
    )
    assert os.path.exists(db)

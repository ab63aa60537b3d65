"""kill -9 at random moments of indexing, many times in a row, then a clean resume."""

from __future__ import annotations

import contextlib
import random
import signal
import subprocess
import sys
import time

from tools.shapes import write_library

from ..library_db import count_rows
from .invariants import tree_state
from .system import MODEL, REPO, env_for, index, report_counts, wait_for

KILLS = 12
PHOTOS = 240
BATCH = 4


def test_kill_9_at_random_moments_then_a_clean_resume(tmp_path, reliability):
    case = reliability(f"`kill -9` while indexing: start-up, scan, model load, mid-batch "
                       f"({KILLS} kills in a row)")  # fmt: skip
    photos = tmp_path / "photos"
    write_library(photos, PHOTOS, seed=71, min_side=64, max_side=96)
    tree = tree_state(photos)
    lib = tmp_path / "lib"
    db = lib / "library.db"
    rng = random.Random(20261129)
    before = None
    moments = []
    # Seconds from launch to the first batch committed, as measured at the last mid-batch
    # kill: the start-up and model-load kills land before it on any machine, fast or slow.
    to_first_batch = 3.0
    for kill in range(1, KILLS + 1):
        done = count_rows(db, "SELECT COUNT(*) FROM vectors")
        moment = rng.choice(["start-up", "start-up", "model load", "batch", "batch", "batch"])
        launched = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "photoclip", "index", str(photos), *MODEL,
             "--batch-size", str(BATCH)],
            env=env_for(lib), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            if moment == "start-up":  # interpreter start, library open, scan
                _sleep(proc, rng.uniform(0.02, 0.35) * to_first_batch)
            elif moment == "model load":  # importing torch and open_clip, loading weights
                _sleep(proc, rng.uniform(0.35, 0.9) * to_first_batch)
            else:  # between or inside the commits of the batches
                wait_for(
                    f"kill {kill}: a first batch",
                    lambda d=done: count_rows(db, "SELECT COUNT(*) FROM vectors") > d,
                    300,
                    alive=proc,
                )
                to_first_batch = time.monotonic() - launched
                target = min(done + BATCH * rng.randint(1, 4), PHOTOS - BATCH)
                wait_for(
                    f"kill {kill}: {target} vectors",
                    lambda t=target: count_rows(db, "SELECT COUNT(*) FROM vectors") >= t,
                    300,
                    alive=proc,
                )
                _sleep(proc, rng.uniform(0.0, 0.03))
        finally:
            assert proc.poll() is None, f"kill {kill} ({moment}): indexing finished first"
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        case.injected += 1
        vectors = count_rows(db, "SELECT COUNT(*) FROM vectors")
        moments.append(f"{moment} after {time.monotonic() - launched:.2f} s ({vectors} vectors)")
        print(f"kill {kill}: {moments[-1]}")
        verdict = case.check(db, [photos], before=before, tree=tree)
        verdict.assert_ok(f"after kill {kill} at {moment}")
        before = verdict.library
    assert before is not None and len(before.indexed) < PHOTOS
    # A clean resume completes the index and embeds only what the kills left undone.
    out = index(lib, "--batch-size", str(BATCH))
    assert report_counts(out.stdout)["indexed"] == PHOTOS - len(before.indexed), out.stdout
    case.check(db, [photos], before=before, tree=tree, complete=True).assert_ok(
        f"after the resume (kills at: {'; '.join(moments)})"
    )


def _sleep(proc: subprocess.Popen, seconds: float) -> None:
    """Wait ``seconds`` unless the process exits first."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=seconds)

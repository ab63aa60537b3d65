"""Photos whose modification times are out of any calendar's range (a camera with a flat
clock battery, a broken copy tool): they are indexed like any other, and never abort a run.
On a tmpfs, which keeps such times (ext4 clamps them)."""

from __future__ import annotations

import os

from tools.shapes import write_library

from .invariants import tree_state
from .system import copy_photos, index, report_counts

ODD_TIMES_S = {
    "year 11476": 300_000_000_000,
    "before year 1": -70_000_000_000,
    "1901": -2_100_000_000,
    "2262 (the largest nanosecond time)": 9_223_372_036,
    "year 2350 (ext4 keeps it; past 64-bit nanoseconds)": 12_000_000_000,
}


def test_out_of_range_file_times_never_abort_a_run(tmp_path, mounts, reliability):
    case = reliability("Photos with out-of-range modification times (tmpfs)")
    stash = tmp_path / "stash"
    files = write_library(stash, 24, seed=90, min_side=64, max_side=96)
    folder = mounts.tmpfs(tmp_path / "odd")
    copy_photos(stash, folder)
    odd = [folder / path.relative_to(stash) for path, _ in files[: len(ODD_TIMES_S)]]
    for path, seconds in zip(odd, ODD_TIMES_S.values(), strict=True):
        os.utime(path, ns=(0, seconds * 10**9))
        case.injected += 1
    tree = tree_state(folder)
    lib = tmp_path / "lib"
    out = index(lib, str(folder), ok=False)
    verdict = case.check(lib / "library.db", [folder], tree=tree, complete=True)
    assert out.returncode == 0 and "Traceback" not in out.stderr, (
        f"photos with odd times aborted the run:\n{out.stderr[-600:]}"
    )
    verdict.assert_ok(f"with photos dated {', '.join(ODD_TIMES_S)}")
    assert report_counts(out.stdout)["indexed"] == 24, out.stdout
    again = index(lib)
    assert report_counts(again.stdout)["unchanged"] == 24, again.stdout

"""An unplugged drive: a real tmpfs holding a library folder (or a subfolder of one) is
unmounted, or replaced by another, empty file system; nothing indexed may be lost, and the
same files plugged in again are all unchanged."""

from __future__ import annotations

import re

from tools.shapes import write_library

from .invariants import read_library, tree_state
from .system import copy_photos, index, report_counts

MISSING = re.compile(r"missing|not found|can't be found|isn't connected|not connected", re.I)


def _says_missing(stderr: str, folder) -> bool:
    """A stderr line starting "Not found:", or naming the folder and saying it's missing."""
    return any(
        line.startswith("Not found:") or (str(folder) in line and MISSING.search(line))
        for line in stderr.splitlines()
    )


def _rescan_while_away(lib, case, roots, away, snap, what):
    out = index(lib, ok=False)
    case.injected += 1
    assert "Traceback" not in out.stderr, out.stderr
    verdict = case.check(lib / "library.db", roots, before=snap, unreachable=[away])
    counts = report_counts(out.stdout)
    assert counts["removed"] == 0, f"{what}: photos were removed:\n{out.stdout}{out.stderr}"
    verdict.assert_ok(what)
    return out


def _plug_back(mounts, lib, case, roots, stash, drive, snap, count):
    mounts.tmpfs(drive)
    copy_photos(stash, drive)
    tree = tree_state(*roots)
    out = index(lib)
    counts = report_counts(out.stdout)
    assert (counts["indexed"], counts["unchanged"], counts["removed"]) == (0, count, 0), (
        f"plugged in again, the same files should be all unchanged:\n{out.stdout}{out.stderr}"
    )
    case.check(lib / "library.db", roots, before=snap, tree=tree, complete=True).assert_ok(
        "after plugging the drive in again"
    )


def _indexed_drive(tmp_path, mounts, seed: int):
    """40 photos on a tmpfs "drive" at tmp_path/media/drive, indexed as a library folder:
    (the photos' stash, the drive, the library, the library as read after indexing)."""
    stash = tmp_path / "stash"
    write_library(stash, 40, seed=seed, min_side=64, max_side=96)
    drive = tmp_path / "media" / "drive"
    mounts.tmpfs(drive)
    copy_photos(stash, drive)
    lib = tmp_path / "lib"
    index(lib, str(drive))
    snap = read_library(lib / "library.db")
    assert len(snap.indexed) == 40
    return stash, drive, lib, snap


def test_unplugged_drive_keeps_every_photo(tmp_path, mounts, reliability):
    case = reliability("Library folder on a drive that is unplugged (tmpfs unmounted)")
    stash, drive, lib, snap = _indexed_drive(tmp_path, mounts, seed=74)

    mounts.umount(drive)  # an empty mount point stays, as when a USB drive is pulled out
    out = _rescan_while_away(lib, case, [drive], drive, snap, "with the drive unplugged")
    assert _says_missing(out.stderr, drive), f"no word about the missing folder:\n{out.stderr}"
    _plug_back(mounts, lib, case, [drive], stash, drive, snap, 40)


def test_another_empty_drive_at_the_mount_point_keeps_every_photo(tmp_path, mounts, reliability):
    case = reliability("Another, empty drive mounted where the library folder's drive was")
    stash, drive, lib, snap = _indexed_drive(tmp_path, mounts, seed=75)

    mounts.umount(drive)
    mounts.tmpfs(drive)  # a different file system (new device id), empty
    out = _rescan_while_away(lib, case, [drive], drive, snap, "with another drive mounted")
    assert _says_missing(out.stderr, drive), f"no word about the missing folder:\n{out.stderr}"
    mounts.umount(drive)
    _plug_back(mounts, lib, case, [drive], stash, drive, snap, 40)


def test_unplugged_subfolder_mount_keeps_its_photos(tmp_path, mounts, reliability):
    case = reliability("Subfolder of a library folder on its own drive, unplugged")
    pictures = tmp_path / "pictures"
    write_library(pictures, 30, seed=76, min_side=64, max_side=96)
    stash = tmp_path / "stash"
    write_library(stash, 20, seed=77, min_side=64, max_side=96)
    card = pictures / "card"
    mounts.tmpfs(card)
    copy_photos(stash, card)
    lib = tmp_path / "lib"
    index(lib, str(pictures))
    snap = read_library(lib / "library.db")
    assert len(snap.indexed) == 50

    mounts.umount(card)
    _rescan_while_away(lib, case, [pictures], card, snap, "with the subfolder's drive unplugged")
    _plug_back(mounts, lib, case, [pictures], stash, card, snap, 50)

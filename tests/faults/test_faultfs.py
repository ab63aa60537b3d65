"""Folders that can't be listed, files that fail to read, files that vanish and appear: real
kernel errors from faultfs (tools/faultfs.py), a FUSE mirror of a real photo folder.

The library is indexed through the mirror once per module; each test gets a fresh copy of
the photos and of that library, mounted at the same place."""

from __future__ import annotations

import os
import shutil

import pytest

from tools.shapes import write_library

from .invariants import read_library, tree_state
from .system import Mounts, copy_photos, index, problems, report_counts

PHOTOS = 60


@pytest.fixture(scope="module")
def indexed_mirror(tmp_path_factory):
    """(pristine photos, pristine library, mount point): the photos indexed through faultfs."""
    base = tmp_path_factory.mktemp("faultfs")
    source = base / "source"
    write_library(source, PHOTOS, seed=78, min_side=64, max_side=96)
    mnt = base / "mnt"
    lib = base / "lib"
    mounts = Mounts()
    try:
        mounts.start_faultfs(source, mnt)
        index(lib, str(mnt))
    finally:
        mounts.cleanup()
    return source, lib, mnt


class Mirror:
    def __init__(self, mounts, indexed_mirror, tmp_path) -> None:
        pristine_source, pristine_lib, self.mnt = indexed_mirror
        self.source = tmp_path / "source"
        copy_photos(pristine_source, self.source)
        self.lib = tmp_path / "lib"
        shutil.copytree(pristine_lib, self.lib)
        self.db = self.lib / "library.db"
        self.fs = mounts.start_faultfs(self.source, self.mnt)
        self.snap = read_library(self.db)
        assert len(self.snap.indexed) == PHOTOS

    def photo(self, rel: str) -> str:
        return str(self.mnt / rel)

    def rel_photos(self, folder: str = "") -> list[str]:
        return sorted(
            os.path.relpath(p, self.mnt)
            for p in self.snap.by_path()
            if os.path.relpath(p, self.mnt).startswith(folder)
        )

    def touch(self, rel: str, seconds: int = 10) -> None:
        """Give a photo a new modification time (a "changed" file), as an editor would."""
        st = os.stat(self.source / rel)
        os.utime(self.source / rel, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 10**9))

    def add(self, rel: str, seed: int) -> None:
        """A new photo appears in the folder."""
        tmp = self.source.parent / f"new-{seed}"
        (written,) = write_library(tmp, 1, seed=seed, min_side=64, max_side=96)
        (self.source / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(written[0], self.source / rel)


@pytest.fixture
def mirror(mounts, indexed_mirror, tmp_path) -> Mirror:
    return Mirror(mounts, indexed_mirror, tmp_path)


@pytest.mark.parametrize(
    ("folder", "error"),
    [("2023/garden", "EIO"), ("2024/misc", "EACCES"), ("", "EIO")],
    ids=["subfolder-EIO", "subfolder-EACCES", "library-folder-EIO"],
)
def test_a_folder_that_cannot_be_listed_keeps_its_photos(mirror, reliability, folder, error):
    where = "A subfolder" if folder else "The library folder itself"
    case = reliability(f"{where} can't be listed (readdir {error}, faultfs)")
    inside = mirror.rel_photos(folder)
    assert inside, f"no photos under {folder!r} to lose"
    tree = tree_state(mirror.mnt)
    mirror.fs.set(readdir={folder: error})
    out = index(mirror.lib, ok=False)
    case.injected += len(mirror.fs.injected())
    assert case.injected, "faultfs returned no error: the fault wasn't injected"
    unlistable = mirror.mnt / folder
    verdict = case.check(mirror.db, [mirror.mnt], before=mirror.snap, unreachable=[unlistable])
    assert "Traceback" not in out.stderr, out.stderr
    assert report_counts(out.stdout)["removed"] == 0, out.stdout
    verdict.assert_ok(f"with {folder or 'the library folder'} failing to list")
    listed = problems(mirror.lib)
    assert any(p.rstrip("/") == str(unlistable).rstrip("/") for p in listed), (
        f"the folder that couldn't be listed isn't in `photoclip problems`: {listed}"
    )
    mirror.fs.set()
    out = index(mirror.lib)
    counts = report_counts(out.stdout)
    assert (counts["indexed"], counts["removed"]) == (0, 0), out.stdout
    case.check(mirror.db, [mirror.mnt], before=mirror.snap, tree=tree, complete=True).assert_ok(
        "once the folder lists again"
    )
    assert str(unlistable) not in problems(mirror.lib)


def test_files_that_fail_to_read_keep_their_rows_and_are_retried(mirror, reliability):
    case = reliability("Reading a photo fails transiently (EIO on open or read, faultfs)")
    changed_read, changed_open = mirror.rel_photos("inbox")[:2]
    new_read, new_open = "inbox/new-read.jpg", "inbox/new-open.jpg"
    mirror.touch(changed_read)
    mirror.touch(changed_open)
    mirror.add(new_read, seed=80)
    mirror.add(new_open, seed=81)
    failing = [changed_read, changed_open, new_read, new_open]
    tree = tree_state(mirror.mnt)
    mirror.fs.set(
        read={changed_read: "EIO", new_read: "EIO"},
        open={changed_open: "EIO", new_open: "EIO"},
    )
    out = index(mirror.lib, ok=False)
    case.injected += len(mirror.fs.injected())
    assert case.injected, "faultfs returned no error: the fault wasn't injected"
    assert "Traceback" not in out.stderr, out.stderr
    # Nothing destroyed: the changed photos keep their rows, vectors and thumbnails.
    case.check(mirror.db, [mirror.mnt], before=mirror.snap).assert_ok("while reads fail")
    listed = problems(mirror.lib)
    for rel in failing:
        reason = listed.get(mirror.photo(rel))
        assert reason and reason.endswith(".") and len(reason) > 15, (
            f"{rel} failed to read but `photoclip problems` gives no reason: {listed}"
        )
    # Readable again: the next plain run indexes all four, keeping the photos' ids.
    mirror.fs.set()
    out = index(mirror.lib)
    assert report_counts(out.stdout)["indexed"] == 4, out.stdout
    ids = {rel: mirror.snap.by_path()[mirror.photo(rel)].id for rel in failing[:2]}
    unchanged = mirror.snap.only(i for i in mirror.snap.photos if i not in ids.values())
    verdict = case.check(mirror.db, [mirror.mnt], before=unchanged, tree=tree, complete=True)
    verdict.assert_ok("once the files read again")
    now = verdict.library.by_path()
    for rel, pid in ids.items():
        assert now[mirror.photo(rel)].id == pid, f"{rel} got a new photo id"
    assert not set(map(mirror.photo, failing)) & set(problems(mirror.lib))


def test_files_vanishing_and_appearing_during_a_scan(mirror, reliability):
    case = reliability("Photos vanish and appear during a scan (faultfs)")
    unlisted, vanished, gone = mirror.rel_photos("2023/holiday")[:3]
    appears = "2023/holiday/new-appears.jpg"
    mirror.add(appears, seed=82)
    mirror.touch(vanished)
    tree = tree_state(mirror.mnt)
    mirror.fs.set(
        unlisted=[unlisted],  # missing from the listing, yet there when asked for
        open={vanished: "ENOENT"},  # listed and stat-able, gone when opened
        hidden=[gone, appears],  # gone for this scan (not listed, ENOENT)
    )
    out = index(mirror.lib, ok=False)
    case.injected += 3 + 1
    assert "Traceback" not in out.stderr, out.stderr
    gone_id = mirror.snap.by_path()[mirror.photo(gone)].id
    # The disk said `gone` is gone: it may be forgotten. Everything else must stay.
    keep = mirror.snap.only(i for i in mirror.snap.photos if i != gone_id)
    case.check(mirror.db, [mirror.mnt], before=keep).assert_ok("while files vanish")
    assert mirror.photo(vanished) in problems(mirror.lib)

    mirror.fs.set()  # everything is back, and the new photo appears
    out = index(mirror.lib)
    verdict = case.check(mirror.db, [mirror.mnt], before=keep.only(
        i for i in keep.photos if keep.photos[i].path != mirror.photo(vanished)
    ), tree=tree, complete=True)  # fmt: skip
    verdict.assert_ok("once every file is back")
    now = verdict.library.by_path()
    for rel in (unlisted, vanished):
        assert now[mirror.photo(rel)].id == mirror.snap.by_path()[mirror.photo(rel)].id, rel

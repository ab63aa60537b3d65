"""Export on real files: copies, never moves or overwrites, names taken become "x (2).jpg",
the library's folders or the dates can be kept, and problems are reported in words."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from PIL import Image

from photoclip.export import (
    BY_DATE,
    FOLDERS,
    ExportError,
    ExportItem,
    export,
    items_for,
)
from tests.unit.test_store import add_photos


def photo(path: Path, colour: str = "red", size: int = 40) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), colour).save(path)
    return path


@pytest.fixture
def originals(tmp_path) -> Path:
    root = tmp_path / "Pictures"
    photo(root / "a.jpg", "red")
    photo(root / "2024" / "b.jpg", "green")
    photo(root / "2023" / "b.jpg", "blue")  # same name as the other b.jpg
    return root


def test_export_copies_and_never_moves_and_renames_taken_names(tmp_path, originals):
    before = {p: p.read_bytes() for p in originals.rglob("*.jpg")}
    out = tmp_path / "out" / "new"  # made as needed
    items = [ExportItem(str(p)) for p in sorted(before)]
    progress: list[tuple[int, int, str]] = []
    report = export(items, str(out), on_progress=lambda *a: progress.append(a))
    assert {p: p.read_bytes() for p in originals.rglob("*.jpg")} == before  # untouched
    assert sorted(os.listdir(out)) == ["a.jpg", "b (2).jpg", "b.jpg"]
    assert len(report.copied) == 3 and report.renamed == 1 and not report.problems
    copies = {Path(p).read_bytes() for p in report.copied}
    assert copies == set(before.values())
    assert progress[0] == (0, 3, os.path.basename(items[0].path)) and progress[-1] == (3, 3, "")
    assert os.stat(out / "a.jpg").st_mtime_ns == os.stat(originals / "a.jpg").st_mtime_ns

    # Again: the same files are recognised as already there; a different one is never
    # written over.
    (originals / "a.jpg").unlink()
    photo(originals / "a.jpg", "yellow")
    again = export(items, str(out))
    assert again.already_there == 2 and [os.path.basename(p) for p in again.copied] == ["a (2).jpg"]
    assert "Copied 1 photo to" in again.summary() and "2 already there" in again.summary()
    assert Image.open(out / "a.jpg").getpixel((5, 5))[0] > 200  # still the red one


def test_export_keeps_the_library_folders_or_sorts_by_date(tmp_path, originals):
    items = [
        ExportItem(str(originals / "2024" / "b.jpg"), str(originals), "2024-06-01T10:00:00"),
        ExportItem(str(originals / "2023" / "b.jpg"), str(originals), "2023-01-09T10:00:00"),
        ExportItem(str(originals / "a.jpg"), str(originals), None),
    ]
    by_folder = export(items, str(tmp_path / "kept"), structure=FOLDERS)
    assert sorted(os.path.relpath(p, tmp_path / "kept") for p in by_folder.copied) == [
        "Pictures/2023/b.jpg", "Pictures/2024/b.jpg", "Pictures/a.jpg",
    ]  # fmt: skip
    by_date = export(items, str(tmp_path / "dated"), structure=BY_DATE)
    assert sorted(os.path.relpath(p, tmp_path / "dated") for p in by_date.copied) == [
        "2023/2023-01/b.jpg", "2024/2024-06/b.jpg", "Undated/a.jpg",
    ]  # fmt: skip


def test_export_reports_missing_files_and_carries_on(tmp_path, originals):
    gone = str(originals / "gone.jpg")
    items = [ExportItem(gone), ExportItem(str(originals / "a.jpg"))]
    report = export(items, str(tmp_path / "out"))
    assert [os.path.basename(p) for p in report.copied] == ["a.jpg"]
    (problem,) = report.problems
    assert problem.path == gone
    assert problem.reason == f"gone.jpg is no longer at {originals}: it was skipped."
    assert "1 couldn't be copied" in report.summary()


def test_export_refuses_a_destination_it_cannot_use(tmp_path, originals):
    a_file = photo(tmp_path / "not-a-folder.jpg")
    with pytest.raises(ExportError, match="is a file, not a folder"):
        export([ExportItem(str(originals / "a.jpg"))], str(a_file))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: permissions aren't enforced")
        with pytest.raises(ExportError, match="isn't allowed to write"):
            export([ExportItem(str(originals / "a.jpg"))], str(locked))
    finally:
        locked.chmod(0o700)


def test_export_stops_when_asked_and_leaves_no_partial_file(tmp_path, originals):
    stop = threading.Event()
    items = [ExportItem(str(p)) for p in sorted(originals.rglob("*.jpg"))]

    def progress(done: int, total: int, name: str) -> None:
        if done == 1:
            stop.set()

    report = export(items, str(tmp_path / "out"), on_progress=progress, stop=stop)
    assert report.cancelled and len(report.copied) == 2  # the second was under way
    assert "Stopped before the last 1." in report.summary()
    assert sorted(os.listdir(tmp_path / "out")) == sorted(
        os.path.basename(p) for p in report.copied
    )


def test_items_for_takes_folders_and_dates_from_the_library(library, originals):
    folder = library.add_folder(str(originals))
    (pid,) = add_photos(library, folder, [originals / "2024" / "b.jpg"], taken_at="2024-06-01")
    assert items_for(library, [pid]) == [
        ExportItem(str(originals / "2024" / "b.jpg"), str(originals), "2024-06-01")
    ]

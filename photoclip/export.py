"""Copies photos' original files to a folder the user picks: never moves, never overwrites (a
name already taken becomes "IMG_1 (2).jpg"), optionally keeping the library's folders or
sorting by date. Reports through a progress callback and stops on a threading.Event."""

from __future__ import annotations

import contextlib
import errno
import filecmp
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import PhotoclipError

if TYPE_CHECKING:
    from .store import Store

# How the copies are laid out in the destination.
FLAT = "flat"  # all in the chosen folder
FOLDERS = "folders"  # each under its path relative to its library folder ("Pictures/2024/x.jpg")
BY_DATE = "date"  # by the date taken: "2024/2024-06/x.jpg" ("Undated/x.jpg" without one)
STRUCTURES = (FLAT, FOLDERS, BY_DATE)
UNDATED = "Undated"
_CHUNK = 1 << 20


class ExportError(PhotoclipError):
    """The destination can't be used at all (not a folder, not writable)."""


@dataclass(frozen=True)
class ExportItem:
    path: str  # the original file
    library_folder: str | None = None  # the library folder it was found in
    taken_at: str | None = None  # "YYYY-MM-DDTHH:MM:SS"


@dataclass(frozen=True)
class ExportProblem:
    path: str
    reason: str  # a sentence for the user


@dataclass
class ExportReport:
    destination: str
    total: int
    copied: list[str] = field(default_factory=list)  # the new files
    already_there: int = 0  # the same file was in the destination already: not copied again
    renamed: int = 0  # copied under another name, the first one being taken
    problems: list[ExportProblem] = field(default_factory=list)
    cancelled: bool = False

    def summary(self) -> str:
        n = len(self.copied)
        parts = [f"Copied {n} photo{'s' if n != 1 else ''} to {self.destination}"]
        if self.renamed:
            parts.append(f"{self.renamed} under a new name (the name was taken)")
        if self.already_there:
            parts.append(f"{self.already_there} already there")
        if self.problems:
            k = len(self.problems)
            parts.append(f"{k} couldn't be copied")
        text = "; ".join(parts) + "."
        if self.cancelled:
            text += f" Stopped before the last {self.total - self.done}."
        return text

    @property
    def done(self) -> int:
        return len(self.copied) + self.already_there + len(self.problems)


def items_for(store: Store, photo_ids: Sequence[int]) -> list[ExportItem]:
    """What ``export`` needs to know of each photo (in the order given)."""
    roots = {f.id: f.path for f in store.folders()}
    return [
        ExportItem(r["path"], roots.get(r["folder_id"]), r["taken_at"])
        for r in store.photos_by_id(photo_ids)
    ]


def export(
    items: Iterable[ExportItem],
    destination: str,
    *,
    structure: str = FLAT,
    on_progress: Callable[[int, int, str], None] | None = None,
    stop: threading.Event | None = None,
) -> ExportReport:
    """Copy each item's file into ``destination`` (made if needed). ``on_progress(done, total,
    name)`` is called before each file. Problems with single files are in the report; a
    destination that can't be used raises ExportError."""
    if structure not in STRUCTURES:
        raise ValueError(f"unknown export structure {structure!r}")
    todo = list(items)
    destination = os.path.abspath(os.path.expanduser(destination))
    _prepare(destination)
    report = ExportReport(destination, len(todo))
    for i, item in enumerate(todo):
        if stop is not None and stop.is_set():
            report.cancelled = True
            break
        name = os.path.basename(item.path)
        if on_progress is not None:
            on_progress(i, len(todo), name)
        folder = os.path.join(destination, _subfolder(item, structure))
        try:
            outcome, target = _copy_one(item.path, folder)
        except OSError as exc:
            report.problems.append(ExportProblem(item.path, _describe(exc, item.path, folder)))
            continue
        if outcome == "same":
            report.already_there += 1
        else:
            report.copied.append(target)
            report.renamed += outcome == "renamed"
    if on_progress is not None and not report.cancelled:
        on_progress(len(todo), len(todo), "")
    return report


def _prepare(destination: str) -> None:
    if os.path.exists(destination) and not os.path.isdir(destination):
        raise ExportError(f"{destination} is a file, not a folder. Choose a folder to copy to.")
    try:
        os.makedirs(destination, exist_ok=True)
    except OSError as exc:
        raise ExportError(
            f"Couldn't make the folder {destination}: {exc.strerror or exc}. Choose another folder."
        ) from exc
    if not os.access(destination, os.W_OK | os.X_OK):
        raise ExportError(
            f"photoclip isn't allowed to write in {destination}. Choose another folder."
        )


def _subfolder(item: ExportItem, structure: str) -> str:
    if structure == BY_DATE:
        day = (item.taken_at or "")[:10]
        if len(day) == 10 and day[4] == "-":
            return os.path.join(day[:4], day[:7])
        return UNDATED
    if structure == FOLDERS and item.library_folder:
        parent = os.path.dirname(item.path)
        root = item.library_folder.rstrip(os.sep)
        if parent == root or parent.startswith(root + os.sep):
            # the library folder's own name first, so two folders' "2024" don't merge
            return os.path.join(os.path.basename(root), os.path.relpath(parent, root))
    return ""


def _copy_one(source: str, folder: str) -> tuple[str, str]:
    """("copied" | "renamed" | "same", target). Creates the target exclusively, so a file
    that is there (or appears meanwhile) is never overwritten."""
    os.makedirs(folder, exist_ok=True)
    stem, ext = os.path.splitext(os.path.basename(source))
    n = 1
    with open(source, "rb") as src:
        size = os.fstat(src.fileno()).st_size
        while True:
            name = f"{stem}{ext}" if n == 1 else f"{stem} ({n}){ext}"
            target = os.path.join(folder, name)
            if os.path.exists(target) and _same_file(source, target, size):
                return "same", target
            try:
                dst = open(target, "xb")  # noqa: SIM115 - closed below, removed on failure
            except FileExistsError:
                n += 1
                continue
            try:
                with dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
                shutil.copystat(source, target)
            except BaseException:
                _remove_partial(target)
                raise
            return ("copied" if n == 1 else "renamed"), target


def _same_file(source: str, target: str, size: int) -> bool:
    try:
        if os.path.samefile(source, target):
            return True
        return os.path.getsize(target) == size and filecmp.cmp(source, target, shallow=False)
    except OSError:
        return False


def _remove_partial(target: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(target)


def _describe(exc: OSError, source: str, folder: str) -> str:
    name = os.path.basename(source)
    if isinstance(exc, FileNotFoundError) and not os.path.exists(source):
        return f"{name} is no longer at {os.path.dirname(source)}: it was skipped."
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"The disk is full: {name} wasn't copied. Free some space and export again."
    if isinstance(exc, PermissionError):
        if not os.access(source, os.R_OK):
            return f"photoclip isn't allowed to read {name}: it was skipped."
        return f"photoclip isn't allowed to write in {folder}: {name} wasn't copied."
    return f"Couldn't copy {name}: {exc.strerror or exc}."

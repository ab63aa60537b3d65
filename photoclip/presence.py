"""What a scan may conclude about the photos it didn't find: forget one only when the disk
positively says it is gone. A library folder that can't be read, an empty mount point, a
drive swapped for another, a mount point no longer mounted, a folder that failed to list and
a link that leads nowhere all keep their photos (issue #7)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from .scanner import ScanOutcome, is_inside
from .store import FolderState, KnownFile


@dataclass
class Verdict:
    missing: str | None = None  # why the whole folder counts as missing, if it does
    gone: dict[str, KnownFile] = field(default_factory=dict)  # path -> row: really gone
    kept: int = 0  # photos not found, kept because the scan couldn't look
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) to show
    state: FolderState | None = None  # what to remember of this scan (None: nothing new)


def judge(
    root: str,
    outcome: ScanOutcome,
    previous: FolderState,
    known: dict[str, KnownFile],
    not_seen: dict[str, KnownFile],
    listed: Callable[[str], bool] = lambda real: False,
) -> Verdict:
    """The verdict on ``not_seen``, the library's photos of ``root`` the walk didn't list.
    ``listed(path)``: whether the library lists a photo at ``path`` now (this scan saw it,
    or it has a row)."""
    missing = missing_reason(root, outcome, previous, known, not_seen)
    if missing is not None:
        return Verdict(missing, kept=len(not_seen), problems=[(root, missing)])
    verdict = Verdict()
    unmounted = {
        p: dev for p, dev in previous.mount_points.items()
        if p not in outcome.mount_points
        and any(path == p or is_inside(path, p) for path in not_seen)
    }  # fmt: skip
    verdict.problems.extend((mount, UNMOUNTED_REASON) for mount in unmounted)
    blind = [*outcome.failed_dirs, *unmounted]
    for link in outcome.broken_links:
        if any(is_inside(path, link) for path in not_seen):
            blind.append(link)
            verdict.problems.append((link, BROKEN_LINK_REASON))
    for path, row in not_seen.items():
        if any(is_inside(path, d) for d in blind):
            verdict.kept += 1
        elif gone_from_disk(path) or listed_under_real_name(path, listed):
            verdict.gone[path] = row  # re-linked to where it is now if it moved
        else:
            verdict.kept += 1
    # Mount points not mounted now are remembered while photos below them wait for them.
    verdict.state = FolderState(outcome.root_device, {**unmounted, **outcome.mount_points})
    return verdict


BROKEN_LINK_REASON = (
    "This link leads to a place that can't be found (a drive that isn't connected?). The "
    "photos photoclip found through it stay in the library until it is back."
)
UNMOUNTED_REASON = (
    "This folder is a separate drive that isn't connected (or isn't mounted). Its photos "
    "stay in the library until it is back."
)


def missing_reason(
    root: str,
    outcome: ScanOutcome,
    previous: FolderState,
    known: dict[str, KnownFile],
    not_seen: dict[str, KnownFile],
) -> str | None:
    """Why a library folder counts as missing rather than emptied, or None. Missing: it can't
    be read at all; or it lists nothing at all although the library holds photos from it (an
    empty mount point); or it now stands on another device and none of its photos are there."""
    if outcome.root_device is None:
        if os.path.lexists(root):
            return (
                "The folder can't be read right now. Its photos stay in the library; "
                "photoclip will look again on the next scan."
            )
        return (
            "The folder can't be found (moved, or on a drive that isn't connected). Its "
            "photos stay in the library until it is back."
        )
    if not known:
        return None
    if outcome.root_entries == 0:
        return (
            "The folder is empty, as an unplugged drive's mount point is. Its photos stay in "
            "the library until they are back; to forget them, remove the folder."
        )
    moved_device = previous.device is not None and previous.device != outcome.root_device
    if moved_device and len(not_seen) == len(known):
        return (
            "The folder is now on another drive, and none of its photos are there. They stay "
            "in the library until the drive that holds them is back."
        )
    return None


def gone_from_disk(path: str) -> bool:
    """True only when the disk positively says nothing is at ``path`` any more."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False  # an I/O or permission error says nothing about the photo
    return False  # it is there: the scan just didn't list it (a link, a filter): keep it


def listed_under_real_name(path: str, listed: Callable[[str], bool]) -> bool:
    """A photo reached through a link that the scan now lists under its real name (an older
    photoclip followed links into library folders): this name is a second one for it."""
    real = os.path.realpath(path)
    return real != os.path.abspath(path) and listed(real)

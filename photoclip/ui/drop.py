"""What a drop onto the window means: folders to add (a photo's folder for a photo), or a
sentence saying why nothing can be added."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QDropEvent

from ..scanner import is_photo_name


@dataclass
class DropPlan:
    folders: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # one sentence per unusable item

    @property
    def message(self) -> str:
        """Why (part of) the drop was not used, or ""."""
        if not self.rejected:
            return ""
        if len(self.rejected) == 1:
            return self.rejected[0]
        return f"{self.rejected[0]} (and {len(self.rejected) - 1} more items were skipped)"


def local_paths(urls: Iterable[QUrl]) -> tuple[list[str], list[str]]:
    """(local file paths, display strings of the URLs that aren't local files)."""
    paths: list[str] = []
    others: list[str] = []
    for url in urls:
        if url.isLocalFile() and url.toLocalFile():
            paths.append(os.path.abspath(url.toLocalFile()))
        else:
            others.append(url.toDisplayString())
    return paths, others


def plan_drop(mime: QMimeData) -> DropPlan:
    plan = DropPlan()
    if not mime.hasUrls():
        plan.rejected.append(
            "Only folders and photo files can be dropped here. Drop a folder of photos to add it."
        )
        return plan
    paths, others = local_paths(mime.urls())
    for url in others:
        plan.rejected.append(
            f"{url} isn't a file on this computer. Save the photos to a folder, then drop the "
            "folder here."
        )
    for path in paths:
        if os.path.isdir(path):
            folder = path
        elif os.path.isfile(path) and is_photo_name(path):
            folder = os.path.dirname(path)
        elif os.path.exists(path):
            plan.rejected.append(
                f"{os.path.basename(path)} isn't a photo or a folder, so it wasn't added."
            )
            continue
        else:
            plan.rejected.append(f"{path} can't be found.")
            continue
        if folder not in plan.folders:
            plan.folders.append(folder)
    return plan


def accept_copy_or_link(event: QDropEvent) -> bool:
    """Accept a drag as a copy (or, failing that, a link), never as a move: photoclip only
    reads what is dropped, and a "move" tells the file manager it may delete the original.
    False (and the event ignored) when the source offers neither."""
    offered = event.possibleActions()
    for action in (Qt.DropAction.CopyAction, Qt.DropAction.LinkAction):
        if offered & action:
            event.setDropAction(action)
            event.accept()
            return True
    event.ignore()
    return False


def single_image_path(mime: QMimeData) -> str | None:
    """The image file path when the drop is exactly one local photo file."""
    if not mime.hasUrls():
        return None
    paths, others = local_paths(mime.urls())
    if len(paths) == 1 and not others and os.path.isfile(paths[0]) and is_photo_name(paths[0]):
        return paths[0]
    return None

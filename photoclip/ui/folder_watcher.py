"""Notices new and changed photos in library folders while the app runs: watches the folders
and their subfolders (up to a cap), waits for changes to settle, then asks for that folder
to be indexed again."""

from __future__ import annotations

import os
from collections.abc import Iterable

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from ..scanner import SKIPPED_FOLDER_NAMES
from .tasks import run_task

SETTLE_MS = 2000
MAX_WATCHED_DIRS = 4000  # inotify watches are a shared, limited resource


def list_dirs(roots: list[str], limit: int, exclude: str) -> list[str]:
    """Folders to watch below ``roots``, breadth first (the top levels matter most), skipping
    what the scanner skips and ``exclude`` (the library's own folder: its database changes
    on every batch and must not trigger indexing)."""
    out: list[str] = []
    queue = list(roots)
    while queue and len(out) < limit:
        folder = queue.pop(0)
        if os.path.abspath(folder) == exclude:
            continue
        out.append(folder)
        try:
            with os.scandir(folder) as it:
                subs = sorted(
                    e.path
                    for e in it
                    if not e.name.startswith(".")
                    and e.name not in SKIPPED_FOLDER_NAMES
                    and e.is_dir(follow_symlinks=False)
                )
        except OSError:
            continue
        queue.extend(subs)
    return out


class FolderWatcher(QObject):
    folderChanged = Signal(str)  # a library folder with new, changed or deleted files

    def __init__(self, exclude_dir: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.exclude = os.path.abspath(exclude_dir)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._on_changed)
        self._roots: list[str] = []
        self._timers: dict[str, QTimer] = {}
        self.enabled = True

    def set_roots(self, roots: Iterable[str]) -> None:
        """Watch these library folders (and below) instead of the previous ones."""
        roots = sorted(set(roots))
        if roots == self._roots:
            return
        self._roots = roots
        run_task(list_dirs, roots, MAX_WATCHED_DIRS, self.exclude, on_done=self._watch)

    def watched(self) -> list[str]:
        return self._watcher.directories()

    def _watch(self, dirs: list[str]) -> None:
        current = set(self._watcher.directories())
        wanted = set(dirs)
        gone = sorted(current - wanted)
        if gone:
            self._watcher.removePaths(gone)
        new = sorted(wanted - current)
        if new:
            self._watcher.addPaths(new)

    def _root_of(self, path: str) -> str | None:
        best = None
        for root in self._roots:
            if (path == root or path.startswith(root.rstrip(os.sep) + os.sep)) and (
                best is None or len(root) > len(best)
            ):
                best = root
        return best

    def _on_changed(self, path: str) -> None:
        root = self._root_of(path)
        if root is None or not self.enabled:
            return
        timer = self._timers.get(root)
        if timer is None:
            timer = QTimer(self)
            timer.setSingleShot(True)
            timer.setInterval(SETTLE_MS)
            timer.timeout.connect(lambda r=root: self._settled(r))
            self._timers[root] = timer
        timer.start()  # restart: wait until the copying is over

    def _settled(self, root: str) -> None:
        if root not in self._roots:
            return
        self.folderChanged.emit(root)
        # New subfolders need watching too (removed ones drop out of the watcher by themselves).
        run_task(list_dirs, self._roots, MAX_WATCHED_DIRS, self.exclude, on_done=self._watch)

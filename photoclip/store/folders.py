"""Library folders: what they are, what covers what, and what each last scan stood on."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import FolderError
from ..scanner import is_inside, path_key
from .base import StoreBase


@dataclass(frozen=True)
class Folder:
    id: int
    path: str
    photo_count: int
    problem_count: int
    missing: bool = False  # the last scan found it unplugged, empty or unreadable


@dataclass(frozen=True)
class FolderState:
    """What the last complete scan of a library folder stood on."""

    device: int | None
    mount_points: dict[str, int]  # folder below the root -> st_dev when last seen mounted


class FoldersMixin(StoreBase):
    def folders(self) -> list[Folder]:
        rows = self.conn.execute(
            """
            SELECT f.id, f.path,
                   (SELECT COUNT(*) FROM photos p WHERE p.folder_id = f.id
                                                    AND p.status = 'indexed'),
                   (SELECT COUNT(*) FROM photos p WHERE p.folder_id = f.id
                                                    AND p.status = 'error')
                 + (SELECT COUNT(*) FROM scan_problems s WHERE s.folder_id = f.id),
                   -- A problem recorded on the folder itself: the scan found it missing.
                   EXISTS (SELECT 1 FROM scan_problems s WHERE s.path = f.path)
            FROM folders f ORDER BY f.path
            """
        ).fetchall()
        return [Folder(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    def indexed_in_folder(self, folder_id: int) -> int:
        """How many photos of one library folder are indexed, now."""
        row = self.conn.execute(
            "SELECT COUNT(*) FROM photos WHERE folder_id = ? AND status = 'indexed'",
            (folder_id,),
        ).fetchone()
        return int(row[0])

    def add_folder(self, path: str, *, must_exist: bool = True) -> int:
        """Add a library folder. A folder inside one already in the library is covered by it;
        a folder that contains library folders absorbs them (their photos are kept). One
        place is one folder however it is spelt: through a link, or in another case where
        the file system ignores case. Raises ``FolderError`` for a path that isn't a folder."""
        path = os.path.abspath(path)
        if must_exist and not os.path.isdir(path):
            raise FolderError(f"{path} isn't a folder. Give photoclip folders to index.")
        with self.transaction() as conn:
            existing = conn.execute("SELECT id, path FROM folders").fetchall()
            covering = _covering_folder(path, existing)
            if covering is not None:
                return covering
            cur = conn.execute(
                "INSERT INTO folders (path, added_at) VALUES (?, ?)", (path, time.time())
            )
            new_id = int(cur.lastrowid or 0)
            for fid, fpath in existing:
                if _covering_folder(fpath, [(new_id, path)]) == new_id:
                    for table in ("photos", "scan_problems", "mount_points"):
                        conn.execute(
                            f"UPDATE {table} SET folder_id = ? WHERE folder_id = ?", (new_id, fid)
                        )
                    conn.execute("DELETE FROM folders WHERE id = ?", (fid,))
            return new_id

    def folder_id_for(self, path: str) -> int | None:
        """The library folder that is or holds ``path``, or None."""
        return _covering_folder(path, self.conn.execute("SELECT id, path FROM folders"))

    def live_folder_id(self, conn: sqlite3.Connection, folder_id: int, path: str) -> int | None:
        """The library folder that holds ``path`` now (in a caller's transaction): the one
        given, or the folder that absorbed it since; None once the folder was removed."""
        if conn.execute("SELECT 1 FROM folders WHERE id = ?", (folder_id,)).fetchone():
            return folder_id
        return _covering_folder(path, conn.execute("SELECT id, path FROM folders").fetchall())

    def folder_state(self, folder_id: int) -> FolderState:
        row = self.conn.execute("SELECT device FROM folders WHERE id = ?", (folder_id,)).fetchone()
        mounts = self.conn.execute(
            "SELECT path, device FROM mount_points WHERE folder_id = ?", (folder_id,)
        ).fetchall()
        return FolderState(row[0] if row else None, dict(mounts))

    def save_folder_state(
        self, conn: sqlite3.Connection, folder_id: int, state: FolderState
    ) -> None:
        conn.execute("UPDATE folders SET device = ? WHERE id = ?", (state.device, folder_id))
        conn.execute("DELETE FROM mount_points WHERE folder_id = ?", (folder_id,))
        conn.executemany(
            "INSERT OR REPLACE INTO mount_points (path, folder_id, device) VALUES (?, ?, ?)",
            [(p, folder_id, dev) for p, dev in state.mount_points.items()],
        )

    def remove_folder(self, path_or_id: str | int) -> int:
        """Forget a folder and its photos' index entries. The photos themselves are untouched.
        Returns how many photos were forgotten."""
        with self.transaction() as conn:
            if isinstance(path_or_id, int):
                row = conn.execute("SELECT id FROM folders WHERE id = ?", (path_or_id,)).fetchone()
            else:
                wanted = path_key(path_or_id)
                row = next(
                    (
                        (fid,)
                        for fid, fpath in conn.execute("SELECT id, path FROM folders")
                        if path_key(fpath) == wanted
                    ),
                    None,
                )
            if row is None:
                return 0
            n = conn.execute("SELECT COUNT(*) FROM photos WHERE folder_id = ?", row).fetchone()[0]
            conn.execute("DELETE FROM folders WHERE id = ?", row)
            return int(n)


def _covering_folder(path: str, folders: Iterable[tuple[int, str]]) -> int | None:
    """Which of ``folders`` (id, path) is ``path`` or holds it, comparing places rather than
    spellings: links resolved, case folded where the OS folds it, and where both exist, the
    file system's own identity (a case-insensitive disk on macOS or Linux)."""
    folders = list(folders)
    key = path_key(path)
    for fid, fpath in folders:
        fkey = path_key(fpath)
        if key == fkey or is_inside(key, fkey):
            return int(fid)
    by_identity: dict[tuple[int, int], int] = {}
    for fid, fpath in folders:
        with contextlib.suppress(OSError):
            st = os.stat(fpath)
            by_identity[(st.st_dev, st.st_ino)] = int(fid)
    if not by_identity:
        return None
    place = key
    while True:
        with contextlib.suppress(OSError):
            st = os.stat(place)
            found = by_identity.get((st.st_dev, st.st_ino))
            if found is not None:
                return found
        parent = os.path.dirname(place)
        if parent == place:
            return None
        place = parent


def folder_paths(store: StoreBase) -> list[str]:
    """The library folders' paths, and nothing else (cheaper than ``Store.folders``)."""
    return [r[0] for r in store.conn.execute("SELECT path FROM folders ORDER BY path")]

"""What the user collects: albums (plain, or smart with marked examples) and favourites."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import AlbumError
from .base import StoreBase, _id_chunks

ALBUM_KINDS = ("album", "smart")


@dataclass(frozen=True)
class Album:
    id: int
    name: str
    kind: str  # "album" (photos the user put in) or "smart" (a saved search)
    query: str | None  # a smart album's saved search (JSON, read by its own module)
    photo_count: int  # indexed photos put in it (a smart album's members are computed)
    created_at: float


_ALBUM_SELECT = """
    SELECT a.id, a.name, a.kind, a.query,
           (SELECT COUNT(*) FROM album_photos ap JOIN photos p ON p.id = ap.photo_id
            WHERE ap.album_id = a.id AND p.status = 'indexed'),
           a.created_at
    FROM albums a
"""


class CollectionsMixin(StoreBase):
    # -- albums ----------------------------------------------------------------------------

    def albums(self, kind: str | None = None) -> list[Album]:
        """Albums by name (case-insensitive), optionally only one kind."""
        where, args = ("WHERE a.kind = ?", [kind]) if kind else ("", [])
        rows = self.conn.execute(f"{_ALBUM_SELECT} {where} ORDER BY a.name", args)
        return [Album(*r) for r in rows]

    def album(self, album_id: int) -> Album | None:
        row = self.conn.execute(f"{_ALBUM_SELECT} WHERE a.id = ?", (album_id,)).fetchone()
        return Album(*row) if row else None

    def album_named(self, name: str) -> Album | None:
        row = self.conn.execute(f"{_ALBUM_SELECT} WHERE a.name = ?", (name.strip(),)).fetchone()
        return Album(*row) if row else None

    def create_album(self, name: str, *, kind: str = "album", query: str | None = None) -> int:
        """A new album; raises AlbumError when the name is empty or taken."""
        name = _album_name(name)
        if kind not in ALBUM_KINDS:
            raise ValueError(f"unknown album kind {kind!r}")
        try:
            with self.transaction() as conn:
                cur = conn.execute(
                    "INSERT INTO albums (name, kind, query, created_at) VALUES (?, ?, ?, ?)",
                    (name, kind, query, time.time()),
                )
                return int(cur.lastrowid or 0)
        except Exception as exc:
            if _is_unique_violation(exc):
                raise AlbumError(
                    f"There is already an album called “{name}”. Choose another name."
                ) from exc
            raise

    def rename_album(self, album_id: int, name: str) -> None:
        name = _album_name(name)
        try:
            with self.transaction() as conn:
                cur = conn.execute("UPDATE albums SET name = ? WHERE id = ?", (name, album_id))
                if not cur.rowcount:
                    raise AlbumError("That album no longer exists.")
        except AlbumError:
            raise
        except Exception as exc:
            if _is_unique_violation(exc):
                raise AlbumError(
                    f"There is already an album called “{name}”. Choose another name."
                ) from exc
            raise

    def set_album_query(self, album_id: int, query: str | None) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE albums SET query = ? WHERE id = ?", (query, album_id))

    def delete_album(self, album_id: int) -> None:
        """Forget the album; its photos stay in the library and on disk."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM albums WHERE id = ?", (album_id,))

    def add_to_album(self, album_id: int, photo_ids: Iterable[int]) -> int:
        """Put photos in an album; returns how many weren't in it already."""
        now = time.time()
        added = 0
        with self.transaction() as conn:
            if not conn.execute("SELECT 1 FROM albums WHERE id = ?", (album_id,)).fetchone():
                raise AlbumError("That album no longer exists.")
            for chunk, marks in _id_chunks(photo_ids):
                cur = conn.execute(
                    "INSERT OR IGNORE INTO album_photos (album_id, photo_id, added_at) "
                    f"SELECT ?, id, ? FROM photos WHERE id IN ({marks})",
                    (album_id, now, *chunk),
                )
                added += cur.rowcount
        return added

    def remove_from_album(self, album_id: int, photo_ids: Iterable[int]) -> int:
        """Take photos out of an album (not out of the library); returns how many were in it."""
        removed = 0
        with self.transaction() as conn:
            for chunk, marks in _id_chunks(photo_ids):
                cur = conn.execute(
                    f"DELETE FROM album_photos WHERE album_id = ? AND photo_id IN ({marks})",
                    (album_id, *chunk),
                )
                removed += cur.rowcount
        return removed

    def album_photo_ids(self, album_id: int, *, newest_first: bool = True) -> list[int]:
        """Indexed photos in an album, by date taken."""
        order = "DESC" if newest_first else "ASC"
        rows = self.conn.execute(
            "SELECT p.id FROM album_photos ap JOIN photos p ON p.id = ap.photo_id "
            "WHERE ap.album_id = ? AND p.status = 'indexed' "
            f"ORDER BY p.taken_at {order}, p.path {order}",
            (album_id,),
        )
        return [r[0] for r in rows]

    def albums_of_photo(self, photo_id: int) -> list[Album]:
        rows = self.conn.execute(
            f"{_ALBUM_SELECT} JOIN album_photos m ON m.album_id = a.id "
            "WHERE m.photo_id = ? ORDER BY a.name",
            (photo_id,),
        )
        return [Album(*r) for r in rows]

    # -- photos named by path (the CLI) --------------------------------------------------

    def photo_ids_at(self, paths: Iterable[str]) -> tuple[list[int], list[str]]:
        """Indexed photos named by ``paths`` (a photo file, or a folder: every indexed photo
        under it), in the order given; and the paths that name none."""
        ids: dict[int, None] = {}
        unknown: list[str] = []
        for path in paths:
            found: list[int] = []
            if os.path.isdir(path):
                for spelling in dict.fromkeys((os.path.abspath(path), os.path.realpath(path))):
                    prefix = spelling.rstrip(os.sep) + os.sep
                    rows = self.conn.execute(
                        "SELECT id FROM photos WHERE status = 'indexed' AND path >= ? "
                        "AND path < ? ORDER BY taken_at DESC, path DESC",
                        (prefix, prefix[:-1] + chr(ord(os.sep) + 1)),
                    )
                    found += [r[0] for r in rows]
            else:
                for spelling in dict.fromkeys((os.path.abspath(path), os.path.realpath(path))):
                    row = self.conn.execute(
                        "SELECT id FROM photos WHERE path = ? AND status = 'indexed'", (spelling,)
                    ).fetchone()
                    if row:
                        found.append(int(row[0]))
                        break
            if found:
                ids.update(dict.fromkeys(found))
            else:
                unknown.append(path)
        return list(ids), unknown

    # -- a smart album's examples ------------------------------------------------------------

    def set_example(self, album_id: int, photo_id: int, label: int | None) -> None:
        """Mark a photo as belonging (+1) or not (-1) to a smart album; None unmarks it."""
        with self.transaction() as conn:
            if label is None:
                conn.execute(
                    "DELETE FROM album_examples WHERE album_id = ? AND photo_id = ?",
                    (album_id, photo_id),
                )
                return
            if label not in (-1, 1):
                raise ValueError("an example is +1 (belongs) or -1 (doesn't)")
            conn.execute(
                "INSERT OR REPLACE INTO album_examples (album_id, photo_id, label, added_at) "
                "VALUES (?, ?, ?, ?)",
                (album_id, photo_id, label, time.time()),
            )

    def examples(self, album_id: int) -> dict[int, int]:
        """photo id -> +1 / -1 for a smart album's marked examples."""
        rows = self.conn.execute(
            "SELECT photo_id, label FROM album_examples WHERE album_id = ?", (album_id,)
        )
        return {int(p): int(label) for p, label in rows}

    # -- favourites --------------------------------------------------------------------------

    def favourite_ids(self) -> set[int]:
        rows = self.conn.execute(
            "SELECT f.photo_id FROM favourites f JOIN photos p ON p.id = f.photo_id "
            "WHERE p.status = 'indexed'"
        )
        return {r[0] for r in rows}

    def favourite_photo_ids(self, *, newest_first: bool = True) -> list[int]:
        order = "DESC" if newest_first else "ASC"
        rows = self.conn.execute(
            "SELECT p.id FROM favourites f JOIN photos p ON p.id = f.photo_id "
            f"WHERE p.status = 'indexed' ORDER BY p.taken_at {order}, p.path {order}"
        )
        return [r[0] for r in rows]

    def is_favourite(self, photo_id: int) -> bool:
        row = self.conn.execute("SELECT 1 FROM favourites WHERE photo_id = ?", (photo_id,))
        return row.fetchone() is not None

    def set_favourite(self, photo_ids: Iterable[int], favourite: bool = True) -> int:
        """Mark or unmark photos as favourites; returns how many changed."""
        changed = 0
        now = time.time()
        with self.transaction() as conn:
            for chunk, marks in _id_chunks(photo_ids):
                if favourite:
                    cur = conn.execute(
                        "INSERT OR IGNORE INTO favourites (photo_id, added_at) "
                        f"SELECT id, ? FROM photos WHERE id IN ({marks})",
                        (now, *chunk),
                    )
                else:
                    cur = conn.execute(f"DELETE FROM favourites WHERE photo_id IN ({marks})", chunk)
                changed += cur.rowcount
        return changed


def _album_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise AlbumError("An album needs a name.")
    return name


def _is_unique_violation(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, sqlite3.IntegrityError) and "UNIQUE" in str(cause):
            return True
        cause = cause.__cause__
    return False

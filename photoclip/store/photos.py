"""Photo rows: what the scan found, pages and filters for the grid, problems, counts."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import StoreBase, _id_chunks


@dataclass(frozen=True)
class Problem:
    path: str
    reason: str


@dataclass(frozen=True)
class KnownFile:
    id: int
    size: int
    mtime_ns: int
    status: str
    fingerprint: str | None


PHOTO_COLUMNS = (
    "id, folder_id, path, size, mtime_ns, status, error, format, width, height, taken_at, "
    "taken_at_source, camera, latitude, longitude"
)


class PhotosMixin(StoreBase):
    # -- photos ----------------------------------------------------------------------------

    def known_files(self, folder_id: int) -> dict[str, KnownFile]:
        rows = self.conn.execute(
            "SELECT path, id, size, mtime_ns, status, fingerprint FROM photos WHERE folder_id = ?",
            (folder_id,),
        )
        return {r[0]: KnownFile(*r[1:]) for r in rows}

    def photo(self, photo_id: int) -> dict[str, Any] | None:
        rows = self.photos_by_id([photo_id])
        return rows[0] if rows else None

    def photos_by_id(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """Rows for ``ids``, in the order given (missing ids are dropped)."""
        if not len(ids):
            return []
        found: dict[int, dict[str, Any]] = {}
        cols = [c.strip() for c in PHOTO_COLUMNS.split(",")]
        for chunk, marks in _id_chunks(ids):
            for row in self.conn.execute(
                f"SELECT {PHOTO_COLUMNS} FROM photos WHERE id IN ({marks})", chunk
            ):
                found[row[0]] = dict(zip(cols, row, strict=True))
        return [found[int(i)] for i in ids if int(i) in found]

    def photo_id_for_path(self, path: str) -> int | None:
        for spelling in dict.fromkeys((os.path.abspath(path), os.path.realpath(path))):
            row = self.conn.execute("SELECT id FROM photos WHERE path = ?", (spelling,)).fetchone()
            if row:
                return int(row[0])
        return None

    def list_photo_ids(
        self,
        *,
        folder_id: int | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        formats: Sequence[str] | None = None,
        newest_first: bool = True,
        album_id: int | None = None,
        favourites: bool = False,
    ) -> list[int]:
        """Indexed photos matching the filters, ordered by date taken."""
        where, args = photo_filter_sql(
            folder_id, date_from, date_to, formats, album_id=album_id, favourites=favourites
        )
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT id FROM photos WHERE {where} ORDER BY taken_at {order}, path {order}"
        return [r[0] for r in self.conn.execute(sql, args)]

    def photo_page(
        self,
        *,
        after: tuple[str, str] | None = None,
        limit: int = 500,
        folder_id: int | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        formats: Sequence[str] | None = None,
        album_id: int | None = None,
        favourites: bool = False,
    ) -> list[dict[str, Any]]:
        """Indexed photos newest first (the order of ``list_photo_ids``), one page at a time.

        ``after`` is the (taken_at, path) of the last photo already shown: keyset paging, so
        photos indexed between two pages neither repeat nor shift the next page."""
        where, args = photo_filter_sql(
            folder_id, date_from, date_to, formats, album_id=album_id, favourites=favourites
        )
        order = "ORDER BY taken_at DESC, path DESC LIMIT ?"
        cols = "SELECT id, path, COALESCE(taken_at, ''), folder_id FROM photos WHERE"
        rows: list[Any] = []
        if after is None or after[0]:
            # A row-value bound on the plain columns lets SQLite walk the taken_at index.
            dated = (
                " AND taken_at IS NOT NULL" if after is None else " AND (taken_at, path) < (?, ?)"
            )
            bound = [] if after is None else list(after)
            rows = self.conn.execute(
                f"{cols} {where}{dated} {order}", [*args, *bound, limit]
            ).fetchall()
        if len(rows) < limit:  # undated photos (none, normally) sort last
            undated = " AND taken_at IS NULL" + (" AND path < ?" if after and not after[0] else "")
            bound = [after[1]] if after and not after[0] else []
            rows += self.conn.execute(
                f"{cols} {where}{undated} {order}", [*args, *bound, limit - len(rows)]
            ).fetchall()
        return [{"id": r[0], "path": r[1], "taken_at": r[2], "folder_id": r[3]} for r in rows]

    def count_photos(
        self,
        folder_id: int | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        formats: Sequence[str] | None = None,
        album_id: int | None = None,
        favourites: bool = False,
    ) -> int:
        """How many indexed photos match the filters."""
        where, args = photo_filter_sql(
            folder_id, date_from, date_to, formats, album_id=album_id, favourites=favourites
        )
        row = self.conn.execute(f"SELECT COUNT(*) FROM photos WHERE {where}", args).fetchone()
        return int(row[0])

    def date_counts(
        self,
        length: int = 7,
        *,
        folder_id: int | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        album_id: int | None = None,
        favourites: bool = False,
    ) -> dict[str, int]:
        """Indexed photos per year (``length`` 4), month (7, "2024-03") or day (10), for the
        timeline's headers and its scrubber; undated photos count under ""."""
        if length not in (4, 7, 10):
            raise ValueError(f"date_counts: length must be 4, 7 or 10, not {length}")
        where, args = photo_filter_sql(
            folder_id, date_from, date_to, None, album_id=album_id, favourites=favourites
        )
        rows = self.conn.execute(
            f"SELECT substr(COALESCE(taken_at, ''), 1, {length}) AS k, COUNT(*) FROM photos "
            f"WHERE {where} GROUP BY k",
            args,
        )
        return {k: n for k, n in rows}

    def taken_at(self, ids: Sequence[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for chunk, marks in _id_chunks(ids):
            for pid, taken in self.conn.execute(
                f"SELECT id, taken_at FROM photos WHERE id IN ({marks})", chunk
            ):
                out[pid] = taken or ""
        return out

    def thumbnail(self, photo_id: int) -> bytes | None:
        row = self.conn.execute(
            "SELECT jpeg FROM thumbnails WHERE photo_id = ?", (photo_id,)
        ).fetchone()
        return bytes(row[0]) if row else None

    def problems(self) -> list[Problem]:
        rows = self.conn.execute(
            """SELECT path, error FROM photos WHERE status = 'error'
               UNION ALL SELECT path, reason FROM scan_problems
               ORDER BY 1"""
        ).fetchall()
        return [Problem(p, r) for p, r in rows]

    def counts(self) -> dict[str, int]:
        db = self.db
        photos = db.table("photos")
        return {
            "folders": db.table("folders").count,
            "indexed": photos.count_where("status = ?", ["indexed"]),
            "problems": photos.count_where("status = ?", ["error"])
            + db.table("scan_problems").count,
            "vectors": db.table("vectors").count,
            # photos also seen as extra squares beside the centre one (preprocess.extra_view_boxes)
            "wide_photos": db.table("view_vectors").count_where("count > 0"),
            "remembered_phrases": db.table("text_vectors").count,
        }

    def filtered_photo_ids(
        self,
        folder_id: int | None,
        date_from: str | None,
        date_to: str | None,
        formats: Sequence[str] | None,
        *,
        album_id: int | None = None,
        favourites: bool = False,
    ) -> np.ndarray:
        where, args = photo_filter_sql(
            folder_id, date_from, date_to, formats, album_id=album_id, favourites=favourites
        )
        rows = self.conn.execute(f"SELECT id FROM photos WHERE {where}", args)
        return np.fromiter((r[0] for r in rows), np.int64)

    # -- writing a batch of indexing results -----------------------------------------------

    def delete_photos(self, conn: sqlite3.Connection, ids: Iterable[int]) -> None:
        """Forget photos (their vectors and thumbnails go with them), in a caller's
        transaction. Files on disk are never touched."""
        for chunk, marks in _id_chunks(ids):
            conn.execute(f"DELETE FROM photos WHERE id IN ({marks})", chunk)

    def upsert_photo(self, conn: sqlite3.Connection, row: dict[str, Any]) -> int:
        """Insert or update one photo row by path (inside a caller's transaction)."""
        cols = list(row)
        marks = ",".join("?" * len(cols))
        updates = ",".join(f"{c}=excluded.{c}" for c in cols if c != "path")
        conn.execute(
            f"INSERT INTO photos ({','.join(cols)}) VALUES ({marks}) "
            f"ON CONFLICT(path) DO UPDATE SET {updates}",
            [row[c] for c in cols],
        )
        found = conn.execute("SELECT id FROM photos WHERE path = ?", (row["path"],)).fetchone()
        return int(found[0])


def photo_filter_sql(
    folder_id: int | None,
    date_from: str | None,
    date_to: str | None,
    formats: Sequence[str] | None,
    *,
    album_id: int | None = None,
    favourites: bool = False,
) -> tuple[str, list[Any]]:
    """The WHERE clause for indexed photos in a folder / an album / Favourites, a date range
    and some formats (any combination: an album's photos from June, for instance)."""
    clauses = ["status = 'indexed'"]
    args: list[Any] = []
    if folder_id is not None:
        clauses.append("folder_id = ?")
        args.append(folder_id)
    if album_id is not None:
        clauses.append("id IN (SELECT photo_id FROM album_photos WHERE album_id = ?)")
        args.append(album_id)
    if favourites:
        clauses.append("id IN (SELECT photo_id FROM favourites)")
    if date_from:
        clauses.append("taken_at >= ?")
        args.append(date_from)
    if date_to:
        # An inclusive day: "2024-06-30" covers everything that day.
        clauses.append("taken_at <= ?")
        args.append(date_to + ("T23:59:59" if len(date_to) == 10 else ""))
    if formats:
        clauses.append(f"format IN ({','.join('?' * len(formats))})")
        args.extend(f.upper() for f in formats)
    return " AND ".join(clauses), args

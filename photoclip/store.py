"""The library database: folders, photos, thumbnails and per-model vectors in one SQLite file.

WAL mode, one connection per thread, schema version in ``PRAGMA user_version`` with ordered
migrations (backed up first), and a single-writer lock so two processes never index the same
library at once."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from .errors import (
    DamagedLibraryError,
    FolderError,
    LibraryBusyError,
    NetworkLibraryError,
    StoreError,
)
from .models import ModelIdentity
from .scanner import is_inside, path_key

_SCHEMA_V1 = """
CREATE TABLE folders (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    added_at REAL NOT NULL
);
CREATE TABLE photos (
    id INTEGER PRIMARY KEY,
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    path TEXT NOT NULL UNIQUE,
    fingerprint TEXT,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('indexed', 'error')),
    error TEXT,
    format TEXT,
    width INTEGER,
    height INTEGER,
    taken_at TEXT,
    taken_at_source TEXT,
    camera TEXT,
    latitude REAL,
    longitude REAL,
    indexed_at REAL NOT NULL
);
CREATE INDEX photos_folder ON photos(folder_id);
CREATE INDEX photos_fingerprint ON photos(fingerprint);
CREATE INDEX photos_taken ON photos(taken_at);
CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    arch TEXT NOT NULL,
    pretrained TEXT NOT NULL,
    weights_sha256 TEXT NOT NULL,
    dim INTEGER NOT NULL
);
CREATE TABLE vectors (
    -- AUTOINCREMENT: ids never come back after a delete, so "rows after id N" finds every
    -- vector written since N (VectorIndex.refresh relies on it).
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    vector BLOB NOT NULL,
    UNIQUE (photo_id, model_id)
);
CREATE INDEX vectors_model ON vectors(model_id, id);
CREATE TABLE thumbnails (
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    jpeg BLOB NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL
);
CREATE TABLE scan_problems (
    path TEXT PRIMARY KEY,
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    seen_at REAL NOT NULL
);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('vector_deletions', 0);
-- Lets an in-memory vector matrix notice deletions with one cheap read.
CREATE TRIGGER vectors_deleted AFTER DELETE ON vectors BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'vector_deletions';
END;
"""

# v2: text vectors of recent search phrases, per model, so a repeated search (from the CLI
# above all, one process per search) needs no model at all.
_SCHEMA_V2 = """
CREATE TABLE text_vectors (
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    vector BLOB NOT NULL,
    added_at REAL NOT NULL,
    PRIMARY KEY (model_id, text)
);
CREATE INDEX text_vectors_age ON text_vectors(model_id, added_at);
"""

# v3: what the last complete scan of each folder stood on, so that an unplugged drive or an
# unmounted mount point is told apart from deleted photos; the UTC offset of a capture time.
_SCHEMA_V3 = """
ALTER TABLE folders ADD COLUMN device INTEGER;
CREATE TABLE mount_points (
    path TEXT PRIMARY KEY,
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    device INTEGER NOT NULL
);
CREATE INDEX mount_points_folder ON mount_points(folder_id);
ALTER TABLE photos ADD COLUMN taken_offset TEXT;
"""

# Ordered steps: MIGRATIONS[i] takes the schema from version i to i + 1.
MIGRATIONS: tuple[str, ...] = (_SCHEMA_V1, _SCHEMA_V2, _SCHEMA_V3)

# How long a statement waits for another writer before the library counts as busy.
BUSY_TIMEOUT_MS = 30_000

# Search phrases remembered per model (a vector is 2 KB at 512 dimensions: 4 MB at most).
TEXT_VECTORS_KEPT = 2000
SCHEMA_VERSION = len(MIGRATIONS)


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


# SQLite's own words for a damaged file (read from its error, never from a path).
_DAMAGE_WORDS = ("not a database", "malformed", "corrupt")


def describe_sqlite_error(exc: sqlite3.Error, db_path: str | os.PathLike[str]) -> str:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return f"The library {db_path} is busy in another program. Close it and try again."
    if "readonly" in text or "read-only" in text:
        return f"The library {db_path} is read-only. Check the folder's permissions."
    if "full" in text:
        return f"The disk holding {db_path} is full. Free some space and try again."
    if any(word in text for word in _DAMAGE_WORDS):
        return (
            f"The library {db_path} is damaged. Move it aside (photoclip will start a new "
            "one and re-index your folders), or restore a backup."
        )
    if "unable to open" in text:
        return (
            f"The library {db_path} can't be opened. Check that its folder exists and is writable."
        )
    return f"The library {db_path} couldn't be used: {exc}."


class Store:
    """Thread-safe handle on one library database. Each thread gets its own connection."""

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        *,
        backup_progress: BackupProgress | None = None,
    ) -> None:
        """Open (or create) the library, migrating an older one after backing it up;
        ``backup_progress(done_bytes, total_bytes)`` follows that backup. Refuses a library on
        a network drive (NetworkLibraryError) and a damaged one (DamagedLibraryError)."""
        self.path = Path(db_path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        refuse_network_library(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Photoclip can't create its library folder {self.path.parent}: "
                f"{exc.strerror or exc}."
            ) from exc
        try:
            try:
                with self._translate():
                    self._migrate(self.conn, backup_progress)
                    # A cheap look at the table a rebuild starts from: damage there shows now,
                    # in words, rather than later as a bug.
                    self.conn.execute("SELECT id, path FROM folders").fetchall()
            except StoreError as exc:
                raise as_damaged(exc) from exc.__cause__
        except BaseException:
            self.close()  # a refused library must not stay open, nor locked mid-migration
            raise

    # -- connections -----------------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            with self._translate():
                conn = sqlite3.connect(
                    self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
                )
                try:
                    conn.execute("PRAGMA synchronous=NORMAL")
                    conn.execute("PRAGMA foreign_keys=ON")
                except sqlite3.Error:
                    conn.close()  # e.g. not a database: don't keep the file open
                    raise
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite_utils.Database(self.conn)
            self._local.db = db
        return db

    def close(self) -> None:
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()

    @contextlib.contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(describe_sqlite_error(exc, self.path)) from exc

    @contextlib.contextmanager
    def _busy_timeout(self, ms: int) -> Iterator[None]:
        """Wait at most ``ms`` for another writer, instead of the usual 30 s."""
        conn = self.conn
        conn.execute(f"PRAGMA busy_timeout = {int(ms)}")
        try:
            yield
        finally:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All-or-nothing: commits on success, rolls back on any exception."""
        conn = self.conn
        with self._translate():
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    # -- schema ----------------------------------------------------------------------------

    def _migrate(
        self, conn: sqlite3.Connection, backup_progress: BackupProgress | None = None
    ) -> None:
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise as_damaged(StoreError(describe_sqlite_error(exc, self.path))) from exc
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"The library {self.path} was written by a newer photoclip (schema "
                f"{version}; this version knows up to {SCHEMA_VERSION}). Update photoclip, "
                "or use another library with --library."
            )
        if version == 0 and conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
            raise StoreError(
                f"{self.path} is another program's database, not a photoclip library. "
                "Choose a new file or an empty folder with --library."
            )
        # Only now that the file is known to be ours: WAL is a persistent property of it.
        conn.execute("PRAGMA journal_mode=WAL")
        if version == SCHEMA_VERSION:
            return
        if version > 0:
            self.backup(
                self.path.with_name(f"{self.path.name}.v{version}.{int(time.time())}.bak"),
                progress=backup_progress,
            )
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the write lock.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for step in range(version, SCHEMA_VERSION):
                _execute_script(conn, MIGRATIONS[step])
                conn.execute(f"PRAGMA user_version = {step + 1}")
        except BaseException:
            conn.rollback()  # every step applies whole or not at all
            raise
        conn.commit()

    def backup(
        self, dest: str | os.PathLike[str], *, progress: BackupProgress | None = None
    ) -> Path:
        """A consistent copy of the database (SQLite's online backup), even while in use.
        ``progress(done_bytes, total_bytes)`` is called as it goes, a few megabytes a step."""
        dest = Path(dest)
        page_size = int(self.conn.execute("PRAGMA page_size").fetchone()[0])

        def report(status: int, remaining: int, total: int) -> None:
            if progress is not None:
                progress((total - remaining) * page_size, total * page_size)

        with self._translate():
            target = sqlite3.connect(dest)
            try:
                self.conn.backup(
                    target, pages=max(1, BACKUP_STEP_BYTES // page_size), progress=report
                )
            finally:
                target.close()
        return dest

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    # -- the single-writer lock ------------------------------------------------------------

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Held while indexing; a second writer (another process) gets ``LibraryBusyError``."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                _lock_file(fd)
            except OSError as exc:
                raise LibraryBusyError(
                    "Another photoclip is already indexing this library. Let it finish, or "
                    "close it and try again."
                ) from exc
            try:
                yield
            finally:
                _unlock_file(fd)
        finally:
            os.close(fd)

    # -- settings --------------------------------------------------------------------------

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_setting(self, key: str, value: str | None) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, value))

    # -- folders ---------------------------------------------------------------------------

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

    # -- models ----------------------------------------------------------------------------

    def model_id(self, identity: ModelIdentity) -> int:
        row = self.conn.execute("SELECT id FROM models WHERE key = ?", (identity.key,)).fetchone()
        if row:
            return int(row[0])
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO models (key, arch, pretrained, weights_sha256, dim) "
                "VALUES (?, ?, ?, ?, ?)",
                (identity.key, identity.arch, identity.pretrained, identity.weights_sha256,
                 identity.dim),
            )  # fmt: skip
            if cur.lastrowid and cur.rowcount:
                return int(cur.lastrowid)
        return self.model_id(identity)

    # -- photos ----------------------------------------------------------------------------

    def known_files(self, folder_id: int) -> dict[str, KnownFile]:
        rows = self.conn.execute(
            "SELECT path, id, size, mtime_ns, status, fingerprint FROM photos WHERE folder_id = ?",
            (folder_id,),
        )
        return {r[0]: KnownFile(*r[1:]) for r in rows}

    def photo_ids_without_vector(self, model_id: int, folder_id: int) -> set[int]:
        rows = self.conn.execute(
            """SELECT p.id FROM photos p
               WHERE p.folder_id = ? AND p.status = 'indexed' AND NOT EXISTS (
                   SELECT 1 FROM vectors v WHERE v.photo_id = p.id AND v.model_id = ?)""",
            (folder_id, model_id),
        )
        return {r[0] for r in rows}

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
    ) -> list[int]:
        """Indexed photos matching the filters, ordered by date taken."""
        where, args = photo_filter_sql(folder_id, date_from, date_to, formats)
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
    ) -> list[dict[str, Any]]:
        """Indexed photos newest first (the order of ``list_photo_ids``), one page at a time.

        ``after`` is the (taken_at, path) of the last photo already shown: keyset paging, so
        photos indexed between two pages neither repeat nor shift the next page."""
        where, args = photo_filter_sql(folder_id, date_from, date_to, formats)
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
    ) -> int:
        """How many indexed photos match the filters."""
        where, args = photo_filter_sql(folder_id, date_from, date_to, formats)
        row = self.conn.execute(f"SELECT COUNT(*) FROM photos WHERE {where}", args).fetchone()
        return int(row[0])

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
            "remembered_phrases": db.table("text_vectors").count,
        }

    # Searchable vectors are those of photos that are indexed now: a photo whose file turned
    # out unreadable keeps the vectors other models made of it (hours of compute) until it
    # is fixed or really gone, but isn't offered as a match meanwhile.
    _SEARCHABLE = (
        "FROM vectors v JOIN photos p ON p.id = v.photo_id "
        "WHERE v.model_id = ? AND p.status = 'indexed'"
    )

    def vector_count(self, model_id: int) -> int:
        """How many indexed photos have a vector of ``model_id``."""
        row = self.conn.execute(f"SELECT COUNT(*) {self._SEARCHABLE}", (model_id,)).fetchone()
        return int(row[0])

    def vector_deletions(self) -> int:
        return int(
            self.conn.execute(
                "SELECT value FROM counters WHERE name = 'vector_deletions'"
            ).fetchone()[0]
        )

    def vectors_since(
        self, model_id: int, after_id: int, dim: int
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Vectors of ``model_id`` stored after row ``after_id``: (photo ids, matrix, last id)."""
        rows = self.conn.execute(
            f"SELECT v.id, v.photo_id, v.vector {self._SEARCHABLE} AND v.id > ? ORDER BY v.id",
            (model_id, after_id),
        ).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, dim), np.float32), after_id
        ids = np.fromiter((r[1] for r in rows), np.int64, len(rows))
        mat = np.frombuffer(b"".join(r[2] for r in rows), np.float32).reshape(len(rows), dim)
        return ids, mat, int(rows[-1][0])

    def vector_photo_ids(self, model_id: int) -> np.ndarray:
        rows = self.conn.execute(f"SELECT v.photo_id {self._SEARCHABLE}", (model_id,))
        return np.fromiter((r[0] for r in rows), np.int64)

    def text_vectors(self, model_id: int, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The remembered vectors of those of ``texts`` searched for before with this model."""
        unique = list(dict.fromkeys(texts))[:900]  # a query has a few terms, not hundreds
        rows = self.conn.execute(
            f"SELECT text, vector FROM text_vectors WHERE model_id = ? "
            f"AND text IN ({','.join('?' * len(unique))})",
            (model_id, *unique),
        )
        return {t: np.frombuffer(v, np.float32).copy() for t, v in rows}

    def remember_text_vectors(self, model_id: int, vectors: dict[str, np.ndarray]) -> None:
        """Keep these phrases' vectors, forgetting the oldest beyond TEXT_VECTORS_KEPT. A nicety:
        if another writer holds the library for more than a moment, raises StoreError rather
        than keep a search waiting."""
        if not vectors:
            return
        now = time.time()
        with self._translate(), self._busy_timeout(250), self.conn:
            # Plain SQL, not sqlite-utils' upsert: that probes for ON CONFLICT support with a
            # CREATE TABLE once per connection, and when the probe meets a busy library it
            # settles on a fallback (INSERT OR IGNORE + UPDATE) that silently drops new rows
            # of tables with NOT NULL columns (sqlite-utils 4.2.1; caught by a test here).
            self.conn.executemany(
                "INSERT OR REPLACE INTO text_vectors (model_id, text, vector, added_at) "
                "VALUES (?, ?, ?, ?)",
                [
                    (model_id, text, np.asarray(vec, np.float32).tobytes(), now)
                    for text, vec in vectors.items()
                ],
            )
            self.conn.execute(
                "DELETE FROM text_vectors WHERE model_id = ? AND rowid NOT IN (SELECT rowid "
                "FROM text_vectors WHERE model_id = ? ORDER BY added_at DESC LIMIT ?)",
                (model_id, model_id, TEXT_VECTORS_KEPT),
            )

    def vector_for_photo(self, photo_id: int, model_id: int) -> np.ndarray | None:
        row = self.conn.execute(
            "SELECT vector FROM vectors WHERE photo_id = ? AND model_id = ?", (photo_id, model_id)
        ).fetchone()
        return np.frombuffer(row[0], np.float32).copy() if row else None

    def filtered_photo_ids(
        self,
        folder_id: int | None,
        date_from: str | None,
        date_to: str | None,
        formats: Sequence[str] | None,
    ) -> np.ndarray:
        where, args = photo_filter_sql(folder_id, date_from, date_to, formats)
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


def _id_chunks(ids: Iterable[int]) -> Iterator[tuple[list[int], str]]:
    """``ids`` in groups that fit SQLite's bound-parameter limit, each with its "?,?,…"."""
    all_ids = [int(i) for i in ids]
    for start in range(0, len(all_ids), 900):
        chunk = all_ids[start : start + 900]
        yield chunk, ",".join("?" * len(chunk))


def _execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run a multi-statement script inside the caller's transaction (``executescript``
    would commit first)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        conn.execute(statement)


def photo_filter_sql(
    folder_id: int | None,
    date_from: str | None,
    date_to: str | None,
    formats: Sequence[str] | None,
) -> tuple[str, list[Any]]:
    clauses = ["status = 'indexed'"]
    args: list[Any] = []
    if folder_id is not None:
        clauses.append("folder_id = ?")
        args.append(folder_id)
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


if sys.platform == "win32":  # pragma: no cover - exercised on Windows
    import msvcrt

    def _lock_file(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock_file(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock_file(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock_file(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


# -- opening safely (refusals, damage, a migration's cost) -------------------------------------

# Called as a backup goes: (bytes copied, bytes in all).
BackupProgress = Callable[[int, int], None]
# How much a backup copies per step (between two progress reports).
BACKUP_STEP_BYTES = 4 << 20


def as_damaged(exc: StoreError) -> StoreError:
    """``exc`` as a DamagedLibraryError when SQLite found the file damaged, else unchanged."""
    cause = exc.__cause__
    if isinstance(exc, DamagedLibraryError) or not isinstance(cause, sqlite3.DatabaseError):
        return exc
    if not any(w in str(cause).lower() for w in _DAMAGE_WORDS):  # SQLite's words, not a path
        return exc
    damaged = DamagedLibraryError(
        f"{exc} (From the command line, photoclip rebuild does that in one step and keeps "
        "the damaged file.)"
    )
    damaged.__cause__ = cause
    return damaged


def refuse_network_library(db_path: str | os.PathLike[str]) -> None:
    """Raise NetworkLibraryError when ``db_path`` is on a network file system."""
    from .fsinfo import network_filesystem

    kind = network_filesystem(Path(db_path).parent)
    if kind:
        raise NetworkLibraryError(network_library_message(db_path, kind))


def network_library_message(path: str | os.PathLike[str], kind: str) -> str:
    return (
        f"The library {path} is on a network drive ({kind}), where photoclip can't keep it "
        "safe: SQLite's write-ahead log needs shared memory that network drives don't "
        "provide safely, so the library could be damaged. Choose a folder on this computer "
        "(in Settings, or with --library or PHOTOCLIP_LIBRARY)."
    )


def pending_migration(db_path: str | os.PathLike[str]) -> int | None:
    """The schema version of a library that opening would migrate (after a backup), found
    with a cheap read-only look; None for a new, current, newer or unreadable library."""
    path = Path(db_path)
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error:
        return None
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return version if 0 < version < SCHEMA_VERSION else None


def folder_paths(store: Store) -> list[str]:
    """The library folders' paths, and nothing else (cheaper than ``Store.folders``)."""
    return [r[0] for r in store.conn.execute("SELECT path FROM folders ORDER BY path")]

"""The library database handle: connections per thread, transactions, migrations, backups,
the single-writer lock, settings, and the words for what went wrong."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DamagedLibraryError, LibraryBusyError, NetworkLibraryError, StoreError
from . import schema

if TYPE_CHECKING:
    import sqlite_utils

# How long a statement waits for another writer before the library counts as busy.
BUSY_TIMEOUT_MS = 30_000


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


_OPEN: weakref.WeakSet[StoreBase] = weakref.WeakSet()


def close_all() -> None:
    """Close every library still open in this process (before a quick exit, os._exit)."""
    for store in list(_OPEN):
        store.close()


class StoreBase:
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
        _OPEN.add(self)
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
            import sqlite_utils  # (40 ms to import: only what needs it pays)

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
        if version > schema.SCHEMA_VERSION:
            raise StoreError(
                f"The library {self.path} was written by a newer photoclip (schema "
                f"{version}; this version knows up to {schema.SCHEMA_VERSION}). Update photoclip, "
                "or use another library with --library."
            )
        if version == 0 and conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
            raise StoreError(
                f"{self.path} is another program's database, not a photoclip library. "
                "Choose a new file or an empty folder with --library."
            )
        # Only now that the file is known to be ours: WAL is a persistent property of it.
        conn.execute("PRAGMA journal_mode=WAL")
        if version == schema.SCHEMA_VERSION:
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
            for step in range(version, schema.SCHEMA_VERSION):
                schema.execute_script(conn, schema.MIGRATIONS[step])
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


def _id_chunks(ids: Iterable[int]) -> Iterator[tuple[list[int], str]]:
    """``ids`` in groups that fit SQLite's bound-parameter limit, each with its "?,?,…"."""
    all_ids = [int(i) for i in ids]
    for start in range(0, len(all_ids), 900):
        chunk = all_ids[start : start + 900]
        yield chunk, ",".join("?" * len(chunk))


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
    from ..fsinfo import network_filesystem

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
    return version if 0 < version < schema.SCHEMA_VERSION else None

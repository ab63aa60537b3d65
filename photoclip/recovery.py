"""Rebuilding a damaged library: move the damaged file aside (never delete it), start a fresh
library with the same folders and model, and let indexing fill it again.

The folders come from the damaged file when SQLite can still read them, else from the small
list kept beside the library (``library.db.folders.json``, with the library's model), which
the CLI and the app refresh whenever they have the library open."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .config import write_atomically
from .errors import StoreError

if TYPE_CHECKING:
    from .store import Store

_SIDE_FILES = ("-wal", "-shm")
MODEL_SETTING = "model"  # the library's model (cli.MODEL_SETTING)


def folders_file(db_path: str | os.PathLike[str]) -> Path:
    """The list of library folders kept beside the library, for a rebuild."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".folders.json")


def remember_folders(store: Store) -> None:
    """Refresh the folder list (and model) beside the library when it changed. Never fails:
    a library that can't be read any more keeps the last good list."""
    from .store import folder_paths

    target = folders_file(store.path)
    try:
        kept = {"folders": folder_paths(store), "model": store.get_setting(MODEL_SETTING)}
        text = json.dumps(kept, indent=2) + "\n"
        with contextlib.suppress(OSError):
            if target.read_text(encoding="utf-8") == text:
                return
        if target.parent.is_dir():  # a library folder removed meanwhile stays removed
            write_atomically(target, text)
    except (sqlite3.Error, StoreError, OSError):
        pass


@dataclass(frozen=True)
class Salvaged:
    folders: list[str]
    model: str | None  # the model the library was indexed with, when known
    source: str  # where they were found, in words


def salvage(db_path: str | os.PathLike[str]) -> Salvaged:
    """The folders and model of a damaged library: from the damaged file itself when SQLite
    can still read its folders table, else from the list kept beside it, else none."""
    db_path = Path(db_path)
    with contextlib.suppress(sqlite3.Error, OSError):
        # Read-only: looking never changes the damaged file (a log beside it is read too).
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT path FROM folders ORDER BY path").fetchall()
            model = None
            with contextlib.suppress(sqlite3.Error):
                found = conn.execute(
                    "SELECT value FROM settings WHERE key = ?", (MODEL_SETTING,)
                ).fetchone()
                model = found[0] if found else None
            return Salvaged([str(r[0]) for r in rows], model, "the damaged library")
        finally:
            conn.close()
    listed = folders_file(db_path)
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        kept = json.loads(listed.read_text(encoding="utf-8"))
        model = kept.get("model")
        return Salvaged(
            [str(p) for p in kept["folders"]],
            model if isinstance(model, str) else None,
            f"the folder list kept beside it ({listed})",
        )
    return Salvaged([], None, "nowhere (add your folders again)")


def move_aside(db_path: str | os.PathLike[str], now: float | None = None) -> Path:
    """Rename the damaged library (and its -wal and -shm files) to
    ``<name>.damaged-YYYYmmdd-HHMMSS<suffix>`` in the same folder; returns the new path."""
    db_path = Path(db_path)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    suffix = db_path.suffix or ".db"
    for n in range(1, 1000):
        extra = "" if n == 1 else f"-{n}"
        dest = db_path.with_name(f"{db_path.stem}.damaged-{stamp}{extra}{suffix}")
        if not any(Path(str(dest) + s).exists() for s in ("", *_SIDE_FILES)):
            break
    else:  # pragma: no cover - a thousand rebuilds in one second
        raise StoreError(f"photoclip couldn't find a free name beside {db_path}.")
    try:
        for side in _SIDE_FILES:  # the log first: the main file last marks the move done
            if Path(str(db_path) + side).exists():
                os.replace(str(db_path) + side, str(dest) + side)
        os.replace(db_path, dest)
    except OSError as exc:
        raise StoreError(
            f"photoclip couldn't move the damaged library {db_path} aside: "
            f"{exc.strerror or exc}. Check the folder's permissions, or move it yourself."
        ) from exc
    return dest


@dataclass(frozen=True)
class Rebuilt:
    store: Store
    damaged_copy: Path  # where the damaged library now is, byte for byte
    folders: list[str]
    folders_from: str

    def summary(self) -> str:
        n = len(self.folders)
        return (
            f"The damaged library was kept as {self.damaged_copy}. A new library was started "
            f"with {n} folder{'s' if n != 1 else ''} (from {self.folders_from})"
            + ("; indexing them fills it again." if n else ". Add your folders to it.")
        )


def rebuild(db_path: str | os.PathLike[str], now: float | None = None) -> Rebuilt:
    """Move the damaged library at ``db_path`` aside and start a new one there with its
    folders and model (not indexed yet: the caller indexes them)."""
    from .store import Store

    db_path = Path(db_path)
    found = salvage(db_path)
    damaged = move_aside(db_path, now)
    store = Store(db_path)
    for folder in found.folders:
        store.add_folder(folder, must_exist=False)  # a drive that is unplugged comes back
    if found.model:
        store.set_setting(MODEL_SETTING, found.model)
    remember_folders(store)
    return Rebuilt(store, damaged, found.folders, found.source)

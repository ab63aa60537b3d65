"""Reading a library database that another process is writing, from a test."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def count_rows(db: Path, sql: str) -> int:
    """``sql``'s single number, read-only; 0 while the file or its schema doesn't exist yet
    (the other process is still creating the library)."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return 0
    try:
        return int(conn.execute(sql).fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def indexed_count(db: Path) -> int:
    return count_rows(db, "SELECT COUNT(*) FROM photos WHERE status = 'indexed'")

"""What the app needs to open a library safely, without Qt: a cheap read-only look that says
whether opening will migrate (and so back up first), and a backup that reports its progress."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import photoclip.store.schema as schema_module
from photoclip.store import SCHEMA_VERSION, Store, pending_migration


def older_library(db: Path, monkeypatch, version: int, megabytes: int = 0) -> None:
    """A real library written by the release whose schema was ``version``."""
    with monkeypatch.context() as release:
        release.setattr(schema_module, "MIGRATIONS", schema_module.MIGRATIONS[:version])
        release.setattr(schema_module, "SCHEMA_VERSION", version)
        old = Store(db)
        with old.transaction() as conn:
            conn.execute(
                "INSERT INTO settings VALUES ('padding', randomblob(?))", (megabytes << 20,)
            )
        old.close()


def test_a_pending_migration_is_seen_without_changing_the_file(tmp_path, monkeypatch):
    db = tmp_path / "library.db"
    assert pending_migration(db) is None  # no library yet: a new one needs no backup
    older_library(db, monkeypatch, 1)
    before = db.read_bytes()

    assert pending_migration(db) == 1
    assert db.read_bytes() == before
    assert not list(tmp_path.glob("*.bak"))

    Store(db).close()
    assert pending_migration(db) is None  # migrated: current now


def test_no_migration_is_pending_for_garbage_or_a_newer_library(tmp_path):
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database " * 300)
    assert pending_migration(garbage) is None  # opening says why, in words

    newer = tmp_path / "newer.db"
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    assert pending_migration(newer) is None


def test_the_migration_backup_reports_its_progress_up_to_the_whole_file(tmp_path, monkeypatch):
    db = tmp_path / "library.db"
    older_library(db, monkeypatch, SCHEMA_VERSION - 1, megabytes=20)
    reports: list[tuple[int, int]] = []

    store = Store(db, backup_progress=lambda done, total: reports.append((done, total)))
    store.close()

    assert len(reports) >= 5  # 4 MB a step
    dones = [done for done, _ in reports]
    assert dones == sorted(dones) and dones[0] > 0
    assert {total for _, total in reports} == {reports[-1][1]}
    assert reports[-1][0] == reports[-1][1] >= 20 << 20
    (backup,) = tmp_path.glob(f"library.db.v{SCHEMA_VERSION - 1}.*.bak")
    assert backup.stat().st_size == reports[-1][1]

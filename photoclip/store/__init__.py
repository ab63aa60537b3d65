"""The library database: folders, photos, thumbnails and per-model vectors in one SQLite file.

WAL mode, one connection per thread, schema version in ``PRAGMA user_version`` with ordered
migrations (backed up first), and a single-writer lock so two processes never index the same
library at once. One module per group of tables; ``Store`` is composed of their mixins."""

from __future__ import annotations

from .base import (
    BACKUP_STEP_BYTES,
    BUSY_TIMEOUT_MS,
    BackupProgress,
    StoreBase,
    as_damaged,
    describe_sqlite_error,
    network_library_message,
    pending_migration,
    refuse_network_library,
)
from .collections import Album, CollectionsMixin
from .duplicates import DuplicatesMixin, Hashes, PhotoFile
from .folders import Folder, FoldersMixin, FolderState, folder_paths
from .photos import PHOTO_COLUMNS, KnownFile, PhotosMixin, Problem, photo_filter_sql
from .schema import MIGRATIONS, SCHEMA_VERSION
from .vectors import TEXT_VECTORS_KEPT, VectorsMixin


class Store(FoldersMixin, PhotosMixin, VectorsMixin, CollectionsMixin, DuplicatesMixin):
    """Thread-safe handle on one library database. Each thread gets its own connection."""


__all__ = [
    "BACKUP_STEP_BYTES",
    "BUSY_TIMEOUT_MS",
    "MIGRATIONS",
    "PHOTO_COLUMNS",
    "SCHEMA_VERSION",
    "TEXT_VECTORS_KEPT",
    "Album",
    "BackupProgress",
    "Folder",
    "FolderState",
    "Hashes",
    "KnownFile",
    "PhotoFile",
    "Problem",
    "Store",
    "StoreBase",
    "as_damaged",
    "describe_sqlite_error",
    "folder_paths",
    "network_library_message",
    "pending_migration",
    "photo_filter_sql",
    "refuse_network_library",
]

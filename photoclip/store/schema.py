"""The library's schema: ordered migration steps, one per version (``PRAGMA user_version``)."""

from __future__ import annotations

import sqlite3

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

# v4: what the user collects. Albums (plain, or "smart": a saved search whose examples the
# user marks as belonging or not) and favourites. Rows follow a photo's id, which a move or
# rename keeps (re-linked by fingerprint), and go only when the photo is forgotten.
_SCHEMA_V4 = """
CREATE TABLE albums (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind TEXT NOT NULL DEFAULT 'album' CHECK (kind IN ('album', 'smart')),
    query TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE album_photos (
    album_id INTEGER NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    added_at REAL NOT NULL,
    PRIMARY KEY (album_id, photo_id)
);
CREATE INDEX album_photos_photo ON album_photos(photo_id);
CREATE TABLE album_examples (
    album_id INTEGER NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    label INTEGER NOT NULL CHECK (label IN (-1, 1)),
    added_at REAL NOT NULL,
    PRIMARY KEY (album_id, photo_id)
);
CREATE TABLE favourites (
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    added_at REAL NOT NULL
);
"""

# v5: duplicates. Each photo's content hashes, made only when needed (a full hash when another
# photo has its size; a difference hash of its thumbnail when another looks like it) and kept
# for the file they were made from; pairs of photos found to be copies, by kind; and what the
# user decided about a photo in a group (kept, or hidden from search).
_SCHEMA_V5 = """
CREATE TABLE photo_hashes (
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT,
    dhash INTEGER
);
CREATE TABLE duplicate_pairs (
    a INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    b INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('exact', 'same', 'similar')),
    score REAL NOT NULL,
    PRIMARY KEY (a, b),
    CHECK (a < b)
);
CREATE INDEX duplicate_pairs_b ON duplicate_pairs(b);
CREATE TABLE duplicate_marks (
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('kept', 'hidden')),
    marked_at REAL NOT NULL
);
"""

# v6: extra views (issue #11). A photo much wider or taller than its centre square is also
# seen as overlapping squares beside it (preprocess.extra_view_boxes); their vectors, one blob
# of count x dim float32 per photo and model, let search score it by its best view. ``method``
# names how they were made (preprocess.EXTRA_VIEWS): rows of another method are made again.
# The photo's own vector in ``vectors`` stays its centre square's.
_SCHEMA_V6 = """
CREATE TABLE view_vectors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    count INTEGER NOT NULL,
    vectors BLOB NOT NULL,
    UNIQUE (photo_id, model_id)
);
CREATE INDEX view_vectors_model ON view_vectors(model_id, id);
CREATE TRIGGER view_vectors_deleted AFTER DELETE ON view_vectors BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'vector_deletions';
END;
"""

# Ordered steps: MIGRATIONS[i] takes the schema from version i to i + 1. Append only.
MIGRATIONS: tuple[str, ...] = (
    _SCHEMA_V1, _SCHEMA_V2, _SCHEMA_V3, _SCHEMA_V4, _SCHEMA_V5, _SCHEMA_V6,
)  # fmt: skip

SCHEMA_VERSION = len(MIGRATIONS)


def execute_script(conn: sqlite3.Connection, script: str) -> None:
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

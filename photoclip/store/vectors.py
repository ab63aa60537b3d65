"""Vectors per model (the hours of compute), and the remembered vectors of search phrases."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from .. import preprocess
from ..models import ModelIdentity
from .base import StoreBase

# Search phrases remembered per model (a vector is 2 KB at 512 dimensions: 4 MB at most).
TEXT_VECTORS_KEPT = 2000


class VectorsMixin(StoreBase):
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

    def photo_ids_without_vector(self, model_id: int, folder_id: int) -> set[int]:
        rows = self.conn.execute(
            """SELECT p.id FROM photos p
               WHERE p.folder_id = ? AND p.status = 'indexed' AND NOT EXISTS (
                   SELECT 1 FROM vectors v WHERE v.photo_id = p.id AND v.model_id = ?)""",
            (folder_id, model_id),
        )
        return {r[0] for r in rows}

    def photo_ids_without_views(self, model_id: int, folder_id: int) -> set[int]:
        """Indexed photos wide (or tall) enough for extra views that have none of ``model_id``
        made the current way (preprocess.EXTRA_VIEWS): a library from before they existed
        gets them on its next scan, and only those photos are read again."""
        rows = self.conn.execute(
            """SELECT p.id, p.width, p.height FROM photos p
               WHERE p.folder_id = ? AND p.status = 'indexed' AND p.width > 0 AND p.height > 0
               AND MAX(p.width, p.height) > MIN(p.width, p.height) * ? AND NOT EXISTS (
                   SELECT 1 FROM view_vectors w
                   WHERE w.photo_id = p.id AND w.model_id = ? AND w.method = ?)""",
            (folder_id, preprocess.EXTRA_VIEWS_BEYOND, model_id, preprocess.EXTRA_VIEWS),
        )
        return {r[0] for r in rows if preprocess.needs_extra_views(r[1], r[2])}

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
        self, model_id: int, after_id: int, dim: int, limit: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Vectors of ``model_id`` stored after row ``after_id``, the first ``limit`` of them
        (None: all): (photo ids, matrix, last id). Call again from the last id for more."""
        rows = self.conn.execute(
            f"SELECT v.id, v.photo_id, v.vector {self._SEARCHABLE} AND v.id > ? ORDER BY v.id "
            "LIMIT ?",
            (model_id, after_id, -1 if limit is None else limit),
        ).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, dim), np.float32), after_id
        ids = np.fromiter((r[1] for r in rows), np.int64, len(rows))
        mat = np.frombuffer(b"".join(r[2] for r in rows), np.float32).reshape(len(rows), dim)
        return ids, mat, int(rows[-1][0])

    def view_vectors_since(
        self, model_id: int, after_id: int, dim: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Extra views of ``model_id`` (made the current way) stored after row ``after_id``:
        (photo ids with a view or none, one per row; the photo of each view; the views as a
        matrix; the last row id)."""
        rows = self.conn.execute(
            "SELECT w.id, w.photo_id, w.count, w.vectors FROM view_vectors w "
            "JOIN photos p ON p.id = w.photo_id WHERE w.model_id = ? AND w.method = ? "
            "AND p.status = 'indexed' AND w.id > ? ORDER BY w.id",
            (model_id, preprocess.EXTRA_VIEWS, after_id),
        ).fetchall()
        if not rows:
            empty = np.zeros(0, np.int64)
            return empty, empty, np.zeros((0, dim), np.float32), after_id
        photos = np.fromiter((r[1] for r in rows), np.int64, len(rows))
        owners = np.repeat(photos, [r[2] for r in rows])
        mat = np.frombuffer(b"".join(r[3] for r in rows), np.float32).reshape(len(owners), dim)
        return photos, owners, mat, int(rows[-1][0])

    def view_photo_ids(self, model_id: int) -> np.ndarray:
        """Photos that have extra views of ``model_id`` (made the current way)."""
        rows = self.conn.execute(
            "SELECT w.photo_id FROM view_vectors w JOIN photos p ON p.id = w.photo_id "
            "WHERE w.model_id = ? AND w.method = ? AND p.status = 'indexed'",
            (model_id, preprocess.EXTRA_VIEWS),
        )
        return np.fromiter((r[0] for r in rows), np.int64)

    def views_for_photo(self, photo_id: int, model_id: int) -> np.ndarray | None:
        """A photo's extra views of ``model_id`` (count x dim), None when it has none."""
        row = self.conn.execute(
            "SELECT count, vectors FROM view_vectors WHERE photo_id = ? AND model_id = ? "
            "AND method = ?",
            (photo_id, model_id, preprocess.EXTRA_VIEWS),
        ).fetchone()
        if not row or not row[0]:
            return None
        return np.frombuffer(row[1], np.float32).reshape(row[0], -1).copy()

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

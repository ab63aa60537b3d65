"""Duplicates: content hashes made when needed, pairs of copies by kind, and what the user
decided about a photo in a group (kept, or hidden from search)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .base import StoreBase, _id_chunks

PAIR_KINDS = ("exact", "same", "similar")
MARK_STATES = ("kept", "hidden")


@dataclass(frozen=True)
class PhotoFile:
    """What a duplicate check needs to know of an indexed photo."""

    id: int
    path: str
    size: int
    mtime_ns: int
    format: str | None
    width: int | None
    height: int | None
    taken_at: str | None
    taken_at_source: str | None  # "exif", "file" or None


@dataclass(frozen=True)
class Hashes:
    sha256: str | None
    dhash: int | None


_U64 = (1 << 64) - 1


def _signed(h: int | None) -> int | None:
    """A 64-bit hash as SQLite's signed 64-bit integer (read back with ``& _U64``)."""
    return None if h is None else h - (1 << 64) if h >= 1 << 63 else h


_FILE_SELECT = (
    "SELECT id, path, size, mtime_ns, format, width, height, taken_at, taken_at_source "
    "FROM photos WHERE status = 'indexed'"
)


class DuplicatesMixin(StoreBase):
    # -- what is known of the files --------------------------------------------------------

    def photo_files(self, ids: Sequence[int] | None = None) -> list[PhotoFile]:
        """Indexed photos (all, or those of ``ids`` that are indexed), in id order."""
        if ids is None:
            rows = self.conn.execute(f"{_FILE_SELECT} ORDER BY id").fetchall()
        else:
            rows = []
            for chunk, marks in _id_chunks(ids):
                rows += self.conn.execute(f"{_FILE_SELECT} AND id IN ({marks})", chunk).fetchall()
            rows.sort()
        return [PhotoFile(*r) for r in rows]

    def same_size_ids(self, ids: Sequence[int] | None = None) -> list[list[int]]:
        """Groups of indexed photos with the same file size (more than one each); with ``ids``,
        only the groups that hold one of them."""
        rows = self.conn.execute(
            "SELECT size, group_concat(id) FROM photos WHERE status = 'indexed' "
            "GROUP BY size HAVING COUNT(*) > 1"
        ).fetchall()
        groups = [sorted(int(i) for i in str(members).split(",")) for _, members in rows]
        if ids is not None:
            wanted = {int(i) for i in ids}
            groups = [g for g in groups if wanted.intersection(g)]
        return groups

    def photo_hashes(self, files: Iterable[PhotoFile]) -> dict[int, Hashes]:
        """Hashes made earlier of these photos' files, where the file hasn't changed since."""
        by_id = {f.id: f for f in files}
        out: dict[int, Hashes] = {}
        for chunk, marks in _id_chunks(by_id):
            for pid, size, mtime_ns, sha, dh in self.conn.execute(
                "SELECT photo_id, size, mtime_ns, sha256, dhash FROM photo_hashes "
                f"WHERE photo_id IN ({marks})",
                chunk,
            ):
                f = by_id[pid]
                if f.size == size and f.mtime_ns == mtime_ns:
                    out[pid] = Hashes(sha, None if dh is None else int(dh) & _U64)
        return out

    def save_photo_hashes(self, hashes: dict[PhotoFile, Hashes]) -> None:
        """Remember hashes (None leaves a hash made earlier of the same file in place)."""
        if not hashes:
            return
        with self.transaction() as conn:
            for f, h in hashes.items():
                conn.execute(
                    "INSERT INTO photo_hashes (photo_id, size, mtime_ns, sha256, dhash) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (photo_id) DO UPDATE SET "
                    "sha256 = CASE WHEN size = excluded.size AND mtime_ns = excluded.mtime_ns "
                    "  THEN coalesce(excluded.sha256, sha256) ELSE excluded.sha256 END, "
                    "dhash = CASE WHEN size = excluded.size AND mtime_ns = excluded.mtime_ns "
                    "  THEN coalesce(excluded.dhash, dhash) ELSE excluded.dhash END, "
                    "size = excluded.size, mtime_ns = excluded.mtime_ns",
                    (f.id, f.size, f.mtime_ns, h.sha256, _signed(h.dhash)),
                )

    # -- pairs -----------------------------------------------------------------------------

    def duplicate_pairs(self) -> list[tuple[int, int, str, float]]:
        """Every pair of indexed photos found to be copies: (a, b, kind, score), a < b."""
        return [
            (int(a), int(b), str(kind), float(score))
            for a, b, kind, score in self.conn.execute(
                "SELECT d.a, d.b, d.kind, d.score FROM duplicate_pairs d "
                "JOIN photos pa ON pa.id = d.a AND pa.status = 'indexed' "
                "JOIN photos pb ON pb.id = d.b AND pb.status = 'indexed' ORDER BY d.a, d.b"
            )
        ]

    def save_duplicate_pairs(
        self,
        pairs: Iterable[tuple[int, int, str, float]],
        *,
        replace_kinds: Sequence[str] = (),
        replace_ids: Sequence[int] | None = None,
    ) -> None:
        """Store pairs (a stronger kind wins over a weaker one for the same two photos). First
        forgets the pairs of ``replace_kinds`` (all of them, or those touching
        ``replace_ids``), all in one transaction."""
        rank = {k: i for i, k in enumerate(PAIR_KINDS)}
        best: dict[tuple[int, int], tuple[str, float]] = {}
        for a, b, kind, score in pairs:
            key = (min(a, b), max(a, b))
            if key[0] == key[1]:
                continue
            if key not in best or rank[kind] < rank[best[key][0]]:
                best[key] = (kind, score)
        with self.transaction() as conn:
            for kind in replace_kinds:
                if replace_ids is None:
                    conn.execute("DELETE FROM duplicate_pairs WHERE kind = ?", (kind,))
                    continue
                for chunk, marks in _id_chunks(replace_ids):
                    conn.execute(
                        f"DELETE FROM duplicate_pairs WHERE kind = ? AND (a IN ({marks}) OR "
                        f"b IN ({marks}))",
                        [kind, *chunk, *chunk],
                    )
            conn.executemany(
                "INSERT INTO duplicate_pairs (a, b, kind, score) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (a, b) DO UPDATE SET kind = excluded.kind, score = excluded.score "
                "WHERE (CASE excluded.kind WHEN 'exact' THEN 0 WHEN 'same' THEN 1 ELSE 2 END) "
                "<= (CASE kind WHEN 'exact' THEN 0 WHEN 'same' THEN 1 ELSE 2 END)",
                ((a, b, kind, score) for (a, b), (kind, score) in best.items()),
            )

    # -- decisions -------------------------------------------------------------------------

    def duplicate_marks(self) -> dict[int, str]:
        return {
            int(pid): str(state)
            for pid, state in self.conn.execute("SELECT photo_id, state FROM duplicate_marks")
        }

    def set_duplicate_marks(self, marks: dict[int, str | None]) -> None:
        """Mark photos kept or hidden from search; None forgets the mark."""
        now = time.time()
        with self.transaction() as conn:
            for pid, state in marks.items():
                if state is None:
                    conn.execute("DELETE FROM duplicate_marks WHERE photo_id = ?", (pid,))
                    continue
                if state not in MARK_STATES:
                    raise ValueError(f"unknown duplicate mark {state!r}")
                conn.execute(
                    "INSERT OR REPLACE INTO duplicate_marks (photo_id, state, marked_at) "
                    "VALUES (?, ?, ?)",
                    (pid, state, now),
                )

    def hidden_photo_ids(self) -> list[int]:
        """Photos the user hid from search as copies of another."""
        return [
            int(r[0])
            for r in self.conn.execute(
                "SELECT photo_id FROM duplicate_marks WHERE state = 'hidden'"
            )
        ]

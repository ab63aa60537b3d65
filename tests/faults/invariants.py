"""NOTHING LOST: the one checker every fault case ends with.

``check`` reads the real library file (read-only) and the real photo folders and returns a
``Verdict``: which photos were lost, which rows are duplicated, and any other broken rule:

- ``PRAGMA integrity_check`` is ok and no foreign key dangles;
- one photos row per photo file on disk: no path twice, no photo (same content fingerprint)
  under two rows, and, once indexing has finished, a row for every file and none for files
  that aren't there (folders that can't be reached keep theirs);
- one vector per indexed photo per model, and a thumbnail for each indexed photo;
- the photo folders are byte-identical to before (photoclip never modifies photos);
- every photo that was indexed before the fault still is: same photo id, same vector bytes,
  same thumbnail.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from photoclip.scanner import PHOTO_EXTENSIONS


@dataclass(frozen=True)
class PhotoRow:
    id: int
    path: str
    status: str
    fingerprint: str | None


@dataclass
class Library:
    """What a library file holds, read in one go (photos, vector bytes, thumbnail hashes)."""

    integrity: str
    foreign_key_violations: int
    photos: dict[int, PhotoRow]
    vectors: dict[tuple[int, int], bytes]  # (photo id, model id) -> vector bytes
    thumbnails: dict[int, str]  # photo id -> sha256 of the JPEG
    models: dict[int, str]  # model id -> key

    @property
    def indexed(self) -> dict[int, PhotoRow]:
        return {i: r for i, r in self.photos.items() if r.status == "indexed"}

    def by_path(self) -> dict[str, PhotoRow]:
        return {r.path: r for r in self.photos.values()}

    def only(self, ids: Iterable[int]) -> Library:
        """The same library restricted to these photo ids (for "these must survive")."""
        keep = set(ids)
        return Library(
            self.integrity,
            self.foreign_key_violations,
            {i: r for i, r in self.photos.items() if i in keep},
            {k: v for k, v in self.vectors.items() if k[0] in keep},
            {i: t for i, t in self.thumbnails.items() if i in keep},
            dict(self.models),
        )


def read_library(db: Path) -> Library:
    """Read-only snapshot of the library at ``db`` (the CLI is not running)."""
    assert db.is_file(), f"the library file {db} is gone"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "photos" not in tables:  # killed before the schema was made: nothing to lose yet
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
            return Library(integrity, 0, {}, {}, {}, {})
        integrity = "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check"))
        fk = len(conn.execute("PRAGMA foreign_key_check").fetchall())
        photos = {
            r[0]: PhotoRow(*r)
            for r in conn.execute("SELECT id, path, status, fingerprint FROM photos")
        }
        vectors = {
            (r[0], r[1]): bytes(r[2])
            for r in conn.execute("SELECT photo_id, model_id, vector FROM vectors")
        }
        thumbs = {
            r[0]: hashlib.sha256(r[1]).hexdigest()
            for r in conn.execute("SELECT photo_id, jpeg FROM thumbnails")
        }
        models = dict(conn.execute("SELECT id, key FROM models").fetchall())
    finally:
        conn.close()
    return Library(integrity, fk, photos, vectors, thumbs, models)


def photo_files(roots: Iterable[Path]) -> set[str]:
    """Every photo file below ``roots`` as photoclip names them (absolute paths)."""
    found: set[str] = set()
    for root in roots:
        for folder, dirs, files in os.walk(os.path.abspath(root)):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if not name.startswith(".") and os.path.splitext(name)[1].lower() in (
                    PHOTO_EXTENSIONS
                ):
                    found.add(os.path.join(folder, name))
    return found


def tree_state(*roots: Path) -> dict[str, tuple[str, int, int]]:
    """Every file below ``roots``: path -> (sha256, size, mtime_ns). Equal before and after
    means the folders are byte-identical and untouched."""
    state: dict[str, tuple[str, int, int]] = {}
    for root in roots:
        for folder, _dirs, files in os.walk(root):
            for name in files:
                path = os.path.join(folder, name)
                st = os.stat(path)
                with open(path, "rb") as f:
                    digest = hashlib.file_digest(f, "sha256").hexdigest()
                state[path] = (digest, st.st_size, st.st_mtime_ns)
    return state


@dataclass
class Verdict:
    lost: set[str] = field(default_factory=set)  # paths of photos lost
    duplicated: set[str] = field(default_factory=set)  # paths of rows beyond one per photo
    rules: dict[str, list[str]] = field(default_factory=dict)  # rule broken -> examples
    library: Library | None = None

    def fail(self, rule: str, items: Iterable[object]) -> None:
        found = sorted(map(str, items))
        if found:
            self.rules.setdefault(rule, []).extend(found)

    @property
    def broken(self) -> list[str]:
        out = []
        for rule, items in self.rules.items():
            more = f" (+{len(items) - 4} more)" if len(items) > 4 else ""
            out.append(f"{rule}: {len(items)}: {', '.join(items[:4])}{more}")
        return out

    @property
    def ok(self) -> bool:
        return not self.rules

    def assert_ok(self, when: str = "") -> None:
        assert self.ok, (
            f"NOTHING LOST broken{' ' + when if when else ''}: "
            f"{len(self.lost)} photos lost, {len(self.duplicated)} rows duplicated\n  "
            + "\n  ".join(self.broken)
        )


def check(
    db: Path,
    roots: Iterable[Path],
    *,
    before: Library | None = None,
    tree: dict[str, tuple[str, int, int]] | None = None,
    complete: bool = False,
    unreachable: Iterable[Path] = (),
    moved: dict[str, str] | None = None,
) -> Verdict:
    """Check NOTHING LOST on the library ``db`` whose photo folders are ``roots``.

    before: photos that must still be there, same id, same vector bytes, same thumbnail.
    tree: ``tree_state(*roots)`` from before the fault, to compare the folders with.
    complete: indexing has finished: every photo file on disk is indexed, and no row names a
        file that isn't on disk.
    unreachable: folders the fault made unreadable (unplugged, failing to list): their rows
        are not expected to match the disk.
    moved: old path -> new path of photos the test moved or renamed (either path is accepted
        for them: "complete" then requires the new one).
    """
    roots = [Path(r) for r in roots]
    v = Verdict()
    if not db.exists() and before is None and not complete:
        return v  # killed before the library file was created: nothing to lose yet
    lib = read_library(db)
    v.library = lib
    if lib.integrity != "ok":
        v.fail("PRAGMA integrity_check", [lib.integrity])
    if lib.foreign_key_violations:
        v.fail("foreign key violations", [lib.foreign_key_violations])

    # One row per photo: no path twice, no content under two rows.
    paths = Counter(r.path for r in lib.photos.values())
    dup_paths = {p for p, n in paths.items() if n > 1}
    prints = Counter(r.fingerprint for r in lib.photos.values() if r.fingerprint)
    dup_prints = {
        r.path for r in lib.photos.values() if r.fingerprint and prints[r.fingerprint] > 1
    }
    v.duplicated |= dup_paths | dup_prints
    v.fail("a path in two rows", dup_paths)
    v.fail("one photo (same content) in several rows", dup_prints)

    # Rows and files on disk.
    away = [os.path.abspath(u) + os.sep for u in unreachable]
    on_disk = photo_files(roots)
    by_path = lib.by_path()
    reachable_rows = {p for p in by_path if not any(p.startswith(a) for a in away)}
    if complete:
        not_indexed = {p for p in on_disk if p not in by_path or by_path[p].status != "indexed"}
        v.fail("photo files on disk that aren't indexed", not_indexed)
        v.fail("rows for files that aren't on disk", reachable_rows - on_disk)

    # Vectors and thumbnails of indexed photos.
    indexed = lib.indexed
    used_models = {m for (_p, m) in lib.vectors}
    for model in used_models:
        missing = [indexed[i].path for i in indexed if (i, model) not in lib.vectors]
        v.fail(f"indexed photos without a {lib.models.get(model)} vector", missing)
    # (A photo whose file turned unreadable may keep other models' vectors: not a loss.)
    v.fail("indexed photos without a thumbnail", [r.path for i, r in indexed.items()
                                                  if i not in lib.thumbnails])  # fmt: skip

    # The photo folders are untouched.
    if tree is not None:
        now = tree_state(*roots)
        changed = {p for p in set(tree) | set(now) if tree.get(p) != now.get(p)}
        v.fail("photo folder files changed by photoclip", changed)

    # Everything indexed before is still there, same id, same vector, same thumbnail.
    if before is not None:
        moved = moved or {}
        was = before.indexed
        for pid, old in was.items():
            new = lib.photos.get(pid)
            # A moved photo may still be under its old path while a rescan is under way.
            paths = {old.path, moved.get(old.path, old.path)}
            if new is None or new.status != "indexed" or new.path not in paths:
                v.lost.add(old.path)
                v.fail("indexed photos lost or changed (id, path or status)",
                       [f"{old.path} (id {pid}) is now {new}"])  # fmt: skip
        for (pid, model), vec in before.vectors.items():
            if pid in was and lib.vectors.get((pid, model)) != vec:
                v.lost.add(was[pid].path)
                v.fail("vectors lost or rewritten", [f"{was[pid].path} (id {pid})"])
        for pid, thumb in before.thumbnails.items():
            if pid in was and lib.thumbnails.get(pid) != thumb:
                v.lost.add(was[pid].path)
                v.fail("thumbnails lost or rewritten", [f"{was[pid].path} (id {pid})"])
    return v

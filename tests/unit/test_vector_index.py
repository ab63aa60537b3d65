"""VectorIndex kept in step with a real library database, and ranking over its snapshot."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from photoclip import search as search_module
from photoclip.models import ModelIdentity
from photoclip.search import GrowableMatrix, Searcher, VectorIndex
from photoclip.store import Store

DIM = 8


class Library:
    """A real store with one folder and one model, and helpers that write rows the way the
    indexer does (one transaction per batch)."""

    def __init__(self, store: Store, root: str) -> None:
        self.store = store
        self.root = root
        os.makedirs(root, exist_ok=True)  # the library takes only folders that exist
        self.folder = store.add_folder(root)
        self.model = store.model_id(ModelIdentity("test-arch", "test", "f" * 64, DIM))
        self.rng = np.random.default_rng(0)

    def unit(self, vec=None) -> np.ndarray:
        vec = self.rng.normal(size=DIM) if vec is None else np.asarray(vec, np.float64)
        return (vec / np.linalg.norm(vec)).astype(np.float32)

    def add(self, names, vectors=None, model: int | None = None) -> list[int]:
        vectors = vectors if vectors is not None else [self.unit() for _ in names]
        ids = []
        with self.store.transaction() as conn:
            for name, vec in zip(names, vectors, strict=True):
                pid = self.store.upsert_photo(
                    conn,
                    {
                        "folder_id": self.folder,
                        "path": f"{self.root}/{name}",
                        "size": 1,
                        "mtime_ns": 1,
                        "status": "indexed",
                        "indexed_at": time.time(),
                    },
                )
                self.set_vector(conn, pid, vec, model)
                ids.append(pid)
        return ids

    def set_vector(self, conn, pid: int, vec, model: int | None = None) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO vectors (photo_id, model_id, vector) VALUES (?, ?, ?)",
            (pid, self.model if model is None else model, np.asarray(vec, np.float32).tobytes()),
        )

    def delete_photos(self, ids) -> None:
        with self.store.transaction() as conn:
            conn.executemany("DELETE FROM photos WHERE id = ?", [(i,) for i in ids])

    def index(self) -> VectorIndex:
        return VectorIndex(self.store, self.model, DIM)


@pytest.fixture
def lib(library, tmp_path) -> Library:
    return Library(library, str(tmp_path / "photos"))


def assert_index_matches_store(index: VectorIndex, lib: Library) -> None:
    ids, mat = index.snapshot()
    assert len(ids) == len(set(ids.tolist())), "a photo appears twice in the index"
    stored = lib.store.conn.execute(
        "SELECT photo_id, vector FROM vectors WHERE model_id = ?", (lib.model,)
    ).fetchall()
    assert sorted(ids.tolist()) == sorted(pid for pid, _ in stored)
    by_id = {pid: np.frombuffer(blob, np.float32) for pid, blob in stored}
    assert mat.dtype == np.float16  # held as float16; float32 on disk
    for pid, row in zip(ids.tolist(), mat, strict=True):
        np.testing.assert_array_equal(row, by_id[pid].astype(np.float16))


def test_refresh_loads_every_vector_of_the_model(lib):
    lib.add([f"{i}.jpg" for i in range(50)])
    index = lib.index()
    assert len(index) == 0

    index.refresh()

    assert len(index) == 50
    assert_index_matches_store(index, lib)


def test_vectors_of_another_model_are_never_mixed_in(lib):
    mine = lib.add(["a.jpg", "b.jpg"])
    other = lib.store.model_id(ModelIdentity("other-arch", "x", "e" * 64, DIM))
    with lib.store.transaction() as conn:
        for pid in mine:
            lib.set_vector(conn, pid, lib.unit(), model=other)
    index = lib.index()

    index.refresh()

    assert sorted(index.snapshot()[0].tolist()) == sorted(mine)
    assert_index_matches_store(index, lib)


def test_new_vectors_are_appended_without_reloading(lib, monkeypatch):
    lib.add([f"{i}.jpg" for i in range(20)])
    index = lib.index()
    index.refresh()
    first_ids, first_rows = (a.copy() for a in index.snapshot())
    asked_after: list[int] = []
    full_scans: list[int] = []
    real_since, real_all = lib.store.vectors_since, lib.store.vector_photo_ids

    def recording_since(model_id, after_id, dim, limit=None):
        asked_after.append(after_id)
        return real_since(model_id, after_id, dim, limit)

    def recording_all(model_id):
        full_scans.append(model_id)
        return real_all(model_id)

    monkeypatch.setattr(lib.store, "vectors_since", recording_since)
    monkeypatch.setattr(lib.store, "vector_photo_ids", recording_all)
    last_known = lib.store.conn.execute("SELECT MAX(id) FROM vectors").fetchone()[0]

    new = lib.add(["new1.jpg", "new2.jpg", "new3.jpg"])
    index.refresh()

    assert asked_after == [last_known]  # only rows written since the last refresh were read
    assert full_scans == []
    ids, rows = index.snapshot()
    assert ids.tolist() == [*first_ids.tolist(), *new]
    np.testing.assert_array_equal(rows[:20], first_rows)
    assert_index_matches_store(index, lib)

    index.refresh()  # nothing new: nothing changes
    assert index.snapshot()[0].tolist() == ids.tolist()
    assert full_scans == []


def test_a_re_embedded_photo_is_replaced_not_duplicated(lib):
    ids = lib.add([f"{i}.jpg" for i in range(10)])
    index = lib.index()
    index.refresh()
    fresh = lib.unit()

    with lib.store.transaction() as conn:
        lib.set_vector(conn, ids[3], fresh)
    index.refresh()

    assert len(index) == 10
    assert_index_matches_store(index, lib)
    snapshot_ids, rows = index.snapshot()
    np.testing.assert_array_equal(
        rows[snapshot_ids.tolist().index(ids[3])], fresh.astype(np.float16)
    )


def test_a_deleted_photo_drops_out_on_refresh(lib):
    ids = lib.add([f"{i}.jpg" for i in range(10)])
    index = lib.index()
    index.refresh()

    lib.delete_photos([ids[0], ids[7]])  # its vector goes with it (ON DELETE CASCADE)
    index.refresh()

    assert len(index) == 8
    assert not {ids[0], ids[7]} & set(index.snapshot()[0].tolist())
    assert_index_matches_store(index, lib)


def test_deleting_and_adding_between_refreshes(lib):
    ids = lib.add([f"{i}.jpg" for i in range(10)])
    index = lib.index()
    index.refresh()

    lib.delete_photos(ids[-3:])  # the newest rows
    added = lib.add(["later1.jpg", "later2.jpg"])
    index.refresh()

    assert set(index.snapshot()[0].tolist()) == set(ids[:-3]) | set(added)
    assert_index_matches_store(index, lib)


def test_a_photo_added_after_the_newest_was_deleted_is_found(lib):
    """SQLite hands a deleted last row's id to the next insert unless told otherwise; the
    index must still notice the new vector."""
    ids = lib.add([f"{i}.jpg" for i in range(5)])
    index = lib.index()
    index.refresh()

    lib.delete_photos([ids[-1]])
    index.refresh()
    (new,) = lib.add(["new.jpg"])
    index.refresh()

    assert new in index.snapshot()[0].tolist()
    assert_index_matches_store(index, lib)


def test_a_photo_that_broke_and_was_fixed_gets_its_new_vector(lib):
    """The indexer deletes the vector of a photo that became unreadable and writes a new one
    when it is readable again (here both before the next refresh)."""
    ids = lib.add([f"{i}.jpg" for i in range(5)])
    index = lib.index()
    index.refresh()
    fixed = lib.unit()

    with lib.store.transaction() as conn:
        conn.execute("DELETE FROM vectors WHERE photo_id = ?", (ids[-1],))
    with lib.store.transaction() as conn:
        lib.set_vector(conn, ids[-1], fixed)
    index.refresh()

    assert_index_matches_store(index, lib)


def test_an_index_opened_after_deletions_matches_the_store(lib):
    ids = lib.add([f"{i}.jpg" for i in range(6)])
    lib.delete_photos(ids[:2])
    assert lib.store.vector_deletions() == 2
    index = lib.index()

    index.refresh()
    lib.delete_photos(ids[2:3])
    index.refresh()

    assert sorted(index.snapshot()[0].tolist()) == ids[3:]
    assert_index_matches_store(index, lib)


def test_ranking_over_the_snapshot_finds_the_nearest_photos(lib):
    names = [f"{i}.jpg" for i in range(200)]
    ids = lib.add(names)
    target = lib.unit()
    near = lib.add(["near.jpg"], [lib.unit(target + 0.05 * lib.rng.normal(size=DIM))])
    nearer = lib.add(["nearer.jpg"], [lib.unit(target + 0.01 * lib.rng.normal(size=DIM))])
    index = lib.index()
    index.refresh()

    snapshot_ids, mat = index.snapshot()
    scores = mat @ target
    best = snapshot_ids[np.argsort(-scores)[:2]].tolist()

    assert best == [nearer[0], near[0]]
    assert set(snapshot_ids.tolist()) == set(ids + near + nearer)


class _IdentityOnly:
    """Stands in for the embedder where only its identity is read: ranking a vector never
    runs the model."""

    def __init__(self, identity: ModelIdentity) -> None:
        self.identity = identity


def test_pages_of_a_ranking_with_duplicate_photos_neither_repeat_nor_skip(lib):
    # 40 distinct photos, each copied three times: copies score exactly alike.
    vectors = [lib.unit() for _ in range(40)]
    ids = lib.add([f"{i}-{c}.jpg" for i in range(40) for c in range(3)], [
        v for v in vectors for _ in range(3)
    ])  # fmt: skip
    searcher = Searcher(lib.store, _IdentityOnly(ModelIdentity("test-arch", "test", "f" * 64, DIM)))
    assert searcher.model_id == lib.model
    query = lib.unit()

    pages = [searcher.rank(query, limit=7, offset=start).hits for start in range(0, 120, 7)]

    shown = [h.photo_id for page in pages for h in page]
    assert sorted(shown) == sorted(ids)
    scores = [h.score for page in pages for h in page]
    assert scores == sorted(scores, reverse=True)


def test_a_load_in_chunks_equals_a_load_in_one(lib, monkeypatch):
    lib.add([f"{i}.jpg" for i in range(50)])
    whole = lib.index()
    whole.refresh()  # 50 rows: one chunk

    monkeypatch.setattr(search_module, "LOAD_ROWS", 7)
    chunked = lib.index()
    chunked.refresh()  # 8 chunks

    assert chunked.snapshot()[0].tolist() == whole.snapshot()[0].tolist()
    np.testing.assert_array_equal(chunked.snapshot()[1], whole.snapshot()[1])
    assert_index_matches_store(chunked, lib)


def test_a_photo_re_embedded_between_two_chunks_of_a_load_is_there_once(lib, monkeypatch):
    ids = lib.add([f"{i}.jpg" for i in range(30)])
    monkeypatch.setattr(search_module, "LOAD_ROWS", 10)
    real_since = lib.store.vectors_since
    fresh = lib.unit()

    def since_then_re_embed(model_id, after_id, dim, limit=None):
        got = real_since(model_id, after_id, dim, limit)
        if after_id == 0:  # the first chunk is read: photo 3 gets a new vector (a new row)
            with lib.store.transaction() as conn:
                lib.set_vector(conn, ids[3], fresh)
        return got

    monkeypatch.setattr(lib.store, "vectors_since", since_then_re_embed)
    index = lib.index()
    index.refresh()

    assert len(index) == 30
    assert_index_matches_store(index, lib)  # once, with the new vector
    got_ids, rows = index.snapshot()
    np.testing.assert_array_equal(rows[got_ids.tolist().index(ids[3])], fresh.astype(np.float16))


def test_keeping_rows_across_chunks_keeps_them_in_order(monkeypatch):
    monkeypatch.setattr(search_module, "LOAD_ROWS", 3)
    rng = np.random.default_rng(5)
    m = GrowableMatrix(4, np.float16)
    rows = rng.normal(size=(20, 4)).astype(np.float16)
    m.append(np.arange(20) * 10, rows)
    mask = rng.random(20) < 0.5

    m.keep(mask)

    assert m.ids.tolist() == (np.arange(20) * 10)[mask].tolist()
    np.testing.assert_array_equal(m.matrix, rows[mask])


def test_the_strong_match_check_reads_the_vectors_of_the_photos_left_after_exclusions(lib):
    lib.add([f"{i}.jpg" for i in range(200)])
    target = lib.unit()
    close = lib.add(
        [f"close{i}.jpg" for i in range(6)],
        [lib.unit(target + 0.1 * lib.rng.normal(size=DIM)) for _ in range(6)],
    )
    searcher = Searcher(lib.store, _IdentityOnly(ModelIdentity("test-arch", "test", "f" * 64, DIM)))
    checked: list[np.ndarray] = []

    def about(qvec, best_photos, library):
        checked.append(best_photos)
        return False

    searcher.about = about  # type: ignore[method-assign]
    excluded = close[:2]
    searcher.rank(target, exclude=excluded)

    assert len(checked) == 1 and len(checked[0])
    ids, mat = searcher.index.snapshot()
    scores = mat.astype(np.float32) @ target
    scores[np.isin(ids, excluded)] = -np.inf
    best = np.argsort(-scores, kind="stable")[: len(checked[0])]
    assert not set(ids[best].tolist()) & set(excluded)
    np.testing.assert_array_equal(checked[0], mat[best].astype(np.float32))

"""The search bar, Things and smart albums each have a Searcher; they rank with one shared
matrix of the library's vectors (a gigabyte for a million photos), kept consistent for a
reader while another thread's refresh drops deleted photos."""

from __future__ import annotations

import gc
import weakref

import numpy as np

from photoclip import half_matrix
from photoclip.indexer import Indexer
from photoclip.search import Searcher
from photoclip.store import Store


def test_searchers_of_one_library_share_one_index(tmp_path, small_shapes_dir, tiny_embedder):
    store = Store(tmp_path / "lib" / "library.db")
    Indexer(store, tiny_embedder, batch_size=8).run([str(small_shapes_dir)], add=True)
    bar, things = Searcher(store, tiny_embedder), Searcher(store, tiny_embedder)
    assert bar.index is things.index

    query = tiny_embedder.encode_text(["a red circle"])[0]
    assert bar.rank(query, limit=100).total == 40
    ids, matrix, _ = bar.index.scores(query)  # what a reader holds while ranking
    before = half_matrix.matmul(matrix, query)

    gone = [int(i) for i in ids[:10]]
    with store.transaction() as conn:
        store.delete_photos(conn, gone)
    result = things.rank(query, limit=100)  # this refresh drops them from the shared index
    assert result.total == 30 and not {h.photo_id for h in result.hits} & set(gone)
    assert bar.rank(query, limit=100).total == 30  # the other sees it at once

    # The reader's arrays are as they were: the 40 photos, their rows and scores.
    assert len(ids) == 40 and ids[:10].tolist() == gone
    np.testing.assert_array_equal(half_matrix.matmul(matrix, query), before)
    for photo_id, row in zip(ids[10:], matrix[10:], strict=True):
        stored = store.conn.execute(
            "SELECT vector FROM vectors WHERE photo_id = ?", (int(photo_id),)
        ).fetchone()[0]
        np.testing.assert_allclose(
            row.astype(np.float32), np.frombuffer(stored, np.float32), atol=2e-3
        )

    other = Store(tmp_path / "other" / "library.db")
    assert Searcher(other, tiny_embedder).index is not bar.index

    # Once no Searcher holds it, it goes, and the next one loads afresh.
    held = weakref.ref(bar.index)
    del bar, things
    gc.collect()
    assert held() is None
    again = Searcher(store, tiny_embedder)
    assert again.rank(query, limit=100).total == 30
    store.close()
    other.close()


def test_a_load_in_steps_ends_as_one_load(tmp_path, small_shapes_dir, tiny_embedder, monkeypatch):
    """The app preloads a library's vectors a few chunks at a time (search_worker): photos
    indexed, re-indexed or forgotten between the steps end up exactly as in a single load."""
    import photoclip.search as search_module
    from photoclip.search import VectorIndex

    monkeypatch.setattr(search_module, "LOAD_ROWS", 8)
    store = Store(tmp_path / "lib" / "library.db")
    indexer = Indexer(store, tiny_embedder, batch_size=8)
    indexer.run([str(small_shapes_dir)], add=True)
    model_id = store.model_id(tiny_embedder.identity)
    dim = tiny_embedder.identity.dim

    stepped = VectorIndex(store, model_id, dim)
    assert stepped.refresh(max_chunks=1) is False and len(stepped) == 8
    assert stepped.refresh(max_chunks=2) is False and len(stepped) == 24

    # Meanwhile: a photo changes (re-embedded: a newer vector row), one is deleted, and
    # new ones arrive.
    photos = sorted(small_shapes_dir.rglob("*.jpg"))
    changed, deleted = photos[0], photos[-1]  # the first is in the part already read
    from PIL import Image

    with Image.open(changed) as im:
        im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(changed, quality=90)
    deleted.unlink()
    extra = small_shapes_dir / "extra"
    extra.mkdir()
    for path in photos[1:4]:
        with Image.open(path) as im:
            im.rotate(90, expand=True).save(extra / path.name, quality=90)
    report = indexer.run()
    assert (report.changed, report.removed, report.indexed) == (1, 1, 4)

    steps = 0
    while not stepped.refresh(max_chunks=1):
        steps += 1
        assert steps < 20
    assert steps >= 2

    whole = VectorIndex(store, model_id, dim)
    assert whole.refresh() is True
    ids, mat = stepped.snapshot()
    ids2, mat2 = whole.snapshot()
    assert len(ids) == len(set(ids.tolist())) == 42
    order, order2 = np.argsort(ids), np.argsort(ids2)
    np.testing.assert_array_equal(ids[order], ids2[order2])
    np.testing.assert_array_equal(mat[order], mat2[order2])
    store.close()

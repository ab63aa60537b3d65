"""The index holds vectors as float16 (half the memory): on the tests' library, indexed by the
tiny CLIP trained here, it ranks (each photo by its best view) and tells strong matches as the
float32 vectors stored on disk do."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from photoclip import preprocess
from photoclip.calibration import CANDIDATES, NeutralBank, about_library, strong_cut
from photoclip.search import Searcher, robust_spread, top_k
from tools.shapes import COLOURS, SHAPES

QUERIES = [f"a {colour} {shape}" for colour in COLOURS for shape in SHAPES]
SCORE_ERROR = 5e-4  # float16 keeps a unit vector's components to ~1 part in 2,000


@pytest.fixture(scope="module")
def searcher(shapes_searcher):
    return shapes_searcher


def float32_scores(searcher: Searcher, qvec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What a float32 index would rank by: each photo's best view, from the float32 vectors
    the library stores (VectorIndex.scores' rule)."""
    store, model, dim = searcher.store, searcher.model_id, searcher.index.dim
    ids, mat, _ = store.vectors_since(model, 0, dim)
    scores = mat @ qvec
    _, owners, views, _ = store.view_vectors_since(model, 0, dim)
    row = {int(p): i for i, p in enumerate(ids)}
    margin = preprocess.EXTRA_VIEW_MARGIN * robust_spread(scores)
    for owner, score in zip(owners.tolist(), (views @ qvec - margin).tolist(), strict=True):
        scores[row[owner]] = max(scores[row[owner]], score)
    return ids, scores


def test_the_float16_index_ranks_as_the_stored_float32_vectors(searcher):
    ids32, mat32, _ = searcher.store.vectors_since(searcher.model_id, 0, searcher.index.dim)
    assert len(searcher.store.view_vectors_since(searcher.model_id, 0, mat32.shape[1])[1])
    searcher.index.refresh()
    assert searcher.index.snapshot()[1].dtype == np.float16
    bank32 = NeutralBank.measure(searcher._neutral_vectors(embed=True), mat32)
    reordered = 0
    for query in QUERIES:
        qvec = searcher.query_vector(query)
        _, scores32 = float32_scores(searcher, qvec)
        ids16, _, scores16 = searcher.index.scores(qvec)
        assert ids16.tolist() == ids32.tolist()
        assert np.abs(scores16 - scores32).max() < SCORE_ERROR

        result = searcher.search(query, limit=10)
        top16 = [h.photo_id for h in result.hits]
        top32 = ids32[top_k(scores32, 10)].tolist()
        assert set(top16) == set(top32), query
        # Any change of order is between photos the float32 scores can't tell apart either.
        by_id = dict(zip(ids32.tolist(), scores32.tolist(), strict=True))
        in_order = [by_id[p] for p in top16]
        assert all(a >= b - 2 * SCORE_ERROR for a, b in itertools.pairwise(in_order)), query
        reordered += top16 != top32

        candidates = int((scores32 >= strong_cut(scores32)).sum())
        best32 = mat32[top_k(scores32, min(candidates, CANDIDATES))]
        about = about_library(searcher.phrasings(qvec), best32, bank32)
        assert result.strong_count == (candidates if about else 0), query
    assert reordered <= len(QUERIES) // 8  # near ties only

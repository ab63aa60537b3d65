"""Feeding photos to the model another way (issue #11), end to end: held-out photos whose shape
lies anywhere in frames of 4:3 to 3:1, the production indexer and searcher with the tiny model.
The vectors of two ways are never ranked together, a photo is most similar to itself either
way, and a library embedded the older way (open_clip's centre square) keeps answering searches
while it is embedded again. How much each way finds: bench/bench_framing.py."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from photoclip.indexer import Indexer
from photoclip.models import LEGACY_PREPROCESS
from photoclip.preprocess import CENTRE, EXTRA_VIEW_MARGIN, WHOLE
from photoclip.search import Searcher, Term, robust_spread
from photoclip.serving import serving_embedder
from photoclip.store import Store
from photoclip.ui.model_switch import settle_first_model
from tools.shapes import write_framed_library


@pytest.fixture(scope="module")
def framed(tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    """150 held-out photos (seed unlike training's and the bench's), 30 in each frame."""
    root = tmp_path_factory.mktemp("framed")
    manifest = write_framed_library(root, 150, seed=20261130)
    return root, {str((root / e["path"]).resolve()): e for e in manifest}


@pytest.fixture(scope="module")
def indexed_both_ways(tiny_embedder, framed, tmp_path_factory):
    root, _ = framed
    store = Store(tmp_path_factory.mktemp("lib") / "library.db")
    centre, whole = tiny_embedder.with_preprocess(CENTRE), tiny_embedder.with_preprocess(WHOLE)
    for embedder in (centre, whole):
        report = Indexer(store, embedder).run([str(root)], add=True)
        assert report.failed == 0
    yield store, centre, whole
    store.close()


def test_vectors_of_the_two_ways_are_never_ranked_together(framed, indexed_both_ways):
    _, manifest = framed
    store, centre, whole = indexed_both_ways
    whole_id, centre_id = store.model_id(whole.identity), store.model_id(centre.identity)
    assert whole_id != centre_id
    assert store.vector_count(whole_id) == store.vector_count(centre_id) == len(manifest)
    # Each searcher ranks its own vectors only: every photo once, scored by its own vector
    # (or, with the centre square, its own extra views: test_extra_views.py).
    views_of = "SELECT COUNT(*) FROM view_vectors WHERE model_id = ?"
    assert store.conn.execute(views_of, (whole_id,)).fetchone()[0] == 0
    assert store.conn.execute(views_of, (centre_id,)).fetchone()[0] > 0
    for embedder, model_id in ((whole, whole_id), (centre, centre_id)):
        hits = Searcher(store, embedder).search("a red circle", limit=1000).hits
        assert len(hits) == len({h.path for h in hits}) == len(manifest)
        query = embedder.encode_text(["a red circle"])[0]
        own = {
            h.path: float(store.vector_for_photo(store.photo_id_for_path(h.path), model_id) @ query)
            for h in hits
        }
        margin = EXTRA_VIEW_MARGIN * float(robust_spread(np.array(list(own.values()))))
        for hit in hits[:5]:
            best = own[hit.path]
            views = store.views_for_photo(store.photo_id_for_path(hit.path), model_id)
            if views is not None:
                best = max(best, float((views @ query).max()) - margin)
            assert best == pytest.approx(hit.score, abs=1e-4)


def test_find_similar_a_photo_is_most_similar_to_itself(framed, indexed_both_ways, tmp_path):
    """A copy from outside the library is embedded on the spot by the searcher; with either way
    of feeding photos, its original (embedded by the indexer, in batches) comes first."""
    _, manifest = framed
    store, centre, whole = indexed_both_ways
    picks: dict[str, str] = {}
    for path, entry in manifest.items():  # one photo of each frame, panoramas included
        picks.setdefault(entry["frame"], path)
    assert set(picks) == {"4:3", "3:2", "16:9", "9:16", "3:1"}
    for embedder in (whole, centre):
        searcher = Searcher(store, embedder)
        for frame, original in picks.items():
            copy = tmp_path / f"copy-{frame.replace(':', 'x')}.jpg"
            shutil.copyfile(original, copy)
            top = searcher.search([Term(1.0, image=str(copy))], limit=1).hits[0]
            assert (frame, top.path) == (frame, original)
            assert top.score == pytest.approx(1.0, abs=1e-3)


def test_an_upgraded_library_searches_its_older_vectors_until_it_is_embedded_again(
    tiny_embedder, framed, tmp_path
):
    root, manifest = framed
    store = Store(tmp_path / "library.db")
    older = tiny_embedder.with_preprocess(LEGACY_PREPROCESS)
    loaded = tiny_embedder.with_preprocess(WHOLE)  # as a photoclip that sees whole photos
    # The library as an older photoclip left it: every photo embedded from its centre square,
    # under the key those vectors always had.
    assert older.identity.key == loaded.identity.key.removesuffix(f"|{WHOLE}")
    Indexer(store, older).run([str(root)], add=True)
    store.set_setting("model", "tiny-shapes")
    by_older = [h.path for h in Searcher(store, older).search("a blue star", limit=10).hits]

    launch = settle_first_model(store, loaded)
    assert launch.upgrading and launch.pending is None
    assert launch.serving.identity == older.identity
    assert [
        h.path for h in Searcher(store, launch.serving).search("a blue star", limit=10).hits
    ] == by_older

    # Re-embedding starts; the app closes after the first batch.
    stop = threading.Event()
    first = Indexer(store, loaded, batch_size=16)
    report = first.run(on_batch=lambda _: stop.set(), stop=stop)
    assert 0 < report.indexed < len(manifest)
    launch = settle_first_model(store, loaded)  # the next launch
    assert launch.upgrading  # resumed: the older vectors still serve
    assert [
        h.path for h in Searcher(store, launch.serving).search("a blue star", limit=10).hits
    ] == by_older
    # Search by image while the older vectors serve: made the older way, so it fits them.
    some = next(iter(manifest))
    copy = tmp_path / "copy.jpg"
    shutil.copyfile(some, copy)
    assert (
        Searcher(store, launch.serving).search([Term(1.0, image=str(copy))], limit=1).hits[0].path
        == some
    )

    rest = Indexer(store, loaded).run()
    assert report.indexed + rest.indexed == len(manifest)
    launch = settle_first_model(store, loaded)
    assert not launch.upgrading and launch.serving is loaded
    whole_id = store.model_id(loaded.identity)
    assert store.vector_count(whole_id) == len(manifest)
    # The older vectors stay (nothing is thrown away), but are no longer what answers.
    assert store.vector_count(store.model_id(older.identity)) == len(manifest)
    assert Searcher(store, serving_embedder(store, loaded)).model_id == whole_id
    store.close()

"""Search quality end to end: the tiny CLIP trained here, photo-sized JPEGs on disk, the
production indexer (decode, preprocess, embed, store) and the production searcher."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from photoclip.indexer import Indexer
from photoclip.search import Searcher
from photoclip.store import Store
from tools.shapes import COLOURS, SHAPES


@pytest.fixture(scope="module")
def indexed(tiny_embedder, shapes_dir, tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("lib") / "library.db")
    report = Indexer(store, tiny_embedder).run([str(shapes_dir)], add=True)
    yield store, report
    store.close()


def colour_shape_queries(manifest):
    """Each "a {colour} {shape}" query with the set of photos that truly match it."""
    for colour in COLOURS:
        for shape in SHAPES:
            relevant = {
                p for p, e in manifest.items() if (e["colour"], e["shape"]) == (colour, shape)
            }
            if relevant:
                yield f"a {colour} {shape}", relevant


def test_every_held_out_photo_is_indexed(indexed, shapes_manifest):
    store, report = indexed
    assert report.failed == 0
    assert report.indexed == len(shapes_manifest) == 240
    assert store.counts()["vectors"] == 240


def test_text_to_image_recall_at_5(indexed, tiny_embedder, shapes_manifest):
    store, _ = indexed
    searcher = Searcher(store, tiny_embedder)
    hit_at_5, precision_at_5 = [], []
    for query, relevant in colour_shape_queries(shapes_manifest):
        top = [h.path for h in searcher.search(query, limit=5).hits]
        assert len(top) == 5
        hit_at_5.append(any(p in relevant for p in top))
        precision_at_5.append(sum(p in relevant for p in top) / min(5, len(relevant)))
    recall = statistics.mean(hit_at_5)
    precision = statistics.mean(precision_at_5)
    print(
        f"\n'a {{colour}} {{shape}}' over {len(shapes_manifest)} held-out photos, "
        f"{len(hit_at_5)} queries: recall@5 {recall:.3f}, precision@5 {precision:.3f}"
    )
    assert recall >= 0.95
    assert precision >= 0.80


def _zero_shot(store, embedder, manifest, field, classes, template):
    searcher = Searcher(store, embedder)
    prompts = embedder.encode_text([template.format(c) for c in classes])
    correct = 0
    for path, entry in manifest.items():
        pid = store.photo_id_for_path(path)
        vec = store.vector_for_photo(pid, searcher.model_id)
        predicted = classes[int(np.argmax(prompts @ vec))]
        correct += predicted == entry[field]
    return correct / len(manifest)


def test_zero_shot_colour_and_shape(indexed, tiny_embedder, shapes_manifest):
    store, _ = indexed
    colours = list(COLOURS)
    colour_acc = _zero_shot(store, tiny_embedder, shapes_manifest, "colour", colours, "a {} shape")
    shape_acc = _zero_shot(store, tiny_embedder, shapes_manifest, "shape", list(SHAPES), "a {}")
    print(f"\nzero-shot over 240 held-out photos: colour {colour_acc:.3f}, shape {shape_acc:.3f}")
    assert colour_acc >= 0.95
    assert shape_acc >= 0.85


def test_strong_matches_are_the_right_ones(indexed, tiny_embedder, shapes_manifest):
    """The relevance split marks true matches as strong and finds nearly all of them; strong
    matches lead the ranking. (Queries about nothing here: tests/e2e/test_strong_matches.py.)"""
    store, _ = indexed
    searcher = Searcher(store, tiny_embedder)
    precisions, recalls = [], []
    for query, relevant in colour_shape_queries(shapes_manifest):
        result = searcher.search(query, limit=240)
        strong = [h.path for h in result.hits if h.strong]
        assert result.strong_count == len(strong)
        assert all(h.strong for h in result.hits[: result.strong_count])
        assert all(h.score >= result.threshold for h in result.hits[: result.strong_count])
        found = sum(p in relevant for p in strong)
        if strong:
            precisions.append(found / len(strong))
        recalls.append(found / len(relevant))
    precision, recall = statistics.mean(precisions), statistics.mean(recalls)
    with_strong = len(precisions) / len(recalls)
    print(f"\nstrong matches over {len(recalls)} queries: precision {precision:.3f}, "
          f"recall {recall:.3f}, queries with a strong match {with_strong:.2f}")  # fmt: skip
    assert precision >= 0.86  # 0.881 measured (0.905 before the rule asked for 4 photos)
    assert recall >= 0.87  # 0.893 (0.938)
    assert with_strong >= 0.87  # 29 of 32 (31)


def test_similar_and_image_query_agree(indexed, tiny_embedder, shapes_manifest):
    store, _ = indexed
    searcher = Searcher(store, tiny_embedder)
    probe = next(
        p for p, e in shapes_manifest.items() if (e["colour"], e["shape"]) == ("blue", "square")
    )
    similar = searcher.similar(probe, limit=5)
    assert probe not in [h.path for h in similar.hits]  # a photo isn't its own look-alike
    same_colour = sum(shapes_manifest[h.path]["colour"] == "blue" for h in similar.hits)
    assert same_colour >= 4
    # The image as a query term in the algebra ranks the same way (the photo itself first).
    via_algebra = searcher.search(probe, limit=6)
    assert via_algebra.hits[0].path == probe
    assert [h.path for h in via_algebra.hits[1:]] == [h.path for h in similar.hits]


def test_query_algebra_moves_the_ranking(indexed, tiny_embedder, shapes_manifest):
    """'a circle - red' pushes red circles down compared with plain 'a circle'."""
    store, _ = indexed
    searcher = Searcher(store, tiny_embedder)

    def red_share(query):
        hits = searcher.search(query, limit=20).hits
        return sum(shapes_manifest[h.path]["colour"] == "red" for h in hits) / len(hits)

    assert red_share("a red circle") > red_share("a red circle - red + green")
    # (a phrase the tiny model was taught: it never saw a colour word alone)
    greens = searcher.search("a circle + 2:a green shape", limit=10).hits
    assert sum(shapes_manifest[h.path]["colour"] == "green" for h in greens) >= 7


def test_filters_and_pagination(indexed, tiny_embedder, shapes_manifest):
    store, _ = indexed
    searcher = Searcher(store, tiny_embedder)
    first = searcher.search("a yellow star", limit=10)
    second = searcher.search("a yellow star", limit=10, offset=10)
    everything = searcher.search("a yellow star", limit=1000)
    assert everything.total == 240 and len(everything.hits) == 240  # no hard cap
    assert [h.path for h in first.hits + second.hits] == [h.path for h in everything.hits[:20]]
    scores = [h.score for h in everything.hits]
    assert scores == sorted(scores, reverse=True)
    # Folder filter: the generator nests photos in sub-folders; only one folder is a library
    # folder here, so filter by file type instead, which excludes everything (all JPEG).
    from photoclip.search import Filters

    assert searcher.search("a yellow star", filters=Filters(formats=("PNG",))).total == 0
    assert searcher.search("a yellow star", filters=Filters(formats=("JPEG",))).total == 240

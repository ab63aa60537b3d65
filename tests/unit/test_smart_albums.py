"""The smart album's classifier on its own (photoclip.smart_albums): the logistic regression
with the text query as its prior, and the threshold chosen from held-out examples."""

from __future__ import annotations

import numpy as np

from photoclip.smart_albums import SmartQuery, choose_threshold, fit


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_with_no_examples_the_classifier_is_the_query():
    query = unit(np.array([1.0, 0.0, 0.0, 0.0]))
    x = np.zeros((0, 4))
    w, b = fit(x, np.zeros(0), np.zeros(0), 10 * query)
    assert np.allclose(w, 10 * query) and b == 0.0


def test_examples_turn_the_query_towards_what_was_marked():
    """The query points between two kinds of photo; the user marks one kind as belonging and
    the other not: the fitted weights now tell them apart, the query alone didn't."""
    rng = np.random.default_rng(0)
    wanted = unit(np.array([1.0, 1.0, 0.0, 0.0]) + rng.normal(0, 0.05, (5, 4)))
    unwanted = unit(np.array([1.0, -1.0, 0.0, 0.0]) + rng.normal(0, 0.05, (5, 4)))
    query = np.array([1.0, 0.0, 0.0, 0.0])
    x = np.concatenate([wanted, unwanted])
    y = np.r_[np.ones(5), np.zeros(5)]
    w, b = fit(x, y, np.ones(10), 10 * query)
    assert abs(float((wanted @ query).mean() - (unwanted @ query).mean())) < 0.1
    assert (wanted @ w + b).min() > (unwanted @ w + b).max()
    assert w[1] > 0  # learned: the second dimension is what matters


def test_the_threshold_falls_between_the_held_out_classes():
    p = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    y = np.array([0, 0, 0, 1, 1, 1])
    assert 0.3 < choose_threshold(p, y) < 0.7
    # one mistake can't be avoided: still the cut with the fewest
    p2 = np.array([0.1, 0.6, 0.3, 0.7, 0.8, 0.2])
    y2 = np.array([0, 0, 0, 1, 1, 1])
    cut = choose_threshold(p2, y2)
    assert int(((p2 >= cut) == (y2 == 1)).sum()) == 5


def test_a_smart_query_survives_json_and_bad_json():
    q = SmartQuery("beach - people", {"folder_id": 3, "formats": ["JPEG"]})
    back = SmartQuery.from_json(q.to_json())
    assert back == q
    filters = back.search_filters()
    assert filters is not None and filters.folder_id == 3 and filters.formats == ("JPEG",)
    assert SmartQuery.from_json("not json") == SmartQuery("")
    assert SmartQuery.from_json('{"text": "a"}').search_filters() is None

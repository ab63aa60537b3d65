"""Whether a query is about anything in the library (photoclip.calibration), on vectors built
by hand: no model, so each rule is seen on its own."""

from __future__ import annotations

import numpy as np
import pytest

from photoclip import calibration
from photoclip.calibration import NeutralBank, about_library, rephrase

DIM = 16


def unit(rows: np.ndarray) -> np.ndarray:
    rows = np.atleast_2d(rows).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def axis(i: int) -> np.ndarray:
    v = np.zeros(DIM, np.float32)
    v[i] = 1.0
    return v


@pytest.fixture
def library() -> np.ndarray:
    """300 photos of unrelated things (scattered over dimensions 2..15) and 12 of one subject
    (close to dimension 0)."""
    rng = np.random.default_rng(3)
    bulk = rng.normal(0, 1, (300, DIM))
    bulk[:, :2] = rng.normal(0, 0.2, (300, 2))  # nothing else points along 0 and 1
    subject = rng.normal(0, 0.1, (12, DIM))
    subject[:, 0] = 3.0
    return unit(np.concatenate([bulk, subject]))


def neutral(rng: np.random.Generator, count: int = 40) -> np.ndarray:
    """Captions about nothing in particular: directions among the unrelated photos."""
    captions = rng.normal(0, 1, (count, DIM))
    captions[:, :2] = 0.0
    return unit(captions)


def best_photos(library: np.ndarray, query: np.ndarray, k: int = 12) -> np.ndarray:
    return library[np.argsort(-(library @ query))[:k]]


def test_a_query_about_its_photos_stands_out_from_the_neutral_captions(library):
    bank = NeutralBank.measure(neutral(np.random.default_rng(1)), library)
    query = axis(0)

    assert about_library([query], best_photos(library, query), bank)


def test_photos_that_neutral_captions_reach_as_well_are_no_evidence(library):
    """The query's best photos are outliers for it, but two neutral captions single them out
    exactly as sharply: the query is no more about them than those captions are."""
    rng = np.random.default_rng(1)
    query = axis(0)
    lookalikes = np.stack([query, query])  # two captions that read exactly like the query
    bank = NeutralBank.measure(np.concatenate([neutral(rng), lookalikes]), library)

    assert not about_library([query], best_photos(library, query), bank)


def test_one_neutral_caption_that_describes_the_photos_does_not_veto_them(library):
    """The bar is the second-best caption on a photo: a bank of everyday captions will now and
    then hold one that fits a photo, and a query about that photo must still count."""
    rng = np.random.default_rng(1)
    query = axis(0)
    bank = NeutralBank.measure(np.concatenate([neutral(rng), query[None]]), library)

    assert calibration.BANK_RANK >= 2
    assert about_library([query], best_photos(library, query), bank)
    assert not about_library([query], best_photos(library, query), bank, rank=1)


def test_every_wording_must_be_about_the_photos(library):
    bank = NeutralBank.measure(neutral(np.random.default_rng(1)), library)
    query = axis(0)
    elsewhere = unit(np.random.default_rng(9).normal(0, 1, DIM))[0]

    assert about_library([query, query], best_photos(library, query), bank)
    assert not about_library([query, elsewhere], best_photos(library, query), bank)


def test_margin_raises_the_bar(library):
    bank = NeutralBank.measure(neutral(np.random.default_rng(1)), library)
    photos = best_photos(library, axis(0))

    assert about_library([axis(0)], photos, bank, margin=calibration.MARGIN)
    assert not about_library([axis(0)], photos, bank, margin=1e6)


def test_too_few_photos_or_none_to_check_is_never_a_match():
    rng = np.random.default_rng(1)
    two = unit(rng.normal(0, 1, (2, DIM)))
    bank = NeutralBank.measure(neutral(rng), two)

    assert not about_library([two[0]], two[:1], bank)
    big = NeutralBank.measure(neutral(rng), unit(rng.normal(0, 1, (50, DIM))))
    assert not about_library([two[0]], np.zeros((0, DIM), np.float32), big)


def test_caption_statistics_come_from_an_even_sample_and_are_remeasured_on_growth(monkeypatch):
    monkeypatch.setattr(calibration, "SAMPLE_ROWS", 100)
    rng = np.random.default_rng(1)
    library = unit(rng.normal(0, 1, (1000, DIM)))

    bank = NeutralBank.measure(neutral(rng), library)

    assert len(bank.sample) == 100 and bank.rows == 1000
    np.testing.assert_array_equal(bank.sample[0], library[0])
    np.testing.assert_array_equal(bank.sample[-1], library[-1])
    assert bank.columns.flags.c_contiguous  # the fast BLAS path (see measure())
    assert not bank.stale(1050) and not bank.stale(950)
    assert bank.stale(1200) and bank.stale(800)


def test_z_scores_read_a_query_on_its_own_scale(library):
    """Scaling a query's scores (a model with another temperature) leaves its z-scores alone."""
    bank = NeutralBank.measure(neutral(np.random.default_rng(1)), library)
    photos = best_photos(library, axis(0))

    np.testing.assert_allclose(bank.z(axis(0), photos), bank.z(3 * axis(0), photos), rtol=1e-5)


def test_a_query_is_reworded_as_a_photo_caption():
    assert rephrase("a red circle") == "a photo of a red circle"


def test_no_neutral_caption_is_repeated():
    assert len(set(calibration.NEUTRAL_CAPTIONS)) == len(calibration.NEUTRAL_CAPTIONS)


def test_a_lone_photo_that_stands_out_is_not_enough_unless_it_stands_out_far():
    """Unknown text that happens to land near one photo: clearing the bar there once is no
    match; a library's single photo of a thing must clear it by ``lone`` more."""
    rng = np.random.default_rng(1)
    query = axis(0)
    bank = NeutralBank.measure(neutral(rng), library_with_subject(1))
    photos = best_photos(library_with_subject(1), query, k=5)  # the one, then four others
    margin = 4.0  # a bar only the one photo clears
    assert int((bank.z(query, photos) > bank.bar(photos, margin=margin)).sum()) == 1
    assert not about_library([query], photos, bank, margin=margin, need=2, lone=100.0)
    assert about_library([query], photos, bank, margin=margin, need=2, lone=1.0)
    assert about_library([query], photos, bank, margin=margin, need=1, lone=100.0)


def library_with_subject(count: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    bulk = rng.normal(0, 1, (300, DIM))
    bulk[:, :2] = rng.normal(0, 0.2, (300, 2))
    subject = rng.normal(0, 0.1, (count, DIM))
    subject[:, 0] = 3.0
    return unit(np.concatenate([bulk, subject]))


def test_the_strong_cut_is_at_the_gap_that_sets_the_matches_apart():
    rng = np.random.default_rng(0)
    bulk = rng.normal(0.2, 0.02, 300)
    matches = rng.normal(0.32, 0.005, 25)  # 25 photos clearly above, not outliers by z alone
    scores = np.concatenate([bulk, matches]).astype(np.float32)
    cut = calibration.strong_cut(scores)
    assert (scores >= cut).sum() == 25
    # one far outlier above a flat bulk: the outlier rule lets in at least the outliers
    flat = np.r_[rng.normal(0.2, 0.01, 300), [0.5, 0.45]].astype(np.float32)
    assert (flat >= calibration.strong_cut(flat)).sum() >= 2
    assert calibration.strong_cut(np.zeros(0, np.float32)) == float("inf")
    assert calibration.strong_cut(np.array([0.3, 0.1], np.float32)) == pytest.approx(0.1)

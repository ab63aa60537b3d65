"""Search without a model: parsing queries, top-k selection, the strong-match threshold and the
growable vector matrix."""

from __future__ import annotations

import numpy as np
import pytest

from photoclip.errors import QueryError
from photoclip.search import GrowableMatrix, Term, parse_query, strong_threshold, top_k

# -- parse_query -------------------------------------------------------------------------------


@pytest.fixture
def ref_photo(tmp_path, monkeypatch):
    """A real reference photo, ./ref.jpg, in the current folder."""
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (16, 16), (200, 30, 30)).save(tmp_path / "ref.jpg")
    return tmp_path / "ref.jpg"


def test_plain_words_are_one_text_term():
    assert parse_query("kids building a sandcastle") == [
        Term(1.0, text="kids building a sandcastle")
    ]


def test_surrounding_and_repeated_spaces_are_ignored():
    assert parse_query("  red   car \t") == [Term(1.0, text="red car")]


def test_text_minus_text_plus_an_image(ref_photo):
    assert parse_query("beach - people + ./ref.jpg") == [
        Term(1.0, text="beach"),
        Term(-1.0, text="people"),
        Term(1.0, image=str(ref_photo)),
    ]


def test_a_bare_photo_name_in_the_current_folder_is_an_image(ref_photo):
    assert parse_query("ref.jpg") == [Term(1.0, image=str(ref_photo))]


def test_home_and_file_url_paths_are_images(ref_photo, monkeypatch):
    monkeypatch.setenv("HOME", str(ref_photo.parent))

    assert parse_query("~/ref.jpg") == [Term(1.0, image=str(ref_photo))]
    assert parse_query(f"file://{ref_photo}") == [Term(1.0, image=str(ref_photo))]
    assert parse_query(f"sunset - {ref_photo}") == [
        Term(1.0, text="sunset"),
        Term(-1.0, image=str(ref_photo)),
    ]


def test_a_quoted_path_is_text(ref_photo):
    assert parse_query('"./ref.jpg"') == [Term(1.0, text="./ref.jpg")]


def test_a_weight_prefix():
    assert parse_query("2:sunset") == [Term(2.0, text="sunset")]
    assert parse_query("sunset + .5:clouds") == [
        Term(1.0, text="sunset"),
        Term(0.5, text="clouds"),
    ]


def test_a_weight_on_a_quoted_phrase_keeps_its_plus_and_minus():
    assert parse_query('0.5:"a - b"') == [Term(0.5, text="a - b")]
    assert parse_query('2:sunset + "a lighthouse"') == [
        Term(2.0, text="sunset"),
        Term(1.0, text="a lighthouse"),
    ]


def test_quotes_keep_plus_and_minus_inside():
    assert parse_query('"rock - paper + scissors" - dog') == [
        Term(1.0, text="rock - paper + scissors"),
        Term(-1.0, text="dog"),
    ]
    assert parse_query("'salt + pepper'") == [Term(1.0, text="salt + pepper")]


def test_a_leading_minus_on_a_word_subtracts_it():
    assert parse_query("dog -leash") == [Term(1.0, text="dog"), Term(-1.0, text="leash")]
    assert parse_query("dog -leash +frisbee park") == [
        Term(1.0, text="dog"),
        Term(-1.0, text="leash"),
        Term(1.0, text="frisbee park"),
    ]
    assert parse_query("dog - -2:leash") == [Term(1.0, text="dog"), Term(-2.0, text="leash")]


def test_hyphenated_words_are_not_split():
    assert parse_query("well-known t-shirt") == [Term(1.0, text="well-known t-shirt")]
    assert parse_query("t-shirt -stripes") == [
        Term(1.0, text="t-shirt"),
        Term(-1.0, text="stripes"),
    ]
    assert parse_query("black-and-white portrait") == [Term(1.0, text="black-and-white portrait")]


def test_an_image_that_does_not_exist_is_a_query_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    with pytest.raises(QueryError, match=r"^The image \./missing\.jpg in the search"):
        parse_query("beach + ./missing.jpg")
    with pytest.raises(QueryError, match="can't be found"):
        parse_query("holiday.HEIC")


def test_a_folder_is_not_an_image(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "album.jpg").mkdir()

    with pytest.raises(QueryError, match="can't be found"):
        parse_query("./album.jpg")


@pytest.mark.parametrize("query", ["- people", "-people", "-people - cars", "0:beach"])
def test_only_things_to_leave_out_is_a_query_error(query):
    with pytest.raises(QueryError, match="at least one thing to look for"):
        parse_query(query)


@pytest.mark.parametrize("query", ["", "   ", "\t\n", "+", "-", "+ -"])
def test_an_empty_search_is_a_query_error(query):
    with pytest.raises(QueryError, match="empty"):
        parse_query(query)


def test_a_weight_with_nothing_after_it_is_a_query_error():
    with pytest.raises(QueryError, match=r"weight 2: needs something after it"):
        parse_query("beach + 2:")
    with pytest.raises(QueryError, match="empty part"):
        parse_query('beach + ""')


def test_query_errors_are_sentences():
    for query in ["", "-x", "./nope.jpg", "2:"]:
        with pytest.raises(QueryError) as err:
            parse_query(query)
        text = str(err.value)
        assert text[0].isupper() and text.endswith("."), text


# -- top_k -------------------------------------------------------------------------------------


def reference_top(scores: np.ndarray, k: int) -> list[int]:
    """Best first; equal scores in index order."""
    return np.argsort(-scores, kind="stable")[:k].tolist()


@pytest.mark.parametrize("seed", range(5))
def test_top_k_matches_a_full_sort(seed):
    scores = np.random.default_rng(seed).normal(size=5000).astype(np.float32)

    for k in (1, 2, 10, 137, 4999, 5000, 5001, 10**6):
        assert top_k(scores, k).tolist() == reference_top(scores, k), k


def test_top_k_of_nothing():
    assert top_k(np.array([0.3, 0.1]), 0).tolist() == []
    assert top_k(np.array([0.3, 0.1]), -5).tolist() == []
    assert top_k(np.zeros(0, np.float32), 10).tolist() == []


@pytest.mark.parametrize("seed", range(5))
def test_top_k_breaks_ties_by_position(seed):
    """Duplicate photos score exactly alike; their order must not depend on k, or paging
    through results would show one twice and skip another."""
    scores = np.random.default_rng(seed).integers(0, 6, size=2000).astype(np.float32)

    for k in (1, 5, 50, 333, 334, 1999, 2000, 2500):
        assert top_k(scores, k).tolist() == reference_top(scores, k), k
    pages = [top_k(scores, end)[end - 50 : end].tolist() for end in range(50, 2001, 50)]
    flat = [i for page in pages for i in page]
    assert sorted(flat) == list(range(2000))


def test_top_k_puts_nan_scores_last():
    scores = np.array([0.1, np.nan, 0.5, np.nan, 0.3], np.float32)

    assert top_k(scores, 3).tolist() == [2, 4, 0]
    assert top_k(scores, 4).tolist() == reference_top(scores, 4)


def test_top_k_of_all_equal_scores_is_in_index_order():
    assert top_k(np.full(100, 0.25), 7).tolist() == list(range(7))


# -- strong_threshold --------------------------------------------------------------------------


def test_clear_outliers_are_the_strong_matches():
    rng = np.random.default_rng(1)
    bulk = np.clip(rng.normal(0.20, 0.02, 1000), 0.14, 0.26)  # unrelated photos
    outliers = rng.uniform(0.33, 0.36, 10)  # the photos the query is about
    scores = rng.permutation(np.concatenate([bulk, outliers])).astype(np.float32)

    threshold = strong_threshold(scores)

    assert sorted(scores[scores >= threshold].tolist()) == sorted(
        outliers.astype(np.float32).tolist()
    )
    assert 0.26 < threshold < 0.33


def test_when_nothing_stands_out_only_photos_level_with_the_best_are_strong():
    rng = np.random.default_rng(2)
    scores = rng.normal(0.2, 0.02, 2000).astype(np.float32)
    threshold = strong_threshold(scores)
    strong = scores >= threshold
    sigma = 0.02
    assert 1 <= strong.sum() <= 20  # a handful at the very top, not a share of the library
    assert scores[strong].min() >= scores.max() - 0.5 * sigma * 1.1


def test_all_equal_scores_are_all_level_with_the_best():
    scores = np.full(50, 0.3, np.float32)

    assert (scores >= strong_threshold(scores)).sum() == 50


def test_a_few_above_a_flat_majority_are_strong():
    scores = np.array([0.2] * 20 + [0.25, 0.3], np.float32)

    assert np.flatnonzero(scores >= strong_threshold(scores)).tolist() == [20, 21]


@pytest.mark.parametrize("scores", [[0.3], [0.1, 0.3]])
def test_fewer_than_three_scores(scores):
    arr = np.array(scores, np.float32)

    threshold = strong_threshold(arr)

    assert np.isfinite(threshold)
    assert (arr >= threshold).all()  # too few to tell the bulk from a match: all shown


def test_no_scores_has_an_unreachable_threshold():
    assert strong_threshold(np.zeros(0, np.float32)) == float("inf")


# -- GrowableMatrix ----------------------------------------------------------------------------


def test_growable_matrix_appends_across_growth():
    rng = np.random.default_rng(0)
    m = GrowableMatrix(8)
    all_ids, all_rows = [], []
    for n in (0, 1000, 24, 1, 3000, 5):  # crosses the 1024 and 2048 and 4096 capacities
        ids = np.arange(len(all_ids), len(all_ids) + n, dtype=np.int64) * 3
        rows = rng.normal(size=(n, 8)).astype(np.float32)
        m.append(ids, rows)
        all_ids.extend(ids.tolist())
        all_rows.append(rows)
        assert m.n == len(all_ids)
        assert m.ids.tolist() == all_ids
        np.testing.assert_array_equal(m.matrix, np.concatenate(all_rows))


def test_growable_matrix_keep_then_append():
    m = GrowableMatrix(2)
    m.append(np.arange(5), np.arange(10, dtype=np.float32).reshape(5, 2))

    m.keep(np.array([True, False, True, False, True]))
    assert m.ids.tolist() == [0, 2, 4]
    np.testing.assert_array_equal(m.matrix, [[0, 1], [4, 5], [8, 9]])

    m.append(np.array([7]), np.array([[70, 71]], np.float32))
    assert m.ids.tolist() == [0, 2, 4, 7]
    np.testing.assert_array_equal(m.matrix, [[0, 1], [4, 5], [8, 9], [70, 71]])

    m.keep(np.zeros(4, bool))
    assert m.n == 0 and m.matrix.shape == (0, 2)


def test_growable_matrix_keep_leaves_what_readers_hold_unchanged():
    """Searchers share one index across threads: a reader ranks with the ids and rows it took
    while a refresh drops deleted photos. Its arrays must stay as they were (copy on keep)."""
    m = GrowableMatrix(4)
    rows = np.arange(6000 * 4, dtype=np.float32).reshape(6000, 4)
    m.append(np.arange(6000), rows)
    ids, matrix = m.ids, m.matrix  # a reader's view
    ids_before, matrix_before = ids.copy(), matrix.copy()

    mask = np.arange(6000) % 3 != 0
    m.keep(mask)
    np.testing.assert_array_equal(ids, ids_before)
    np.testing.assert_array_equal(matrix, matrix_before)
    assert m.ids.tolist() == np.flatnonzero(mask).tolist()
    np.testing.assert_array_equal(m.matrix, rows[mask])
    m.append(np.array([9999]), np.ones((1, 4), np.float32))  # and it grows on from there
    assert m.n == mask.sum() + 1 and m.ids[-1] == 9999


def test_growable_matrix_keep_compacts_in_place_when_nobody_reads():
    """No reader: no copy (a million float16 rows are a gigabyte)."""
    m = GrowableMatrix(4)
    m.append(np.arange(100), np.ones((100, 4), np.float32))
    arrays = (id(m._ids), id(m._mat))
    m.keep(np.arange(100) % 2 == 0)
    assert (id(m._ids), id(m._mat)) == arrays and m.ids.tolist() == list(range(0, 100, 2))
    held = m.matrix  # now someone reads: the next keep copies
    m.keep(np.arange(50) < 10)
    assert id(m._mat) != arrays[1] and len(held) == 50 and m.n == 10


def test_a_time_of_day_is_not_a_weight():
    from photoclip.search import parse_query

    terms = parse_query("10:30 meeting")
    assert [(t.weight, t.text) for t in terms] == [(1.0, "10:30 meeting")]

"""Duplicates' parts on their own (photoclip.duplicates, store/duplicates.py): the all-pairs
search against brute force, the difference hash, the keeper, and what the store keeps."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
from PIL import Image

from photoclip import duplicates
from photoclip.duplicates import Bound, close_pairs, difference_hash, hamming, keeper_order
from photoclip.store import PhotoFile, Store


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def library(kind: str, n: int = 1500, dim: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim))
    if kind == "clip-like":  # a shared direction and a falling spread: unrelated rows ~0.5
        x = unit(x * np.arange(1, dim + 1) ** -0.8) + unit(rng.standard_normal((1, dim)))
    x = unit(x)
    originals, copies = rng.choice(n, 80, replace=False).reshape(2, 40)
    x[copies] = unit(x[originals] + 0.02 * rng.standard_normal((40, dim)))
    return x


def brute(mat: np.ndarray, threshold: float) -> dict[tuple[int, int], float]:
    s = mat @ mat.T
    i, j = np.nonzero(np.triu(s >= threshold, 1))
    return {(int(a), int(b)): float(s[a, b]) for a, b in zip(i, j, strict=True)}


def same_pairs(found, want: dict[tuple[int, int], float], mat: np.ndarray, t: float) -> None:
    got = list(zip(found[0].tolist(), found[1].tolist(), strict=True))
    assert len(got) == len(set(got)), "a pair found twice"
    # only pairs within float32 rounding of the threshold may differ
    for a, b in set(got) ^ set(want):
        assert abs(float(mat[a] @ mat[b]) - t) < 1e-5, (a, b)
    assert all(a < b for a, b in got)


@pytest.mark.parametrize("kind", ["isotropic", "clip-like"])
@pytest.mark.parametrize("threshold", [0.95, 0.8, 0.5])
def test_close_pairs_finds_exactly_the_pairs_brute_force_finds(kind, threshold):
    mat = library(kind)
    want = brute(mat, threshold)
    assert want  # the planted copies at least
    same_pairs(close_pairs(mat, threshold, block=256), want, mat, threshold)


@pytest.mark.parametrize("kind", ["isotropic", "clip-like"])
def test_close_pairs_of_some_rows_finds_their_pairs_once(kind):
    mat = library(kind)
    threshold = 0.6 if kind == "isotropic" else 0.9
    everything = brute(mat, threshold)
    rows = np.array(sorted({a for a, _ in everything} | {7, 8, 900}))[::2]
    want = {p: s for p, s in everything.items() if p[0] in rows or p[1] in rows}
    assert len(want) < len(everything)
    same_pairs(close_pairs(mat, threshold, rows, block=200), want, mat, threshold)


def test_the_bound_never_undercuts_a_dot_product():
    mat = library("clip-like", n=400)
    bound = Bound.of(mat, dims=8)
    reach = bound.head @ bound.head.T + np.outer(bound.tail, bound.tail)
    assert (reach >= mat @ mat.T - 1e-6).all()
    assert bound.tail.mean() < 0.9  # and it is of use: most of the spread is in 8 dims


def test_windowed_pairs_are_close_in_time_and_in_content():
    mat = library("clip-like", n=600)
    rng = np.random.default_rng(2)
    seconds = rng.uniform(0, 6000, len(mat))
    seconds[::5] = np.nan  # no capture time: never in a window
    s = mat @ mat.T
    near = np.abs(seconds[:, None] - seconds[None, :]) <= 60
    i, j = np.nonzero(np.triu((s >= 0.7) & near, 1))
    want = set(zip(i.tolist(), j.tolist(), strict=True))
    a, b, _ = duplicates.windowed_pairs(mat, seconds, 0.7, 60.0, block=64)
    assert want and set(zip(a.tolist(), b.tolist(), strict=True)) == want
    rows = np.array([p[0] for p in sorted(want)][:5])
    a, b, _ = duplicates.windowed_pairs(mat, seconds, 0.7, 60.0, rows, block=64)
    assert set(zip(a.tolist(), b.tolist(), strict=True)) == {
        p for p in want if p[0] in rows or p[1] in rows
    }


def jpeg(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kw)
    return buf.getvalue()


def test_difference_hash_survives_reencoding_and_resizing_but_not_another_picture():
    from skimage import data

    astronaut = Image.fromarray(data.astronaut())
    coffee = Image.fromarray(data.coffee())
    base = difference_hash(jpeg(astronaut, quality=95))
    assert hamming(base, difference_hash(jpeg(astronaut, quality=40))) <= 4
    assert hamming(base, difference_hash(jpeg(astronaut.resize((128, 128))))) <= 6
    assert hamming(base, difference_hash(jpeg(coffee))) >= 20


def test_a_crop_is_recognised_by_the_crops_of_the_original():
    from skimage import data

    im = Image.fromarray(data.coins())
    w, h = im.size
    whole, *crops = duplicates.difference_hashes(jpeg(im))
    cropped = difference_hash(jpeg(im.crop((0, 0, round(w * 0.95), round(h * 0.95)))))
    assert min(hamming(cropped, c) for c in crops) < hamming(cropped, whole)
    assert min(hamming(cropped, c) for c in crops) <= duplicates.SAME_DHASH_BITS


def photo_file(pid: int, **kw) -> PhotoFile:
    values = dict(path=f"/p/{pid}.jpg", size=1000, mtime_ns=pid, format="JPEG", width=400,
                  height=300, taken_at=None, taken_at_source=None)  # fmt: skip
    values.update(kw)
    return PhotoFile(pid, **values)  # type: ignore[arg-type]


def test_the_keeper_is_the_largest_then_an_original_format_then_the_earliest():
    small = photo_file(1, width=200, height=150)
    png = photo_file(2, format="PNG")
    later = photo_file(3, taken_at="2024-01-02T00:00:00", taken_at_source="exif")
    earlier = photo_file(4, taken_at="2024-01-01T00:00:00", taken_at_source="exif")
    assert [f.id for f in keeper_order([small, png, later, earlier])] == [4, 3, 2, 1]


def test_the_store_keeps_the_strongest_kind_of_a_pair_and_the_users_decisions(tmp_path):
    store = Store(tmp_path / "library.db")
    folder = store.add_folder(str(tmp_path))
    with store.transaction() as conn:
        for pid in range(1, 5):
            conn.execute(
                "INSERT INTO photos (id, folder_id, path, size, mtime_ns, status, indexed_at) "
                "VALUES (?, ?, ?, 10, 1, 'indexed', 0)",
                (pid, folder, str(tmp_path / f"{pid}.jpg")),
            )
    store.save_duplicate_pairs([(2, 1, "similar", 0.9), (1, 2, "same", 0.99), (3, 4, "same", 1)])
    store.save_duplicate_pairs([(1, 2, "similar", 0.9)])  # weaker: the stronger stays
    assert store.duplicate_pairs() == [(1, 2, "same", 0.99), (3, 4, "same", 1.0)]
    store.save_duplicate_pairs([], replace_kinds=["same"], replace_ids=[4])
    assert store.duplicate_pairs() == [(1, 2, "same", 0.99)]
    assert store.same_size_ids() == [[1, 2, 3, 4]]

    big = (1 << 64) - 3  # a hash with its top bit set, past SQLite's signed integers
    files = store.photo_files([1])
    store.save_photo_hashes({files[0]: duplicates.Hashes("abc", big)})
    store.save_photo_hashes({files[0]: duplicates.Hashes(None, None)})  # keeps what it had
    assert store.photo_hashes(files) == {1: duplicates.Hashes("abc", big)}
    changed = photo_file(1, path=files[0].path, size=11)
    assert store.photo_hashes([changed]) == {}  # made from a file that has changed since

    finder = duplicates.Duplicates(store, 1, 4)
    [group] = finder.groups()
    before = finder.hide_rest(group)
    assert store.hidden_photo_ids() == [group.rest[0]]
    assert finder.groups() == [] and finder.groups(include_resolved=True)[0].resolved
    finder.undo(before)
    assert store.hidden_photo_ids() == [] and len(finder.groups()) == 1
    finder.keep_all(group)
    assert store.hidden_photo_ids() == [] and finder.groups() == []
    # search folds exact copies only: the same photo (an inference) is not folded
    assert duplicates.copy_groups(store.duplicate_pairs())[0].tolist() == []
    pairs = [(1, 2, "exact", 1.0), (2, 3, "exact", 1.0), (3, 4, "same", 0.95), (5, 6, "exact", 1.0)]
    members, groups = duplicates.copy_groups(pairs)
    assert members.tolist() == [1, 2, 3, 5, 6]
    assert groups[0] == groups[1] == groups[2] != groups[3] == groups[4]
    store.close()


def test_components_join_chains():
    pairs = [(1, 2), (2, 3), (7, 8)]
    assert sorted(duplicates._components(pairs)) == [[1, 2, 3], [7, 8]]
    assert all(len(g) > 1 for g in duplicates._components(itertools.combinations(range(5), 2)))


def test_same_photo_candidates_skip_pairs_of_two_different_capture_times():
    mat = library("clip-like", n=700, seed=4)
    rng = np.random.default_rng(5)
    seconds = rng.integers(0, 50, len(mat)).astype(float)  # many photos share a second
    seconds[rng.random(len(mat)) < 0.3] = np.nan  # no capture time
    t = 0.9
    s = mat @ mat.T
    allowed = (seconds[:, None] == seconds[None, :]) | np.isnan(seconds)[:, None]
    allowed |= np.isnan(seconds)[None, :]
    i, j = np.nonzero(np.triu((s >= t) & allowed, 1))
    want = {(int(a), int(b)): float(s[a, b]) for a, b in zip(i, j, strict=True)}
    assert want
    same_pairs(duplicates.same_photo_candidates(mat, seconds, t), want, mat, t)
    rows = np.array([*sorted({a for a, _ in want})[:6], 1, 2, 3])
    some = {p: v for p, v in want.items() if p[0] in rows or p[1] in rows}
    same_pairs(duplicates.same_photo_candidates(mat, seconds, t, rows), some, mat, t)


# -- hashed candidates (random hyperplanes) against the exhaustive search ----------------------


def realistic(n: int = 6000, dim: int = 512, seed: int = 7) -> np.ndarray:
    """CLIP-like vectors at the default model's dimension: unrelated photos ~0.5, 2 % of them
    copies of another (noise of several strengths, cosines from about 0.93 to 0.999), and
    photos near each other at every level around the threshold."""
    rng = np.random.default_rng(seed)
    x = unit(rng.standard_normal((n, dim)) * np.arange(1, dim + 1) ** -0.5)
    x = unit(x + unit(rng.standard_normal((1, dim))))
    originals, copies = rng.choice(n, n // 25, replace=False).reshape(2, -1)
    noise = rng.choice([0.002, 0.005, 0.01, 0.014, 0.017, 0.018], len(copies))[:, None]
    x[copies] = unit(x[originals] + noise * rng.standard_normal((len(copies), dim)))
    return x


@pytest.mark.parametrize("share", [1.0, 0.2])
def test_hashed_candidates_find_every_pair_the_exhaustive_search_finds(share):
    mat = realistic()
    t = duplicates.SAME_COSINE
    rows = (
        None if share == 1.0 else np.flatnonzero(np.random.default_rng(1).random(len(mat)) < share)
    )
    i, j, s = close_pairs(mat, t, rows)
    want = {(int(a), int(b)): float(c) for a, b, c in zip(i, j, s, strict=True)}
    scores = np.array(list(want.values()))
    assert len(want) > 100 * share and scores.max() > 0.99
    assert scores.min() < (0.935 if share == 1.0 else 0.96)  # down to the threshold
    found = duplicates.hashed_pairs(mat, t, rows)
    assert found is not None
    same_pairs(found, want, mat, t)  # each exactly once, nothing below the threshold


def test_many_photos_without_a_capture_time_go_through_hashed_candidates(monkeypatch):
    mat = realistic(n=3000)
    seconds = np.full(len(mat), np.nan)
    seconds[::3] = np.arange(0, len(mat), 3)  # a third dated, each at its own second
    exhaustive = duplicates.same_photo_candidates(mat, seconds, duplicates.SAME_COSINE)
    calls = []
    real = duplicates.hashed_pairs

    def counted(*args, **kw):
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(duplicates, "LSH_MIN_PAIRS", 0)
    monkeypatch.setattr(duplicates, "hashed_pairs", counted)
    hashed = duplicates.same_photo_candidates(mat, seconds, duplicates.SAME_COSINE)
    assert calls
    i, j, s = (x.tolist() for x in exhaustive)
    want = {(a, b): c for a, b, c in zip(i, j, s, strict=True)}
    same_pairs(hashed, want, mat, duplicates.SAME_COSINE)


def test_too_many_candidates_fall_back_to_the_exhaustive_search(monkeypatch):
    mat = unit(np.ones((300, 16)) + 1e-3 * np.random.default_rng(0).standard_normal((300, 16)))
    monkeypatch.setattr(duplicates, "LSH_MAX_CANDIDATES", 1000)
    monkeypatch.setattr(duplicates, "LSH_MIN_PAIRS", 0)
    assert duplicates.hashed_pairs(mat, 0.92) is None  # all in one bucket: 44,850 pairs
    i, _, _ = duplicates.pairs_above(mat, 0.92)
    assert len(i) == 300 * 299 // 2


@pytest.mark.parametrize("path", ["exhaustive", "hashed"])
def test_a_library_that_all_looks_alike_keeps_only_its_closest_pairs(monkeypatch, path):
    """Photos the model can't tell apart (noise, one form scanned again and again) are all
    pairs of each other: the scan keeps the closest within a budget instead of n * n / 2
    pairs (100,000 such photos once filled 22 GB), and a true copy among them is kept."""
    rng = np.random.default_rng(3)
    n = 3000
    base = rng.standard_normal(64).astype(np.float32)
    mat = base + 0.05 * rng.standard_normal((n, 64)).astype(np.float32)
    mat[17] = mat[2900] + 1e-4  # a copy, closer than any other pair
    mat /= np.linalg.norm(mat, axis=1, keepdims=True)
    sims = mat @ mat.T
    assert (sims[np.triu_indices(n, 1)] >= 0.92).mean() > 0.99  # nearly all pairs

    monkeypatch.setattr(duplicates, "MIN_PAIR_BUDGET", 1000)
    monkeypatch.setattr(duplicates, "PAIRS_PER_PHOTO", 1)  # a budget of 3,000 pairs
    if path == "exhaustive":
        i, j, scores = close_pairs(mat, 0.92, block=256)
    else:
        monkeypatch.setattr(duplicates, "LSH_MAX_CANDIDATES", 10**12)
        found = duplicates.hashed_pairs(mat, 0.92)
        assert found is not None
        i, j, scores = found
    assert 0 < len(i) <= 3000
    assert (17, 2900) in set(zip(i.tolist(), j.tolist(), strict=True))
    np.testing.assert_allclose(scores, sims[i, j], rtol=1e-5)
    if path == "exhaustive":  # exact: what was kept is the closest (hashing may miss some)
        kept = set(zip(i.tolist(), j.tolist(), strict=True))
        closest = np.argsort(-np.triu(sims, 1), axis=None)[:50]
        assert {tuple(int(x) for x in np.unravel_index(c, sims.shape)) for c in closest} <= kept


def test_a_check_with_nothing_new_reads_none_of_the_librarys_vectors(tmp_path, monkeypatch):
    """After each `photoclip index` and each scan in the app: with a million photos, reading
    every vector to find nothing new would hold gigabytes for nothing."""
    import time

    from photoclip.models import ModelIdentity

    store = Store(tmp_path / "library.db")
    (tmp_path / "photos").mkdir()
    folder = store.add_folder(str(tmp_path / "photos"))
    model = store.model_id(ModelIdentity("test-arch", "test", "f" * 64, 8))
    vectors = unit(np.random.default_rng(3).normal(size=(20, 8)))
    with store.transaction() as conn:
        for i, vec in enumerate(vectors):
            pid = store.upsert_photo(conn, {
                "folder_id": folder, "path": str(tmp_path / "photos" / f"{i}.jpg"),
                "size": 1000 + i, "mtime_ns": 1, "status": "indexed", "indexed_at": time.time(),
            })  # fmt: skip
            conn.execute(
                "INSERT INTO vectors (photo_id, model_id, vector) VALUES (?, ?, ?)",
                (pid, model, vec.tobytes()),
            )
    finder = duplicates.Duplicates(store, model, 8)
    assert finder.scan().full
    read: list[int] = []
    real = store.vectors_since

    def counted(model_id, after_id, dim, limit=None):
        got = real(model_id, after_id, dim, limit)
        read.append(len(got[0]))
        return got

    monkeypatch.setattr(store, "vectors_since", counted)
    report = finder.scan()

    assert not report.full and report.photos == 0
    assert sum(read) == 0

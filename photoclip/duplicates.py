"""Copies in the library, told apart: exact copies (the same bytes), the same photo (re-encoded,
resized, lightly cropped, exported again) and similar shots (bursts, near-identical moments).

Exact copies: the same size, then the same SHA-256 of the whole file (hashed only when another
photo has that size). The same photo: CLIP vectors very close *and* the thumbnails' difference
hashes close *and*, when both photos have an EXIF capture time, the same time. Similar shots:
CLIP vectors close and EXIF capture times within a short window. Each group suggests a keeper.

All pairs over a library are found with blocked matrix products over the normalised vectors,
most of them skipped by an exact bound: in a basis where the library's spread lies mostly in the
first few dimensions, two vectors' dot product is at most their dot product there plus the
product of what lies outside it (Cauchy-Schwarz), so only block pairs that could clear the bar
are multiplied in full. When that is still too many pairs (a big library whose photos mostly
lack an EXIF time: each of them compared with the whole library for the same photo), the
pairs come from candidates instead: rows sharing a key of random-hyperplane signs in one of
many tables, each candidate then checked exactly. Measured in bench/bench_duplicates.py;
README "Duplicates"."""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from .errors import PhotoclipError
from .store import Hashes, PhotoFile, Store

log = logging.getLogger(__name__)

# Chosen on real photos (scikit-image samples) re-encoded, resized, cropped 5 % and on
# burst-like pairs, with the tiny model and with the default model's twin: see
# tests/e2e/test_duplicates.py and README "Duplicates".
SAME_COSINE = 0.92  # the same photo: CLIP vectors at least this close …
SAME_DHASH_BITS = 16  # … and thumbnails' 64-bit difference hashes differing in at most this many
SIMILAR_COSINE = 0.90  # similar shots: this close …
SIMILAR_WINDOW_S = 30.0  # … and taken (EXIF) at most this many seconds apart
KINDS = ("exact", "same", "similar")
KIND_NAMES = {"exact": "Exact copies", "same": "The same photo", "similar": "Similar shots"}

BLOCK = 2048  # rows per block of the all-pairs product (16 MB of scores at a time)
_DENSE_SHARE = 0.002  # a block with more candidate pairs than this is multiplied in full
PROJECTED_DIMS = 48  # the bound's basis: the library's mean direction and its main spread
_HASH_CHUNK = 1 << 20
# Past this many pairs to compare (about 5 s of close_pairs on two cores), the same photo's
# pairs are found through hashed candidates: LSH_TABLES tables of LSH_BITS random hyperplanes.
LSH_MIN_PAIRS = 500_000_000
LSH_TABLES = 128
LSH_BITS = 16
LSH_SEED = 10
LSH_MAX_CANDIDATES = 400_000_000  # more than this (all tables together): close_pairs
# A scan keeps at most this many pairs per photo of the library (the closest): a library
# whose photos all look alike to the model (noise, scans of one form, a model's blind spot)
# would otherwise make n * n / 2 pairs and exhaust the memory (100,000 such photos were
# killed at 22 GB before this).
PAIRS_PER_PHOTO = 20
MIN_PAIR_BUDGET = 1_000_000

# Formats a camera or phone writes; a copy in another format was most likely exported.
ORIGINAL_FORMATS = ("DNG", "CR2", "NEF", "ARW", "RAF", "ORF", "RW2", "HEIF", "HEIC", "JPEG", "MPO")

Progress = Callable[[str, int, int], None]  # (step, done, total)


@dataclass
class Group:
    kind: str  # one of KINDS
    photo_ids: list[int]  # the suggested keeper first, then the rest by id
    score: float  # the lowest pair score that joined it (cosine; 1.0 for exact copies)
    marks: dict[int, str] = field(default_factory=dict)  # photo id -> "kept" | "hidden"

    @property
    def keeper(self) -> int:
        return self.photo_ids[0]

    @property
    def rest(self) -> list[int]:
        return self.photo_ids[1:]

    @property
    def resolved(self) -> bool:
        """The user has decided about every photo in it."""
        return all(pid in self.marks for pid in self.photo_ids)


@dataclass
class ScanReport:
    full: bool
    photos: int  # photos checked against the library
    pairs: dict[str, int]  # pairs found per kind
    hashed: int  # files read for a full hash, thumbnails for a difference hash
    cancelled: bool = False


# -- hashes ------------------------------------------------------------------------------------


# Where a lightly cropped copy's picture lies in the original (left, top, right, bottom, as
# shares of the side): 5 % off two sides at a corner, or 2.5 % off each side.
CROPS = ((0.0, 0.0, 0.95, 0.95), (0.05, 0.0, 1.0, 0.95), (0.0, 0.05, 0.95, 1.0),
         (0.05, 0.05, 1.0, 1.0), (0.025, 0.025, 0.975, 0.975))  # fmt: skip


def difference_hash(jpeg: bytes, size: int = 8) -> int:
    """A 64-bit difference hash of an image (its thumbnail): one bit per pair of neighbouring
    cells of a 9 x 8 grey grid, set when the left one is brighter. Re-encoding and resizing
    barely change it; a different picture changes about half its bits."""
    return difference_hashes(jpeg, size, crops=())[0]


def difference_hashes(
    jpeg: bytes, size: int = 8, crops: Sequence[tuple[float, ...]] = CROPS
) -> list[int]:
    """The difference hash of the whole image, then of each of ``crops`` of it."""
    from PIL import Image

    with Image.open(io.BytesIO(jpeg)) as im:
        grey = im.convert("L")
    w, h = grey.size
    out = []
    for box in ((0.0, 0.0, 1.0, 1.0), *crops):
        region = (box[0] * w, box[1] * h, box[2] * w, box[3] * h)
        cells = grey.resize((size + 1, size), Image.Resampling.BOX, box=region)
        a = np.asarray(cells, np.int16)
        bits = (a[:, :-1] > a[:, 1:]).ravel()
        out.append(int(sum(1 << i for i, bit in enumerate(bits) if bit)))
    return out


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def file_sha256(path: str) -> str | None:
    """The whole file's SHA-256, or None when it can't be read now (offline, gone)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_HASH_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        log.info("Couldn't read %s for its hash: %s", path, exc)
        return None
    return digest.hexdigest()


# -- pairs of close vectors --------------------------------------------------------------------


@dataclass(frozen=True)
class Bound:
    """The library's vectors in a basis whose first dims carry most of their spread, and the
    length of what each vector has outside those dims."""

    head: np.ndarray  # (n, k) float32
    tail: np.ndarray  # (n,) float32

    @classmethod
    def of(cls, mat: np.ndarray, dims: int = PROJECTED_DIMS, sample: int = 2048) -> Bound:
        n, dim = mat.shape
        dims = min(dims, dim)
        rows = mat if n <= sample else mat[np.linspace(0, n - 1, sample).astype(np.int64)]
        mean = rows.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        first = mean / norm if norm > 1e-6 else np.eye(dim, dtype=np.float32)[0]
        centred = rows - np.outer(rows @ first, first)
        _, vecs = np.linalg.eigh(centred.T @ centred)  # ascending: the main spread is last
        basis, _ = np.linalg.qr(np.column_stack([first, vecs[:, ::-1][:, : dims - 1]]))
        basis = np.ascontiguousarray(basis[:, :dims], np.float32)
        head = mat @ basis
        tail = np.sqrt(np.maximum(np.einsum("ij,ij->i", mat, mat) - (head * head).sum(1), 0))
        # float32 rounding: widen the bound a little so that it never cuts a true pair
        return cls(np.ascontiguousarray(head), (tail + 1e-4).astype(np.float32))


class _PairBudget:
    """Holds the pairs found so far to a budget: past it, only the closest half are kept and
    the bar rises to the lowest of them, so later blocks keep only closer pairs."""

    def __init__(self, n: int, threshold: float) -> None:
        self.limit = max(MIN_PAIR_BUDGET, PAIRS_PER_PHOTO * n)
        self.threshold = threshold
        self.count = 0

    def add(
        self,
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
        pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> None:
        found.append(pairs)
        self.count += len(pairs[0])
        if self.count <= self.limit:
            return
        i, j, scores = _pairs(found)
        keep = self.limit // 2
        top = np.argpartition(-scores, keep)[:keep]
        self.threshold = max(self.threshold, float(scores[top].min()))
        found[:] = [(i[top], j[top], scores[top])]
        self.count = keep


def close_pairs(
    mat: np.ndarray,
    threshold: float,
    rows: np.ndarray | None = None,
    *,
    bound: Bound | None = None,
    block: int = BLOCK,
    stop: threading.Event | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of rows of the normalised ``mat`` whose dot product is at least ``threshold``:
    (i, j, score) with i < j. With ``rows``, only pairs holding one of them. Exact: the bound
    only skips pairs that can't reach the threshold."""
    n = len(mat)
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    if n < 2:
        return _pairs(found)
    budget = _PairBudget(n, threshold)
    bound = bound or Bound.of(mat)
    # Rows in order of their tails, so that a block's largest tail bounds all of it tightly.
    order = np.argsort(bound.tail, kind="stable")
    head, tail = bound.head[order], bound.tail[order]
    in_rows = np.ones(n, bool)
    if rows is not None:
        in_rows[:] = False
        in_rows[np.asarray(rows, np.int64)] = True
    listed = in_rows[order]
    left = np.arange(n) if rows is None else np.flatnonzero(listed)
    for start in range(0, len(left), block):
        if stop is not None and stop.is_set():
            break
        a = left[start : start + block]
        head_a, tail_a = np.ascontiguousarray(head[a]), tail[a]
        # With every row listed, each pair once (from the earlier of the two); else every
        # partner, and a pair of two listed rows from the earlier one only.
        for j0 in range(int(a[0]) if rows is None else 0, n, block):
            b = np.arange(j0, min(j0 + block, n))
            reach = head_a @ head[b].T
            ii, jj = np.nonzero(reach >= threshold - float(tail_a.max()) * float(tail[b].max()))
            if not len(ii):
                continue
            if len(ii) > _DENSE_SHARE * reach.size:  # cheaper to multiply the block in full
                exact = mat[order[a]] @ np.ascontiguousarray(mat[order[b]].T)
                ii, jj = np.nonzero(exact >= threshold)
                i, j, scores = a[ii], b[jj], exact[ii, jj]
                ok = (i < j) | ~listed[j]
                i, j, scores = i[ok], j[ok], scores[ok]
            else:
                i, j = a[ii], b[jj]
                ok = reach[ii, jj] + tail_a[ii] * tail[j] >= threshold
                ok &= (i < j) | ~listed[j]
                i, j = i[ok], j[ok]
                scores = np.empty(len(i), np.float32)
                for c in range(0, len(i), 8192):  # gathered rows, a few MB at a time
                    scores[c : c + 8192] = np.einsum(
                        "ij,ij->i", mat[order[i[c : c + 8192]]], mat[order[j[c : c + 8192]]]
                    )
            hit = scores >= threshold
            oi, oj = order[i[hit]], order[j[hit]]
            budget.add(found, (np.minimum(oi, oj), np.maximum(oi, oj), scores[hit]))
            threshold = budget.threshold
    return _pairs(found)


def hashed_pairs(
    mat: np.ndarray,
    threshold: float,
    rows: np.ndarray | None = None,
    *,
    tables: int = LSH_TABLES,
    bits: int = LSH_BITS,
    stop: threading.Event | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Pairs of rows of the normalised ``mat`` whose dot product is at least ``threshold``,
    like close_pairs, found through candidates: random-hyperplane hashing (the signs of
    ``bits`` projections of the centred vectors, in each of ``tables`` tables; a fixed seed, so
    the same library gives the same pairs). Two rows are candidates when they share a
    table's key; each candidate's dot product is then computed exactly, so every pair
    returned clears the threshold, but a pair may be missed. In a CLIP-like library
    (unrelated photos ~0.5) a pair at 0.92 lies about 33 degrees apart around the centre and
    shares a table's key with a chance of about 0.82 ** 16 = 0.04: missed by all 128 tables
    with a chance of about 0.6 %; a pair at 0.97 (most copies) with a chance of about 1e-9.
    tests/unit/test_duplicates.py and bench/bench_duplicates.py --speed --compare measure it
    against close_pairs. None when the candidates
    would be too many (a library of near-identical vectors): then use close_pairs."""
    n, dim = mat.shape
    if n < 2:
        return _pairs([])
    in_rows = np.ones(n, bool)
    if rows is not None:
        in_rows[:] = False
        in_rows[np.asarray(rows, np.int64)] = True
    rng = np.random.default_rng(LSH_SEED)
    centre = mat[np.linspace(0, n - 1, min(n, 4096)).astype(np.int64)].mean(axis=0)
    weights = np.uint64(1) << np.arange(bits, dtype=np.uint64)
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    budget = _PairBudget(n, threshold)
    total = 0
    for t0 in range(0, tables, 8):
        if stop is not None and stop.is_set():
            break
        group = min(8, tables - t0)
        planes = rng.standard_normal((dim, group * bits)).astype(np.float32)
        signs = ((mat - centre) @ planes > 0).reshape(n, group, bits)
        keys = (signs.astype(np.uint64) * weights).sum(axis=2, dtype=np.uint64)
        for t in range(group):
            order = np.argsort(keys[:, t], kind="stable")
            ks = keys[order, t]
            starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
            sizes = np.diff(np.r_[starts, n])
            total += int((sizes * (sizes - 1) // 2).sum())
            if total > LSH_MAX_CANDIDATES:
                return None
            many = sizes > 1
            pos = np.repeat(starts[many], sizes[many]) + _ranks(sizes[many])
            end = np.repeat(starts[many] + sizes[many], sizes[many])
            d = 1
            while len(pos):
                ok = pos + d < end
                pos, end = pos[ok], end[ok]
                a, b = order[pos], order[pos + d]
                keep = in_rows[a] | in_rows[b]
                a, b = a[keep], b[keep]
                scores = np.empty(len(a), np.float32)
                for c in range(0, len(a), 8192):  # gathered rows, a few MB at a time
                    scores[c : c + 8192] = np.einsum(
                        "ij,ij->i", mat[a[c : c + 8192]], mat[b[c : c + 8192]]
                    )
                hit = scores >= threshold
                a, b = a[hit], b[hit]
                budget.add(found, (np.minimum(a, b), np.maximum(a, b), scores[hit]))
                threshold = budget.threshold
                d += 1
    i, j, scores = _pairs(found)
    if len(i):  # a pair met in several tables: once
        key = i * n + j
        order = np.argsort(key, kind="stable")
        first = order[np.r_[True, key[order][1:] != key[order][:-1]]]
        i, j, scores = i[first], j[first], scores[first]
    return i, j, scores


def _ranks(sizes: np.ndarray) -> np.ndarray:
    """0, 1, …, s - 1 for each s in ``sizes``, one after the other."""
    if not len(sizes):
        return np.zeros(0, np.int64)
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.arange(int(sizes.sum())) - starts


def pairs_above(
    mat: np.ndarray,
    threshold: float,
    rows: np.ndarray | None = None,
    *,
    stop: threading.Event | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """close_pairs, through hashed_pairs' candidates when the pairs to compare are many
    (more than LSH_MIN_PAIRS: a big library with many photos without a capture time)."""
    n = len(mat)
    compared = n * (n - 1) // 2 if rows is None else len(rows) * n
    if compared > LSH_MIN_PAIRS:
        found = hashed_pairs(mat, threshold, rows, stop=stop)
        if found is not None:
            return found
    return close_pairs(mat, threshold, rows, stop=stop)


def same_photo_candidates(
    mat: np.ndarray,
    seconds: np.ndarray,
    threshold: float,
    rows: np.ndarray | None = None,
    *,
    stop: threading.Event | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs that may be the same photo: vectors at least ``threshold`` close, and capture
    times (``seconds``, NaN where unknown) equal or unknown for one of the two. Two photos
    with different EXIF times are two moments, so only photos without one are compared with
    the whole library. With ``rows``, only pairs holding one of them. (i, j, score), i < j."""
    n = len(mat)
    untimed = np.isnan(seconds)
    listed = np.ones(n, bool) if rows is None else np.isin(np.arange(n), rows)
    found = [pairs_above(mat, threshold, np.flatnonzero(untimed & listed), stop=stop)]
    if rows is not None:  # listed photos with a time, against those without one
        timed = np.flatnonzero(listed & ~untimed)
        sub = np.flatnonzero(untimed | (listed & ~untimed))
        if len(timed) and untimed.any():
            i, j, sc = pairs_above(mat[sub], threshold, np.searchsorted(sub, timed), stop=stop)
            i, j = sub[i], sub[j]
            keep = untimed[i] | untimed[j]
            found.append((i[keep], j[keep], sc[keep]))
    # photos taken at the same second: each group compared within itself
    timed = np.flatnonzero(~untimed)
    order = timed[np.argsort(seconds[timed], kind="stable")]
    t = seconds[order]
    starts = np.flatnonzero(np.r_[True, t[1:] != t[:-1]]) if len(t) else np.zeros(0, np.int64)
    ends = np.r_[starts[1:], len(t)]
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for a, b in zip(starts[ends - starts > 1], ends[ends - starts > 1], strict=True):
        group = np.sort(order[a:b])
        if not listed[group].any():
            continue
        sims = mat[group] @ mat[group].T
        ii, jj = np.nonzero(np.triu(sims >= threshold, 1))
        keep = listed[group[ii]] | listed[group[jj]]
        parts.append((group[ii[keep]], group[jj[keep]], sims[ii[keep], jj[keep]]))
    found.append(_pairs(parts))
    i, j, sc = _pairs(found)
    if len(i):  # a pair found from both sides: once
        _, first = np.unique(i * n + j, return_index=True)
        i, j, sc = i[first], j[first], sc[first]
    return i, j, sc


def windowed_pairs(
    mat: np.ndarray,
    seconds: np.ndarray,
    threshold: float,
    window: float,
    rows: np.ndarray | None = None,
    block: int = BLOCK,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of rows taken at most ``window`` seconds apart (``seconds``: NaN for unknown)
    whose dot product is at least ``threshold``: (i, j, score), i < j. With ``rows``, only
    pairs holding one of them."""
    known = np.flatnonzero(~np.isnan(seconds))
    order = known[np.argsort(seconds[known], kind="stable")]
    t = seconds[order]
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    wanted = None
    if rows is not None:
        wanted = np.zeros(len(mat), bool)
        wanted[np.asarray(rows, np.int64)] = True
    for start in range(0, len(order), block):
        a = order[start : start + block]
        end = int(np.searchsorted(t, t[min(start + block, len(t)) - 1] + window, "right"))
        b = order[start:end]
        if wanted is not None and not (wanted[a].any() or wanted[b].any()):
            continue
        scores = mat[a] @ np.ascontiguousarray(mat[b].T)
        pos = np.arange(start, start + len(a))[:, None] < np.arange(start, end)[None, :]
        near = np.abs(seconds[b][None, :] - seconds[a][:, None]) <= window
        keep = pos & near & (scores >= threshold)
        if wanted is not None:
            keep &= wanted[a][:, None] | wanted[b][None, :]
        ii, jj = np.nonzero(keep)
        i, j = a[ii], b[jj]
        found.append((np.minimum(i, j), np.maximum(i, j), scores[ii, jj]))
    return _pairs(found)


def _pairs(
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    i, j, s = zip(*found, strict=True)
    return np.concatenate(i), np.concatenate(j), np.concatenate(s)


# -- groups and keepers ------------------------------------------------------------------------


def _components(pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for x in parent:
        groups.setdefault(find(x), []).append(x)
    return [sorted(g) for g in groups.values()]


def keeper_order(files: Sequence[PhotoFile]) -> list[PhotoFile]:
    """Best to keep first: the largest resolution, then an original format (what a camera
    writes, rather than an export), then the earliest, then the largest file."""

    def key(f: PhotoFile) -> tuple[int, int, str, int, int, int]:
        pixels = (f.width or 0) * (f.height or 0)
        original = 0 if (f.format or "").upper() in ORIGINAL_FORMATS else 1
        taken = f.taken_at if f.taken_at_source == "exif" and f.taken_at else "9999"
        return (-pixels, original, taken, f.mtime_ns, -f.size, f.id)

    return sorted(files, key=key)


def _seconds(f: PhotoFile) -> float:
    """EXIF capture time in seconds (naive wall-clock time: bursts share a clock), or NaN."""
    if f.taken_at_source != "exif" or not f.taken_at:
        return float("nan")
    try:
        return datetime.fromisoformat(f.taken_at).timestamp()
    except (ValueError, OverflowError, OSError):
        return float("nan")


# -- the library's duplicates ------------------------------------------------------------------


class Duplicates:
    """Finds, keeps up to date and resolves the copies in one library, with one model's
    vectors."""

    def __init__(self, store: Store, model_id: int, dim: int) -> None:
        self.store = store
        self.model_id = model_id
        self.dim = dim

    @property
    def _checked_key(self) -> str:
        return f"duplicates.checked.{self.model_id}"

    def pending(self) -> bool:
        """Whether photos indexed since the last check haven't been checked yet."""
        checked = int(self.store.get_setting(self._checked_key, "0") or 0)
        return len(self.store.vectors_since(self.model_id, checked, self.dim, limit=1)[0]) > 0

    def scan(
        self,
        *,
        full: bool = False,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
    ) -> ScanReport:
        """Check the photos indexed since the last scan against the whole library (all of
        them, the first time or with ``full``) and remember the pairs found."""
        checked = 0 if full else int(self.store.get_setting(self._checked_key, "0") or 0)
        if checked and self.store.get_setting("duplicates.model") != str(self.model_id):
            checked = 0  # pairs found with another model's vectors: start over
        if checked and not self.pending():  # nothing new: don't read the library's vectors
            return ScanReport(False, 0, dict.fromkeys(KINDS, 0), 0)
        ids, mat, last = self.store.vectors_since(self.model_id, 0, self.dim)
        full = checked == 0
        new_ids = ids if full else self.store.vectors_since(self.model_id, checked, self.dim)[0]
        report = ScanReport(full, len(new_ids), dict.fromkeys(KINDS, 0), 0)
        if not full and not len(new_ids):
            return report
        files = {f.id: f for f in self.store.photo_files()}
        keep = np.array([int(i) in files for i in ids], bool)
        ids, mat = ids[keep], mat[keep]
        rows = None if full else np.flatnonzero(np.isin(ids, new_ids))

        def step(name: str, done: int, total: int) -> None:
            if progress is not None:
                progress(name, done, total)

        step("exact", 0, 3)
        exact = self._exact_pairs(files, None if full else new_ids.tolist(), report)
        if stop is not None and stop.is_set():
            report.cancelled = True
            return report
        step("same", 1, 3)
        seconds = np.array([_seconds(files[int(p)]) for p in ids], np.float64)
        i, j, s = same_photo_candidates(mat, seconds, SAME_COSINE, rows, stop=stop)
        if stop is not None and stop.is_set():
            report.cancelled = True
            return report
        same = self._same_photo_pairs(files, ids[i], ids[j], s, report)
        step("similar", 2, 3)
        i, j, s = windowed_pairs(mat, seconds, SIMILAR_COSINE, SIMILAR_WINDOW_S, rows)
        similar = [
            (int(a), int(b), "similar", float(c)) for a, b, c in zip(ids[i], ids[j], s, strict=True)
        ]
        pairs = exact + same + similar
        for _, _, kind, _ in pairs:
            report.pairs[kind] += 1
        self.store.save_duplicate_pairs(
            pairs, replace_kinds=KINDS, replace_ids=None if full else new_ids.tolist()
        )
        self.store.set_setting(self._checked_key, str(last))
        self.store.set_setting("duplicates.model", str(self.model_id))
        step("done", 3, 3)
        return report

    def _exact_pairs(
        self, files: dict[int, PhotoFile], new: list[int] | None, report: ScanReport
    ) -> list[tuple[int, int, str, float]]:
        groups = self.store.same_size_ids(new)
        wanted = [files[i] for g in groups for i in g if i in files]
        known = self.store.photo_hashes(wanted)
        made: dict[PhotoFile, Hashes] = {}
        sha: dict[int, str | None] = {}
        for f in wanted:
            h = known.get(f.id)
            if h is not None and h.sha256 is not None:
                sha[f.id] = h.sha256
                continue
            sha[f.id] = file_sha256(f.path)
            report.hashed += 1
            if sha[f.id] is not None:
                made[f] = Hashes(sha[f.id], None)
        self.store.save_photo_hashes(made)
        pairs = []
        for g in groups:
            by_hash: dict[str, list[int]] = {}
            for pid in g:
                if sha.get(pid):
                    by_hash.setdefault(str(sha[pid]), []).append(pid)
            for same in by_hash.values():
                pairs += [(a, b, "exact", 1.0) for k, a in enumerate(same) for b in same[k + 1 :]]
        return pairs

    def _same_photo_pairs(
        self,
        files: dict[int, PhotoFile],
        a_ids: np.ndarray,
        b_ids: np.ndarray,
        scores: np.ndarray,
        report: ScanReport,
    ) -> list[tuple[int, int, str, float]]:
        involved = [files[int(p)] for p in np.unique(np.concatenate([a_ids, b_ids]))]
        known = self.store.photo_hashes(involved)
        dh: dict[int, int | None] = {}
        made: dict[PhotoFile, Hashes] = {}
        for f in involved:
            h = known.get(f.id)
            if h is not None and h.dhash is not None:
                dh[f.id] = h.dhash
                continue
            thumb = self.store.thumbnail(f.id)
            try:
                dh[f.id] = difference_hash(thumb) if thumb else None
            except (OSError, ValueError) as exc:
                log.info("Couldn't read the thumbnail of %s: %s", f.path, exc)
                dh[f.id] = None
            report.hashed += 1
            if dh[f.id] is not None:
                made[f] = Hashes(None, dh[f.id])
        self.store.save_photo_hashes(made)
        cropped: dict[int, list[int]] = {}  # the hashes of crops, made for this scan only

        def crops_of(pid: int) -> list[int]:
            if pid not in cropped:
                thumb = self.store.thumbnail(pid)
                try:
                    cropped[pid] = difference_hashes(thumb)[1:] if thumb else []
                except (OSError, ValueError):
                    cropped[pid] = []
            return cropped[pid]

        pairs = []
        for a, b, score in zip(a_ids.tolist(), b_ids.tolist(), scores.tolist(), strict=True):
            fa, fb = files[a], files[b]
            if fa.taken_at_source == fb.taken_at_source == "exif" and fa.taken_at != fb.taken_at:
                continue  # two moments, however alike: similar shots at most
            ha, hb = dh.get(a), dh.get(b)
            if ha is None or hb is None:
                continue
            if hamming(ha, hb) > SAME_DHASH_BITS:
                # perhaps one is a crop of the other: the other's picture cut the same way
                near = min((hamming(ha, c) for c in crops_of(b)), default=64)
                near = min([near, *(hamming(hb, c) for c in crops_of(a))])
                if near > SAME_DHASH_BITS:
                    continue
            pairs.append((a, b, "same", float(score)))
        return pairs

    # -- reading and resolving groups ------------------------------------------------------

    def groups(self, kind: str | None = None, *, include_resolved: bool = False) -> list[Group]:
        """Groups of copies per kind, largest first; by default only those the user hasn't
        decided about yet."""
        pairs = self.store.duplicate_pairs()
        marks = self.store.duplicate_marks()
        out: list[Group] = []
        for k in KINDS if kind is None else (kind,):
            of_kind = [(a, b, s) for a, b, pk, s in pairs if pk == k]
            score: dict[int, float] = {}
            for a, b, s in of_kind:
                score[a] = min(score.get(a, 1.0), s)
                score[b] = min(score.get(b, 1.0), s)
            for members in _components((a, b) for a, b, _ in of_kind):
                files = self.store.photo_files(members)
                if len(files) < 2:
                    continue
                ordered = [f.id for f in keeper_order(files)]
                group = Group(
                    k,
                    ordered,
                    min(score[m] for m in ordered),
                    {m: marks[m] for m in ordered if m in marks},
                )
                if include_resolved or not group.resolved:
                    out.append(group)
        out.sort(key=lambda g: (KINDS.index(g.kind), -len(g.photo_ids), g.keeper))
        return out

    def keep_all(self, group: Group) -> dict[int, str | None]:
        """The user keeps every photo of the group: it is no longer offered. Returns the
        marks as they were, for undo()."""
        return self._mark({pid: "kept" for pid in group.photo_ids})

    def hide_rest(self, group: Group, keeper: int | None = None) -> dict[int, str | None]:
        """Keep one (the suggested keeper unless told), hide the others from search. Returns
        the marks as they were, for undo()."""
        keeper = group.keeper if keeper is None else keeper
        return self._mark({pid: "kept" if pid == keeper else "hidden" for pid in group.photo_ids})

    def undo(self, previous: dict[int, str | None]) -> None:
        self.store.set_duplicate_marks(previous)

    def _mark(self, marks: dict[int, str | None]) -> dict[int, str | None]:
        before = self.store.duplicate_marks()
        previous: dict[int, str | None] = {pid: before.get(pid) for pid in marks}
        self.store.set_duplicate_marks(marks)
        return previous


def copy_groups(pairs: Iterable[tuple[int, int, str, float]]) -> tuple[np.ndarray, np.ndarray]:
    """The groups that search folds into one hit: exact copies only, the same bytes. "The
    same photo" is an inference (a close vector and thumbnail) that can be wrong, as it is
    for plain generated pictures with the tiny model, and folding it would hide a photo from
    a search; those groups wait in the Duplicates view for the user to decide. Returns
    (photo ids sorted, the group number of each)."""
    members: list[int] = []
    numbers: list[int] = []
    for n, group in enumerate(_components((a, b) for a, b, kind, _ in pairs if kind == "exact")):
        members += group
        numbers += [n] * len(group)
    ids = np.asarray(members, np.int64)
    order = np.argsort(ids, kind="stable")
    return ids[order], np.asarray(numbers, np.int64)[order]


def check_for_copies(store: Store, embedder: object, stop: threading.Event | None = None) -> None:
    """After indexing: check the photos indexed since the last check against the library
    (the model's identity is enough; its vectors are in the library). A busy library is
    checked next time."""
    identity = embedder.identity  # type: ignore[attr-defined]
    try:
        Duplicates(store, store.model_id(identity), identity.dim).scan(stop=stop)
    except PhotoclipError as exc:
        log.info("Copies not checked: %s", exc)

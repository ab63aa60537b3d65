"""Which photos are strong matches for a query (strong_cut), and whether the query is about
anything in the library at all: its best photos are compared with what neutral captions
(scored by the same model, on the same photos) reach (about_library).

Any score distribution has outliers, so an outlier rule alone finds "strong matches" even for
gibberish. A query earns them only if, on several of its best photos, it stands out further
than nearly every caption that has nothing to do with those photos does. Both sides are read
in their own library-wide robust z-scores (median and MAD of that text's scores over the
library), because CLIP similarities of different texts have no common scale. Measured in
bench/bench_strong.py; see README "Strong matches and the rest"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Captions that describe no particular photo: content-free ones, made-up words, and everyday
# subjects of every kind. Whatever the library holds, the best of these on a photo is what an
# unrelated phrase can reach there; a query has to do better. None of them is in the held-out
# off-topic list the rule is measured with (bench/bench_strong.py).
NEUTRAL_CAPTIONS: tuple[str, ...] = (
    # content-free
    "a photo", "a picture", "a photograph", "a snapshot", "a photo of something",
    "an image of an object", "something", "a thing", "stuff", "this", "a scene", "a view",
    "a close-up", "a still", "an example", "untitled", "img", "a blurry photo", "a dark photo",
    "a bright photo", "an old photo", "a cropped photo", "a photo taken on a phone", "a scan",
    "a drawing", "a painting", "a sketch", "a cartoon", "a poster", "a logo",
    # made-up words and noise
    "qwpzk", "blorf", "xvtrmq", "glimbo vart", "zzkj qq", "fnord", "plok snee", "vrbl",
    "mxyzptlk", "a blorf", "the zvark", "a photo of a gwimble", "ta nuk", "ekkel", "oopsy flam",
    "jjj", "x", "...", "?", "123", "aaaa", "lmnop", "trzk wq", "bnnb", "ufo ufo", "hmm",
    "ok", "yes no", "dfgdfg", "ploink", "snarf the quibble", "zo", "kkk lll", "1999", "#42",
    "abc def", "qqqq wwww", "vex", "muzzt", "a zorpling",
    # people
    "a person", "a woman", "a man", "a child", "a family", "a crowd", "a face", "a portrait",
    "two friends", "an old man", "a teenager", "a group photo", "a soldier", "a doctor",
    # animals
    "a puppy", "a kitten", "a fish", "a cow", "a sheep", "a lion", "an insect", "a butterfly",
    "a snake", "a duck", "a monkey", "a bear",
    # places
    "a city street", "a forest", "a desert", "a lake", "the ocean", "a river", "a village",
    "a park", "a garden", "a bridge", "a castle", "a church", "a stadium", "an airport",
    "a kitchen", "a bedroom", "an office", "a classroom", "a shop", "a restaurant",
    "a hospital", "a museum", "london", "tokyo", "rome", "a farm", "a road", "a snowy field",
    # things
    "a chair", "a table", "a phone", "a laptop", "a book", "a cup of coffee", "a bottle",
    "a clock", "a lamp", "a guitar", "a piano", "a ball", "a toy", "a bag", "shoes", "a hat",
    "a dress", "glasses", "a key", "a knife", "a camera", "a television", "a window", "a door",
    # food
    "a pizza", "a cake", "fruit", "vegetables", "bread", "a salad", "pasta", "soup", "a sandwich",
    # vehicles
    "a bicycle", "a bus", "a train", "a boat", "an airplane", "a motorbike", "a truck",
    # nature and weather
    "a flower", "grass", "the sky", "clouds", "rain", "snow", "the sun", "a sunset", "a rock",
    "leaves", "a waterfall",
    # paper and screens
    "a document", "a letter", "a page of text", "a form", "a map", "a chart", "a ticket",
    "a bill", "a contract", "a menu", "handwriting", "a newspaper", "a sign",
    # events and activities
    "a party", "a concert", "a football game", "a meeting", "a holiday", "christmas",
    "a graduation", "running", "swimming", "cooking", "dancing", "reading", "sleeping",
    # ideas
    "love", "happiness", "music", "technology", "science", "history", "money", "art",
    "nature", "sports", "travel", "work", "fashion",
)  # fmt: skip

# A photo's bar is the BANK_RANK-th best neutral caption on it (not the very best, so that one
# caption that happens to describe the photo doesn't veto a query about it), plus MARGIN in
# z-score units. A query must clear it on NEED_PHOTOS of its candidates (a match is a set of
# photos; unknown text that lands near one photo by chance rarely lands near several), or on
# one of them by LONE_MARGIN more (a library may hold a single photo of a thing). The strong
# set is the photos above the largest gap in the best TOP_SHARE of scores, or outliers by the
# usual rule (z >= OUTLIER_Z), whichever holds more. Tuned on two tuning libraries and tuning
# query lists that the reported figures don't use (bench/bench_strong.py --tune).
BANK_RANK = 2
MARGIN = 0.2
NEED_PHOTOS = 4
LONE_MARGIN = 1.0
TOP_SHARE = 0.3
OUTLIER_Z = 3.5
# The caption statistics come from an even sample of the library (robust statistics of a
# few thousand rows are as good as of all), re-measured when the library grows or shrinks by
# a tenth; a query checks at most this many of its outlier photos, its best ones.
SAMPLE_ROWS = 4096
CANDIDATES = 256
_MAD_TO_SIGMA = 1.4826


def robust_centre_spread(scores: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Median and MAD (scaled to a standard deviation) along ``axis``; a zero spread becomes
    a tiny one, so that z-scores stay finite."""
    centre = np.median(scores, axis=axis)
    spread = np.median(np.abs(scores - np.expand_dims(centre, axis)), axis=axis) * _MAD_TO_SIGMA
    return centre, np.maximum(spread, 1e-6)


def strong_cut(scores: np.ndarray, top_share: float = TOP_SHARE) -> float:
    """The score a photo needs to be a strong match, if the query is about the library at all
    (about_library). Matches form a group of scores set apart from the rest: the cut is at the
    widest gap between neighbouring scores among the best ``top_share`` of the photos, or at
    the usual outlier bar (median + OUTLIER_Z robust standard deviations) where that lets in
    more. Below three photos, every photo is a candidate."""
    n = len(scores)
    if n < 3:
        return float(scores.min()) if n else float("inf")
    k = max(2, int(top_share * n))
    best = -np.partition(-scores, k - 1)[:k]
    best.sort()
    best = best[::-1]  # the k best scores, highest first
    at = int(np.argmax(best[:-1] - best[1:]))
    centre, spread = robust_centre_spread(scores)
    return float(min(best[at], float(centre) + OUTLIER_Z * float(spread)))


def rephrase(text: str) -> str:
    """The same query worded as a photo caption. A phrase the model understands means the same
    either way; text it can't read (gibberish, words it never learned) lands somewhere else
    each time, so a lucky landing near some photos rarely happens twice."""
    return f"a photo of {text}"


@dataclass(frozen=True)
class NeutralBank:
    """The neutral captions' vectors for one model and how each scores across one library."""

    columns: np.ndarray  # (dim, captions): the captions' unit vectors, one per column
    sample: np.ndarray  # (rows, dim): the library, or an even sample of it, that sets scales
    centre: np.ndarray  # (captions,)
    spread: np.ndarray  # (captions,)
    rows: int  # library size when measured

    @classmethod
    def measure(cls, vectors: np.ndarray, library: np.ndarray) -> NeutralBank:
        n = len(library)
        sample = library
        if n > SAMPLE_ROWS:
            sample = library[np.linspace(0, n - 1, SAMPLE_ROWS).astype(np.int64)]
        sample = np.array(sample, np.float32)  # a copy, in float32 (the index holds float16)
        # Contiguous columns: a few photos times a transposed view sends OpenBLAS down a path
        # that is a hundred times slower (24 ms instead of 0.2 for 18 photos, 2 threads).
        columns = np.ascontiguousarray(vectors.T, np.float32)
        centre, spread = robust_centre_spread(sample @ columns, axis=0)
        return cls(columns, sample, centre, spread, n)

    def stale(self, rows: int) -> bool:
        return abs(rows - self.rows) > 0.1 * max(self.rows, 1)

    def z(self, query: np.ndarray, photos: np.ndarray) -> np.ndarray:
        """A query's scores on ``photos`` in its own robust z-scores over the library."""
        centre, spread = robust_centre_spread(self.sample @ query)
        return (photos @ query - centre) / spread

    def bar(self, photos: np.ndarray, rank: int = BANK_RANK, margin: float = MARGIN) -> np.ndarray:
        """Per photo: the z-score a query must beat there (the ``rank``-th best caption's, plus
        ``margin``)."""
        z = (photos @ self.columns - self.centre) / self.spread
        k = min(rank, z.shape[1])
        return np.partition(z, -k, axis=1)[:, -k] + margin


def about_library(
    phrasings: Sequence[np.ndarray],
    best_photos: np.ndarray,
    bank: NeutralBank,
    rank: int = BANK_RANK,
    margin: float = MARGIN,
    need: int = NEED_PHOTOS,
    lone: float = LONE_MARGIN,
) -> bool:
    """Whether the query is about its best photos (their vectors ``best_photos``): in each of
    its ``phrasings`` (query vectors) it stands out from the library further than the neutral
    captions do on ``need`` of them (or on all, if fewer), or on one by ``lone`` more."""
    if bank.rows < 3 or len(best_photos) == 0:
        return False  # too few photos to tell a match from the rest
    bar = bank.bar(best_photos, rank, margin)
    need = min(need, len(best_photos))
    for q in phrasings:
        z = bank.z(q, best_photos)
        if not (int((z > bar).sum()) >= need or bool((z > bar + lone).any())):
            return False
    return True

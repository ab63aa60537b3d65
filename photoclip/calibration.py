"""Whether a query is about anything in the library at all: its best photos are compared with
what neutral captions (scored by the same model, on the same photos) reach.

Any score distribution has outliers, so the robust outlier rule in search.py finds "strong
matches" even for gibberish. A query earns them only if, on at least one of its outlier
photos, it stands out further than nearly every caption that has nothing to do with that
photo does. Both sides are read in their own library-wide robust z-scores (median and MAD of
that text's scores over the library), because CLIP similarities of different texts have no
common scale. Measured in bench/bench_strong.py; see README "Strong matches and the rest"."""

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
# z-score units. Tuned on a tuning library and tuning query lists that the reported figures
# don't use (bench/bench_strong.py --tune).
BANK_RANK = 2
MARGIN = 0.3
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
        # Contiguous columns: a few photos times a transposed view sends OpenBLAS down a path
        # that is a hundred times slower (24 ms instead of 0.2 for 18 photos, 2 threads).
        columns = np.ascontiguousarray(vectors.T, np.float32)
        centre, spread = robust_centre_spread(sample @ columns, axis=0)
        return cls(columns, sample.copy(), centre, spread, n)

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
) -> bool:
    """Whether the query is about one of its best photos (their vectors ``best_photos``): each
    of its ``phrasings`` (query vectors) stands out there from the library further than the
    neutral captions do."""
    if bank.rows < 3 or len(best_photos) == 0:
        return False  # too few photos to tell a match from the rest
    bar = bank.bar(best_photos, rank, margin)
    return all(bool((bank.z(q, best_photos) > bar).any()) for q in phrasings)

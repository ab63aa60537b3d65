"""Smart albums: saved searches that learn from examples.

A smart album is an album row of kind 'smart' whose query (JSON) holds a search (text, image
terms, algebra) and its filters. With no examples its photos are the search's strong matches
(calibration.py). Once the user has marked photos as belonging (+1) or not (-1), a logistic
regression on the CLIP vectors is fitted to them, with the search as its prior (the weights
are pulled towards the query's vector, not towards zero), and the album's threshold is chosen
by leave-one-out cross-validation on the examples, so "N photos" is what the classifier says.
Marked photos are in or out as marked. Measured in bench/bench_smart_albums.py."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import half_matrix
from .errors import AlbumError
from .search import Filters, Searcher

# The classifier: logits = w . x + b over unit vectors, L2-pulled towards PRIOR_SCALE * query
# (the text query as a prior) with strength PRIOR_STRENGTH; a sample of the library stands in
# as unmarked photos, weighted as UNMARKED_WEIGHT of one example, labelled by the search.
# Chosen on the tuning library of bench/bench_smart_albums.py.
PRIOR_SCALE = 10.0
PRIOR_STRENGTH = 1.0
UNMARKED_SAMPLE = 200
UNMARKED_WEIGHT = 0.05
STEPS = 50
MIN_EXAMPLES = 2  # at least one of each, and this many in all, before the classifier is used


@dataclass
class SmartQuery:
    """What a smart album searches for: a query (as typed in the search box) and filters."""

    text: str
    filters: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str | None) -> SmartQuery:
        try:
            data = json.loads(raw or "{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        filters = data.get("filters") if isinstance(data.get("filters"), dict) else {}
        return cls(str(data.get("text") or ""), dict(filters or {}))

    def search_filters(self) -> Filters | None:
        f = self.filters
        formats = f.get("formats")
        made = Filters(
            folder_id=_int_or_none(f.get("folder_id")),
            date_from=str(f["date_from"]) if f.get("date_from") else None,
            date_to=str(f["date_to"]) if f.get("date_to") else None,
            formats=tuple(str(x) for x in formats) if isinstance(formats, list) else None,
            favourites=bool(f.get("favourites")),
        )
        return made if made.active else None


def _int_or_none(value: object) -> int | None:
    try:
        return None if value is None else int(str(value))
    except ValueError:
        return None


@dataclass
class Membership:
    photo_ids: list[int]  # best first
    scores: dict[int, float]  # photo id -> the album's score (probability when learned)
    learned: bool  # from examples (else the search's strong matches)
    threshold: float


# -- the classifier ----------------------------------------------------------------------------


def fit(
    x: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray,
    prior: np.ndarray,
    strength: float = PRIOR_STRENGTH,
    steps: int = STEPS,
) -> tuple[np.ndarray, float]:
    """Weighted logistic regression (labels 0/1) by Newton's method: minimises the weighted
    log-loss plus ``strength`` / 2 * |w - prior|^2 (the penalty keeps every step well posed,
    a few dozen rows and a few hundred dimensions take milliseconds)."""
    n, dim = x.shape
    w = prior.astype(np.float64).copy()
    b = 0.0
    if n == 0:
        return w, b
    xb = np.hstack([x, np.ones((n, 1))])
    ridge = np.full(dim + 1, strength)
    ridge[dim] = 1e-3  # the bias is barely held
    for _ in range(steps):
        z = x @ w + b
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        grad = xb.T @ (weight * (p - y))
        grad[:dim] += strength * (w - prior)
        grad[dim] += 1e-3 * b
        hess = (xb * (weight * p * (1 - p))[:, None]).T @ xb + np.diag(ridge)
        step = np.linalg.solve(hess, grad)
        biggest = float(np.abs(step).max())
        if biggest > 2.0:  # saturated probabilities: a damped step, not a leap
            step *= 2.0 / biggest
        w -= step[:dim]
        b -= float(step[dim])
        if float(np.abs(step).max()) < 1e-6:
            break
    return w, b


def choose_threshold(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The cut that best separates held-out predictions of the examples (most right, then the
    middle of the widest gap): between the classes, not at 0.5."""
    order = np.argsort(probabilities)
    p, y = probabilities[order], labels[order]
    cuts = np.concatenate([[p[0] - 1e-6], (p[:-1] + p[1:]) / 2, [p[-1] + 1e-6]])
    right = [int(((p >= c) == (y == 1)).sum()) for c in cuts]
    best = max(right)
    candidates = [k for k, r in enumerate(right) if r == best]
    # among equally good cuts, the one with the widest gap around it
    widths = [
        (p[k] if k < len(p) else p[-1] + 1e-3) - (p[k - 1] if k > 0 else p[0] - 1e-3)
        for k in candidates
    ]
    return float(cuts[candidates[int(np.argmax(widths))]])


class SmartAlbum:
    """One smart album over one searcher."""

    def __init__(self, searcher: Searcher, album_id: int) -> None:
        self.searcher = searcher
        self.store = searcher.store
        self.album_id = album_id
        album = self.store.album(album_id)
        if album is None or album.kind != "smart":
            raise AlbumError("That smart album no longer exists.")
        self.name = album.name
        self.query = SmartQuery.from_json(album.query)

    # -- creating --------------------------------------------------------------------------

    @classmethod
    def create(cls, searcher: Searcher, name: str, query: SmartQuery) -> SmartAlbum:
        if not query.text.strip():
            raise AlbumError("A smart album needs something to search for.")
        searcher.query_vector(query.text)  # a query that can't be read fails here, not later
        album_id = searcher.store.create_album(name, kind="smart", query=query.to_json())
        return cls(searcher, album_id)

    def mark(self, photo_ids: Sequence[int], label: int | None) -> None:
        """👍 (+1), 👎 (-1) or unmark (None) photos."""
        for pid in photo_ids:
            self.store.set_example(self.album_id, int(pid), label)

    def freeze(self, name: str | None = None) -> int:
        """A plain album with the smart album's photos as they are now; returns its id."""
        members = self.members()
        album_id = self.store.create_album(name or f"{self.name} (frozen)")
        self.store.add_to_album(album_id, members.photo_ids)
        return album_id

    # -- membership ------------------------------------------------------------------------

    def members(self) -> Membership:
        searcher = self.searcher
        qvec = searcher.query_vector(self.query.text)
        filters = self.query.search_filters()
        candidates = searcher.candidates(qvec, filters)
        result = searcher.rank(qvec, limit=0, filters=filters, candidates=candidates)
        ids, mat, at, scores = candidates
        present = set(ids.tolist())
        examples = {p: v for p, v in self.store.examples(self.album_id).items() if p in present}
        positives = [p for p, v in examples.items() if v > 0]
        negatives = [p for p, v in examples.items() if v < 0]
        if len(positives) and len(negatives) and len(examples) >= MIN_EXAMPLES:
            return self._learned(ids, mat, at, scores, qvec, examples)
        strong = scores >= result.threshold
        for p in positives:
            strong[ids == p] = True
        for p in negatives:
            strong[ids == p] = False
        chosen = np.flatnonzero(strong)
        chosen = chosen[np.argsort(-scores[chosen], kind="stable")]
        return Membership(
            [int(i) for i in ids[chosen]],
            {int(ids[i]): float(scores[i]) for i in chosen},
            False,
            float(result.threshold),
        )

    def _learned(
        self,
        ids: np.ndarray,
        mat: np.ndarray,
        at: np.ndarray,
        scores: np.ndarray,
        qvec: np.ndarray,
        examples: dict[int, int],
    ) -> Membership:
        row_of = {int(p): k for k, p in enumerate(ids)}
        marked = np.array([row_of[p] for p in examples], np.int64)
        labels = np.array([1.0 if v > 0 else 0.0 for v in examples.values()])
        # unmarked photos: an even sample, labelled by whether the search calls them strong
        rest = np.setdiff1d(np.arange(len(ids)), marked)
        sample = rest[np.linspace(0, len(rest) - 1, min(UNMARKED_SAMPLE, len(rest))).astype(int)]
        if len(sample):
            cut = float(np.sort(scores)[-max(1, int(0.05 * len(scores)))])
            sample_y = (scores[sample] >= cut).astype(float)
        else:
            sample_y = np.zeros(0)
        x = np.concatenate([mat[at[marked]], mat[at[sample]]]).astype(np.float64)
        y = np.concatenate([labels, sample_y])
        weight = np.concatenate([np.ones(len(marked)), np.full(len(sample), UNMARKED_WEIGHT)])
        prior = PRIOR_SCALE * qvec.astype(np.float64)
        # leave-one-out over the examples for the threshold
        held_out = np.empty(len(marked))
        for k in range(len(marked)):
            keep = np.ones(len(x), bool)
            keep[k] = False
            w, b = fit(x[keep], y[keep], weight[keep], prior)
            held_out[k] = _sigmoid(float(x[k] @ w + b))
        threshold = choose_threshold(held_out, labels)
        w, b = fit(x, y, weight, prior)
        # every photo's logit in float32 chunks (a float64 copy of a million vectors is 4 GB)
        prob = _sigmoid(half_matrix.matmul(mat, w)[at].astype(np.float64) + b)
        member = prob >= threshold
        member[marked[labels > 0]] = True
        member[marked[labels == 0]] = False
        chosen = np.flatnonzero(member)
        chosen = chosen[np.argsort(-prob[chosen], kind="stable")]
        return Membership(
            [int(i) for i in ids[chosen]],
            {int(ids[i]): float(prob[i]) for i in chosen},
            True,
            threshold,
        )


def _sigmoid(z: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

"""Ranks the library against a query: text, an image, or an algebra of both.

Vectors live in one normalised matrix per model, held as float16 (half_matrix.py: a million
photos in 1 GB), loaded once a chunk at a time and updated incrementally from the store; a
query is one matrix-vector product in float32 chunks plus ``argpartition``."""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import half_matrix, preprocess
from .calibration import (
    CANDIDATES,
    NEUTRAL_CAPTIONS,
    NeutralBank,
    about_library,
    rephrase,
    robust_centre_spread,
    strong_cut,
)
from .embedder import AnyEmbedder
from .errors import ModelUnavailableError, QueryError, StoreError
from .imaging import PhotoError, decode_photo
from .scanner import is_photo_name
from .store import Store

log = logging.getLogger(__name__)

# Strong matches: calibration.strong_cut(), and only for a query that is about something in
# the library at all (calibration.about_library); tuned and measured in bench/bench_strong.py.
# strong_threshold() is the outlier rule alone, as before (#10), which the bench compares with.
STRONG_Z = 3.5
NEAR_TOP_Z = 0.4
_MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Term:
    weight: float  # negative for "- term"
    text: str | None = None
    image: str | None = None

    def __str__(self) -> str:
        return f"{self.weight:+g}×{self.image or repr(self.text)}"


_TOKEN = re.compile(r'(\d*\.?\d+:)?(?:"([^"]*)"|\'([^\']*)\')|(\S+)')
_WEIGHT = re.compile(r"^(\d+(?:\.\d+)?|\.\d+):(?!\d)(.*)$", re.S)  # not "10:30"
_PATHLIKE = re.compile(r"^(\./|\.\./|/|~|file://|[A-Za-z]:[\\/])")


def parse_query(query: str) -> list[Term]:
    """Split a query into weighted terms.

    ``kids building a sandcastle``     one text term
    ``beach - people + ./ref.jpg``      beach, minus people, plus an image
    ``2:sunset + "a lighthouse"``       weights; quotes keep words (and + or -) together
    ``dog -leash``                      a word with a leading minus starts a subtracted term
    """
    terms: list[Term] = []
    sign = 1.0
    words: list[tuple[str, bool]] = []  # (word, was quoted)

    def flush() -> None:
        nonlocal words, sign
        if words:
            terms.append(_make_term(sign, words))
        words, sign = [], 1.0

    for m in _TOKEN.finditer(query):
        weight_prefix, quoted_text = (
            m.group(1),
            m.group(2) if m.group(2) is not None else m.group(3),
        )
        if weight_prefix:  # 2:"a lighthouse": the weight applies to the quoted words
            words.append((f'{weight_prefix}"{quoted_text}"', False))
            continue
        quoted = m.group(4) is None
        tok = quoted_text if quoted else m.group(4)
        if not quoted:
            if tok in ("+", "-"):
                flush()
                sign = -1.0 if tok == "-" else 1.0
                continue
            if len(tok) > 1 and tok[0] in "+-" and tok[1] not in "+-":
                flush()
                sign, tok = (-1.0 if tok[0] == "-" else 1.0), tok[1:]
        words.append((tok, quoted))
    flush()
    if not terms:
        raise QueryError("The search is empty. Describe what you're looking for.")
    if all(t.weight <= 0 for t in terms):
        raise QueryError("A search needs at least one thing to look for, not only things to "
                         "leave out (for example: beach - people).")  # fmt: skip
    return terms


def _make_term(sign: float, words: list[tuple[str, bool]]) -> Term:
    weight = 1.0
    first, first_quoted = words[0]
    m = None if first_quoted else _WEIGHT.match(first)
    if m:
        weight = float(m.group(1))
        rest = m.group(2).strip("\"'")
        words = ([(rest, True)] if rest else []) + words[1:]
        if not words:
            raise QueryError(f"The weight {m.group(1)}: needs something after it.")
    text = " ".join(w for w, _ in words).strip()
    if not text:
        raise QueryError("The search has an empty part. Describe what you're looking for.")
    single_bare = len(words) == 1 and not words[0][1]
    if single_bare and (_PATHLIKE.match(text) or is_photo_name(text)):
        path = os.path.expanduser(text.removeprefix("file://"))
        if not os.path.isfile(path):
            raise QueryError(f"The image {text} in the search can't be found.")
        return Term(sign * weight, image=os.path.abspath(path))
    return Term(sign * weight, text=text)


@dataclass(frozen=True)
class Filters:
    folder_id: int | None = None
    date_from: str | None = None  # "YYYY-MM-DD" (inclusive)
    date_to: str | None = None
    formats: tuple[str, ...] | None = None  # Pillow format names: "JPEG", "PNG", ...
    album_id: int | None = None  # only photos in this album ("search within this album")
    favourites: bool = False  # only favourites

    @property
    def active(self) -> bool:
        return any((self.folder_id is not None, self.date_from, self.date_to, self.formats,
                    self.album_id is not None, self.favourites))  # fmt: skip


@dataclass(frozen=True)
class Hit:
    photo_id: int
    path: str
    score: float
    strong: bool
    taken_at: str | None = None
    copies: int = 1  # photos this hit stands for: a group of copies folds into its best-placed


@dataclass
class SearchResult:
    hits: list[Hit]
    total: int  # photos ranked (after filters)
    strong_count: int  # how many of all ranked photos are strong matches
    threshold: float  # the score a strong match needs here; inf when none is a match
    offset: int = 0
    terms: list[Term] = field(default_factory=list)


# Vectors read from the library per step while loading: 4,096 x 512 float32 is 8 MB, so a
# load holds a chunk of float32 vectors and their SQLite blobs, never the library's (a
# million 512-d vectors loaded in 5.6 s here, 6.1 s 20,000 at a time).
LOAD_ROWS = 4096


class GrowableMatrix:
    """Row-append with amortised O(1) growth (doubling), so indexing 100k photos doesn't copy
    the whole matrix per batch; rows are stored as ``dtype`` (float16 for the index). Rows a
    reader holds are never changed under it (appends go past the end, growing copies, and
    ``keep`` copies while it is held), so its ``ids`` and ``matrix`` stay valid."""

    def __init__(self, dim: int, dtype: Any = np.float32) -> None:
        self.dim = dim
        self.dtype = np.dtype(dtype)
        self._ids = np.zeros(1024, np.int64)
        self._mat = np.zeros((1024, dim), self.dtype)
        self.n = 0

    @property
    def ids(self) -> np.ndarray:
        return self._ids[: self.n]

    @property
    def matrix(self) -> np.ndarray:
        return self._mat[: self.n]

    def reserve(self, rows: int) -> None:
        """Room for ``rows`` rows in all, so that a load of known size never grows (growing
        holds the old and the new matrix at once)."""
        if rows > len(self._ids):
            self._grow(rows)

    def _grow(self, cap: int) -> None:
        new_ids = np.zeros(cap, np.int64)
        new_mat = np.zeros((cap, self.dim), self.dtype)
        new_ids[: self.n] = self.ids
        new_mat[: self.n] = self.matrix
        self._ids, self._mat = new_ids, new_mat

    def append(self, ids: np.ndarray, rows: np.ndarray) -> None:
        need = self.n + len(ids)
        if need > len(self._ids):
            self._grow(max(need, 2 * len(self._ids)))
        self._ids[self.n : need] = ids
        self._mat[self.n : need] = rows
        self.n = need

    def keep(self, mask: np.ndarray) -> None:
        """Keep the rows where ``mask`` is true, in order, a chunk at a time. In place when
        nothing else holds the arrays; while something does (a reader in another thread still
        ranking with the ids and rows it took: VectorIndex is shared), into new arrays, so
        that the reader's stay as they were and the old ones go with their last reader."""
        # A reader's ``ids``/``matrix`` are views, each holding a reference to the array
        # behind it: beyond our attribute and getrefcount's argument, someone is reading.
        shared = sys.getrefcount(self._ids) > 2 or sys.getrefcount(self._mat) > 2
        kept = int(np.count_nonzero(mask[: self.n]))
        new_ids, new_mat = self._ids, self._mat
        if shared:
            cap = max(1024, kept + kept // 8)  # some room: appends follow deletions
            new_ids = np.zeros(cap, np.int64)
            new_mat = np.zeros((cap, self.dim), self.dtype)
        at = 0
        for start in range(0, self.n, LOAD_ROWS):
            rows = np.flatnonzero(mask[start : start + LOAD_ROWS]) + start
            new_ids[at : at + len(rows)] = self._ids[rows]
            new_mat[at : at + len(rows)] = self._mat[rows]
            at += len(rows)
        self._ids, self._mat, self.n = new_ids, new_mat, at


def whole_vector(vector: np.ndarray, views: np.ndarray | None) -> np.ndarray:
    """A photo as a whole: the blend (preprocess.blend) of its vector (its centre square's)
    and its extra views' (preprocess.extra_view_boxes); its vector alone when it has none."""
    if views is None or not len(views):
        return np.asarray(vector, np.float32)
    return preprocess.blend(np.vstack([vector, views]).astype(np.float32), [len(views) + 1])[0]


def robust_spread(scores: np.ndarray, sample: int = 4096) -> np.ndarray:
    """Per column of ``scores`` (photos x queries, or one query), the spread of its values
    (calibration.robust_centre_spread) over an even sample of rows."""
    part = scores[:: max(1, len(scores) // sample)]
    return np.asarray(robust_centre_spread(part, axis=0)[1], np.float32)


_SHARED: weakref.WeakValueDictionary[tuple[int, int], VectorIndex] = weakref.WeakValueDictionary()
_SHARED_LOCK = threading.Lock()


class VectorIndex:
    """All vectors of one model, as a float16 matrix kept in step with the store (float32 on
    disk: the user's compute, kept exact), and the extra views of the photos that have them
    (preprocess.extra_view_boxes): ``scores`` rates a photo by its best view.

    One per library and model in a process (``shared``): the search bar, Things and smart
    albums rank with the same matrix (a gigabyte for a million photos) instead of one each."""

    @classmethod
    def shared(cls, store: Store, model_id: int, dim: int) -> VectorIndex:
        """The index of ``store``'s vectors of ``model_id`` that this process already holds
        (while something uses it), else a new one. Keyed by the store object: it lives as long
        as the index does, so its id can't be reused meanwhile."""
        with _SHARED_LOCK:
            index = _SHARED.get((id(store), model_id))
            if index is None:
                index = cls(store, model_id, dim)
                _SHARED[(id(store), model_id)] = index
            return index

    def __init__(self, store: Store, model_id: int, dim: int) -> None:
        self.store = store
        self.model_id = model_id
        self.dim = dim
        self._rows = GrowableMatrix(dim, np.float16)
        self._last_id = 0
        self._views = GrowableMatrix(dim, np.float16)  # ids: the photo each view is of
        self._views_last_id = 0
        self._view_rows: np.ndarray | None = None  # each view's row in _rows; None: to redo
        self._norms: tuple[np.ndarray, np.ndarray] | None = None  # (_view_rows, _whole_norms)
        self._deletions = -1
        self._loading: tuple[int, int] | None = None  # a load in steps under way (_load_new)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._rows.n

    def refresh(self, max_chunks: int | None = None) -> bool:
        """Pick up vectors written since the last refresh, and drop deleted ones. With
        ``max_chunks``, read at most that many chunks of ``LOAD_ROWS`` vectors and stop (a
        load in steps, between which a worker thread answers other requests); False while
        there is more to read, True once the index is up to date."""
        with self._lock:
            loaded, finished = self._load_new(max_chunks)
            if loaded:
                self._view_rows = None
            if not finished:
                return False
            photos, owners, views, last = self.store.view_vectors_since(
                self.model_id, self._views_last_id, self.dim
            )
            if len(photos):
                replaced = np.isin(self._views.ids, photos)
                if replaced.any():
                    self._views.keep(~replaced)  # a photo's new views replace its old ones
                self._views.append(owners, half_matrix.as_half(views))
                self._views_last_id = last
                self._view_rows = None
            deletions = self.store.vector_deletions()
            if deletions != self._deletions:
                if self._deletions >= 0 or self.store.vector_count(self.model_id) != self._rows.n:
                    alive = self.store.vector_photo_ids(self.model_id)
                    self._rows.keep(np.isin(self._rows.ids, alive))
                if self._deletions >= 0 and self._views.n:
                    with_views = self.store.view_photo_ids(self.model_id)
                    self._views.keep(np.isin(self._views.ids, with_views))
                self._deletions = deletions
                self._view_rows = None
        return True

    def _load_new(self, max_chunks: int | None = None) -> tuple[bool, bool]:
        """The vectors written since the last load, ``LOAD_ROWS`` at a time, each chunk made
        float16 as it comes, at most ``max_chunks`` chunks. (any read, all read)."""
        if self._loading is None:  # a load starts: (rows before it, chunks read so far)
            self._loading = (self._rows.n, 0)
            if self._rows.n == 0:
                self._rows.reserve(self.store.vector_count(self.model_id))
        before, total = self._loading
        chunks, finished = 0, False
        while max_chunks is None or chunks < max_chunks:
            ids, mat, last = self.store.vectors_since(
                self.model_id, self._last_id, self.dim, limit=LOAD_ROWS
            )
            if len(ids):
                self._rows.append(ids, mat)  # float32 to float16 as it is copied in
                self._last_id = last
                chunks += 1
            if len(ids) < LOAD_ROWS:
                finished = True
                break
        self._loading = (before, total + chunks)
        if finished:
            self._loading = None
            if before or total + chunks > 1:  # one read of the table holds each photo once
                self._drop_replaced(before)
        return chunks > 0, finished

    def _drop_replaced(self, before: int) -> None:
        """A photo re-embedded since the last load, or between two chunks of this one, has
        its older vectors dropped: the newest (the last row of it) wins."""
        ids = self._rows.ids
        new = ids[before:]
        stale = np.zeros(len(ids), bool)
        if before:
            stale[:before] = np.isin(ids[:before], new)
        ordered = np.sort(new)
        if (ordered[1:] == ordered[:-1]).any():
            _, last_seen = np.unique(new[::-1], return_index=True)
            newest = np.zeros(len(new), bool)
            newest[len(new) - 1 - last_seen] = True
            stale[before:] = ~newest
        del ids, new  # views of the ids: while held, keep() would copy rather than compact
        if stale.any():
            self._rows.keep(~stale)

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """(photo ids, their vectors as float16)."""
        with self._lock:
            return self._rows.ids, self._rows.matrix

    def view_count(self) -> int:
        """How many extra views the index holds."""
        return self._views.n

    def scores(
        self, query: np.ndarray, whole: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(photo ids, their vectors as float16, their scores for ``query``: a vector, or a
        dim x k matrix of k queries), computed in float32 (half_matrix.matmul). A photo's score
        is its best view's: its own vector's, or one of its extra views' less
        preprocess.EXTRA_VIEW_MARGIN times the spread of the query's scores over the library (a
        margin in the query's own units: models differ in scale). With ``whole`` (a query made
        of photos: Find Similar), a photo is compared as a whole: by the normalised sum of its
        views' vectors (``whole_vector``), so a photo is most similar to itself."""
        with self._lock:
            ids, mat = self._rows.ids, self._rows.matrix
            if self._view_rows is None:
                self._view_rows = self._locate_views(ids)
            rows, views = self._view_rows, self._views.matrix
        scores = half_matrix.matmul(mat, query)
        if len(rows):
            kept = rows >= 0
            view_scores = half_matrix.matmul(views, query)  # no copy of the views
            if whole:
                norms = self._whole_norms(rows, mat, views)
                np.add.at(scores, rows[kept], view_scores[kept])
                scores /= norms if scores.ndim == 1 else norms[:, None]
            else:
                view_scores -= preprocess.EXTRA_VIEW_MARGIN * robust_spread(scores)
                np.maximum.at(scores, rows[kept], view_scores[kept])
        return ids, mat, scores

    def _whole_norms(self, rows: np.ndarray, mat: np.ndarray, views: np.ndarray) -> np.ndarray:
        """Per photo, the length of the sum of its vector and its extra views' (1 for a photo
        without views): what divides a whole-photo score. Kept until the views change."""
        with self._lock:
            if self._norms is not None and self._norms[0] is rows:
                return self._norms[1]
        kept = rows >= 0
        owners, at = np.unique(rows[kept], return_inverse=True)
        sums = mat[owners].astype(np.float32)
        np.add.at(sums, at, views[kept].astype(np.float32))
        norms = np.ones(len(mat), np.float32)
        norms[owners] = np.maximum(np.linalg.norm(sums, axis=1), 1e-12)
        with self._lock:
            self._norms = (rows, norms)
        return norms

    def _locate_views(self, ids: np.ndarray) -> np.ndarray:
        """Each extra view's row in the matrix of photos (-1 for a photo not in it)."""
        owners = self._views.ids
        if not len(owners) or not len(ids):
            return np.full(len(owners), -1, np.int64)
        order = np.argsort(ids, kind="stable")
        at = np.clip(np.searchsorted(ids[order], owners), 0, len(ids) - 1)
        rows = order[at]
        return np.where(ids[rows] == owners, rows, -1)


class Searcher:
    """Search over one library with one model."""

    def __init__(self, store: Store, embedder: AnyEmbedder) -> None:
        self.store = store
        self.embedder = embedder
        self.model_id = store.model_id(embedder.identity)
        self.index = VectorIndex.shared(store, self.model_id, embedder.identity.dim)
        self._bank: NeutralBank | None = None
        self._bank_vectors: np.ndarray | None = None
        self._bank_lock = threading.Lock()
        # query vector -> the same query worded as a photo caption (calibration.rephrase), so
        # that rank() of a vector made by query_vector() can check both wordings; None when
        # the wording couldn't be embedded
        self._rephrased: OrderedDict[bytes, np.ndarray | None] = OrderedDict()
        self._rephrased_lock = threading.Lock()
        self._of_photos: OrderedDict[bytes, None] = OrderedDict()  # query vectors made of photos
        # False in the app while the user types: a pause's phrase is kept in memory, and only
        # the search the user settles on (settle()) goes into the library's remembered phrases.
        self.remember_phrases = True
        self._unsettled: OrderedDict[str, np.ndarray] = OrderedDict()
        # Exact copies (the same bytes: duplicates.py) fold into one hit.
        self.fold_copies = True
        self._groups: tuple[tuple[int, int], np.ndarray, np.ndarray] | None = None

    # -- query vectors ---------------------------------------------------------------------

    def query_vector(self, query: str | Sequence[Term]) -> np.ndarray:
        terms = parse_query(query) if isinstance(query, str) else list(query)
        texts = [t.text for t in terms if t.text is not None]
        reworded = {text: rephrase(text) for text in texts}
        try:  # both wordings in one call to the model
            text_vecs = self._text_vectors(texts + list(reworded.values())) if texts else {}
        except ModelUnavailableError:
            text_vecs = self._text_vectors(texts)  # perhaps remembered; else the error stands
        images = {t.image: self._image_vector(t.image) for t in terms if t.image is not None}

        def combine(text_vector: Callable[[str], np.ndarray]) -> np.ndarray | None:
            total = np.zeros(self.embedder.identity.dim, np.float32)
            for t in terms:
                total += t.weight * (
                    text_vector(t.text) if t.text is not None else images[str(t.image)]
                )
            norm = float(np.linalg.norm(total))
            return None if norm < 1e-6 else total / norm

        vector = combine(lambda text: text_vecs[text])
        if vector is None:
            raise QueryError("The parts of this search cancel each other out.")
        # What tells a match (rank()) needs the model too, here rather than in rank(); without
        # the model (a phrase remembered by an older photoclip, the model gone) the search
        # still runs, and then calls nothing a strong match.
        as_caption = None
        if all(w in text_vecs for w in reworded.values()):
            as_caption = combine(lambda text: text_vecs[reworded[text]])
        try:
            self._neutral_vectors(embed=True)
        except ModelUnavailableError as exc:
            log.info("Strong matches can't be told without the model: %s", exc)
        with self._rephrased_lock:
            if texts:
                self._rephrased[vector.tobytes()] = as_caption
                while len(self._rephrased) > 64:
                    self._rephrased.popitem(last=False)
            else:  # photos alone: rank() compares photos as wholes (VectorIndex.scores)
                self._of_photos[vector.tobytes()] = None
                while len(self._of_photos) > 64:
                    self._of_photos.popitem(last=False)
        return vector

    def _text_vectors(
        self, texts: list[str], remember: bool | None = None
    ) -> dict[str, np.ndarray]:
        """Phrases searched for before come from the store (no model needed); new ones are
        embedded and remembered (with ``remember_phrases`` off, in memory until settled)."""
        known = self.store.text_vectors(self.model_id, texts)
        with self._rephrased_lock:
            known.update(
                {t: self._unsettled[t] for t in texts if t in self._unsettled and t not in known}
            )
        new = [t for t in dict.fromkeys(texts) if t not in known]
        if new:
            fresh = dict(zip(new, self.embedder.encode_text(new), strict=True))
            if self.remember_phrases if remember is None else remember:
                self._remember(fresh)
            else:
                with self._rephrased_lock:
                    self._unsettled.update(fresh)
                    while len(self._unsettled) > 256:
                        self._unsettled.popitem(last=False)
            known.update(fresh)
        return known

    def _remember(self, vectors: dict[str, np.ndarray]) -> None:
        try:
            self.store.remember_text_vectors(self.model_id, vectors)
        except StoreError as exc:  # a busy or read-only library: search all the same
            log.info("Search phrase not remembered: %s", exc)

    def settle(self, query: str) -> None:
        """The user settled on ``query`` (opened a result, left the search bar): remember its
        phrases in the library, so a later process finds them without the model."""
        try:
            texts = [t.text for t in parse_query(query) if t.text is not None]
        except QueryError:
            return
        texts += [rephrase(t) for t in texts]
        with self._rephrased_lock:
            settled = {t: self._unsettled.pop(t) for t in texts if t in self._unsettled}
        if settled:
            self._remember(settled)

    def _image_vector(self, path: str) -> np.ndarray:
        """The photo at ``path`` as a whole (``whole_vector``): from the library when it is
        in it, else embedded now the way the library's photos were."""
        pid = self.store.photo_id_for_path(path)
        if pid is not None:
            stored = self.store.vector_for_photo(pid, self.model_id)
            if stored is not None:
                return whole_vector(stored, self.store.views_for_photo(pid, self.model_id))
        try:
            photo = decode_photo(path, self.embedder.image_size)
        except PhotoError as exc:
            raise QueryError(f"Couldn't use {os.path.basename(path)} in the search: {exc}") from exc
        tensor = self.embedder.preprocess(photo.image)
        extras = self.embedder.extra_views(photo.image)
        vector, views = self.embedder.encode_photos([tensor], [extras])[0]
        return whole_vector(vector, views)

    # -- ranking ---------------------------------------------------------------------------

    def search(
        self,
        query: str | Sequence[Term],
        *,
        limit: int = 50,
        offset: int = 0,
        filters: Filters | None = None,
        sort_by_date: bool = False,
        exclude: Sequence[int] = (),
    ) -> SearchResult:
        terms = parse_query(query) if isinstance(query, str) else list(query)
        result = self.rank(
            self.query_vector(terms), limit=limit, offset=offset, filters=filters,
            sort_by_date=sort_by_date, exclude=exclude,
        )  # fmt: skip
        result.terms = terms
        return result

    def similar(self, path: str, **kwargs: Any) -> SearchResult:
        """Photos like the one at ``path`` (in the library or not); the photo itself is left
        out of its own results."""
        path = os.path.abspath(path)
        pid = self.store.photo_id_for_path(path)
        exclude = [pid] if pid is not None else []
        term = Term(1.0, image=path)
        if not os.path.isfile(path) and pid is None:
            raise QueryError(f"The image {path} can't be found.")
        return self.search([term], exclude=exclude, **kwargs)

    def candidates(
        self, qvec: np.ndarray, filters: Filters | None = None, exclude: Sequence[int] = ()
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The photos a query ranks: (their ids, the library's matrix, each one's row in it,
        their scores), after ``filters``, ``exclude`` and the copies hidden from search
        (duplicates.py). Filters keep each photo's row, never a copy of the rows."""
        self.index.refresh()
        qvec = qvec.astype(np.float32)
        with self._rephrased_lock:
            whole = qvec.tobytes() in self._of_photos
        ids, mat, scores = self.index.scores(qvec, whole=whole)
        at = np.arange(len(ids))
        if filters is not None and filters.active:
            allowed = self.store.filtered_photo_ids(
                filters.folder_id, filters.date_from, filters.date_to, filters.formats,
                album_id=filters.album_id, favourites=filters.favourites,
            )  # fmt: skip
            keep = np.isin(ids, allowed)
            ids, at, scores = ids[keep], at[keep], scores[keep]
        exclude = [*exclude, *self.store.hidden_photo_ids()]
        if len(exclude):
            keep = ~np.isin(ids, np.asarray(exclude, np.int64))
            ids, at, scores = ids[keep], at[keep], scores[keep]
        return ids, mat, at, scores

    def rank(
        self,
        qvec: np.ndarray,
        *,
        limit: int = 50,
        offset: int = 0,
        filters: Filters | None = None,
        sort_by_date: bool = False,
        exclude: Sequence[int] = (),
        candidates: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> SearchResult:
        """``candidates``: what ``candidates(qvec, filters, exclude)`` returned, when the
        caller needs them too (one ranking of the library instead of two)."""
        qvec = qvec.astype(np.float32)
        if candidates is None:
            candidates = self.candidates(qvec, filters, exclude)
        ids, library, at, scores = candidates
        copies = np.ones(len(ids), np.int64)
        if self.fold_copies:
            ids, at, scores, copies = self._fold_copies(ids, at, scores)
        n = len(ids)
        if n == 0:
            return SearchResult([], 0, 0, float("inf"), offset)
        threshold = strong_cut(scores)
        strong = scores >= threshold
        strong_count = int(strong.sum())
        best = at[top_k(scores, min(strong_count, CANDIDATES))]
        if strong_count and not self.about(qvec, half_matrix.widen(library[best]), library):
            threshold, strong[:], strong_count = float("inf"), False, 0
        end = min(n, offset + limit)
        if offset >= n:
            order = np.zeros(0, np.int64)
        elif sort_by_date:
            order = self._date_order(ids, scores, strong)[offset:end]
        else:
            order = top_k(scores, end)[offset:end]
        rows = {r["id"]: r for r in self.store.photos_by_id(ids[order].tolist())}
        hits = [
            Hit(int(ids[i]), rows[int(ids[i])]["path"], float(scores[i]), bool(strong[i]),
                rows[int(ids[i])]["taken_at"], int(copies[i]))
            for i in order
            if int(ids[i]) in rows
        ]  # fmt: skip
        return SearchResult(hits, n, strong_count, float(threshold), offset)

    def _fold_copies(
        self, ids: np.ndarray, at: np.ndarray, scores: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each group of copies among the ranked photos folds into its best-scoring member,
        which carries how many it stands for. Before paging and the strong cut, so pages and
        counts are of what the user sees. ``at``: each photo's row in the matrix."""
        copies = np.ones(len(ids), np.int64)
        members, groups = self._copy_groups()
        if not len(members) or not len(ids):
            return ids, at, scores, copies
        pos = np.clip(np.searchsorted(members, ids), 0, len(members) - 1)
        grouped = members[pos] == ids
        if grouped.sum() < 2:
            return ids, at, scores, copies
        rows = np.flatnonzero(grouped)
        gid = groups[pos[rows]]
        by_group = rows[np.lexsort((-scores[rows], gid))]  # each group's best first
        g = groups[pos[by_group]]
        first = np.r_[True, g[1:] != g[:-1]]
        leaders = by_group[first]
        copies[leaders] = np.diff(np.r_[np.flatnonzero(first), len(by_group)])
        keep = ~grouped
        keep[leaders] = True
        return ids[keep], at[keep], scores[keep], copies[keep]

    def _copy_groups(self) -> tuple[np.ndarray, np.ndarray]:
        """(sorted photo ids, their group numbers) of the copies found (not similar shots),
        read again only when the pairs changed."""
        try:
            version = self.store.conn.execute(
                "SELECT COUNT(*), COALESCE(MAX(rowid), 0) FROM duplicate_pairs"
            ).fetchone()
        except Exception:  # a library without the table (never after migrating): nothing
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        key = (int(version[0]), int(version[1]))
        if self._groups is None or self._groups[0] != key:
            from .duplicates import copy_groups

            members, groups = copy_groups(self.store.duplicate_pairs())
            self._groups = (key, members, groups)
        return self._groups[1], self._groups[2]

    def about(self, qvec: np.ndarray, best_photos: np.ndarray, library: np.ndarray) -> bool:
        """Whether the query is about one of its best photos (calibration.about_library), in
        every wording query_vector() made of it. Without the neutral captions' vectors (a
        vector ranked before any query_vector() call, in a library that doesn't remember
        them) that can't be told, and nothing is called a match."""
        bank, phrasings = self.neutral_bank(library), self.phrasings(qvec)
        return (
            bank is not None
            and phrasings is not None
            and about_library(phrasings, best_photos, bank)
        )

    def phrasings(self, qvec: np.ndarray) -> list[np.ndarray] | None:
        """The query vector, and the same query worded as a photo caption when query_vector()
        made it from words; None when that wording couldn't be had (no model)."""
        key = qvec.astype(np.float32).tobytes()
        with self._rephrased_lock:
            if key not in self._rephrased:
                return [qvec]  # an image's vector, or one made elsewhere
            as_caption = self._rephrased[key]
        return None if as_caption is None else [qvec, as_caption]

    def prepare(self, stop: threading.Event | None = None, chunk: int = 32) -> bool:
        """Embed and remember the neutral captions that telling a strong match needs, a few
        at a time (``stop`` is looked at between them), so that the first search needn't:
        call it where the model is loaded anyway (after indexing). True once they're ready."""
        captions = list(NEUTRAL_CAPTIONS)
        known = self.store.text_vectors(self.model_id, captions)
        missing = [c for c in captions if c not in known]
        for start in range(0, len(missing), chunk):
            if stop is not None and stop.is_set():
                return False
            self._text_vectors(missing[start : start + chunk], remember=True)
        return self._neutral_vectors(embed=False) is not None

    def neutral_bank(self, library: np.ndarray) -> NeutralBank | None:
        """The neutral captions measured on this library (re-measured when it has changed
        size); None if their vectors aren't to be had without the model."""
        vectors = self._neutral_vectors(embed=False)
        if vectors is None:
            return None
        with self._bank_lock:
            if self._bank is None or self._bank.stale(len(library)):
                self._bank = NeutralBank.measure(vectors, library)
            return self._bank

    def _neutral_vectors(self, embed: bool) -> np.ndarray | None:
        """The neutral captions' vectors: remembered in the library like any search phrase, else
        (``embed``) embedded by this model, once per library and model."""
        with self._bank_lock:
            if self._bank_vectors is None:
                captions = list(NEUTRAL_CAPTIONS)
                known = self.store.text_vectors(self.model_id, captions)
                if len(known) < len(captions) and embed:
                    known = self._text_vectors(captions, remember=True)
                if len(known) == len(captions):
                    self._bank_vectors = np.stack([known[c] for c in captions])
            return self._bank_vectors

    def _date_order(self, ids: np.ndarray, scores: np.ndarray, strong: np.ndarray) -> np.ndarray:
        """Strong matches newest first, then everything else by score."""
        strong_idx = np.flatnonzero(strong)
        dates = self.store.taken_at(ids[strong_idx].tolist())
        strong_sorted = sorted(strong_idx, key=lambda i: dates.get(int(ids[i]), ""), reverse=True)
        rest = np.flatnonzero(~strong)
        rest = rest[np.argsort(-scores[rest], kind="stable")]
        return np.concatenate([np.asarray(strong_sorted, np.int64), rest])


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, best first: O(n) selection, then sort only k."""
    n = len(scores)
    k = min(k, n)
    if k <= 0:
        return np.zeros(0, np.int64)
    part = np.arange(n)
    if k < n:
        # argpartition picks any of the scores equal to the k-th; take those by position, so
        # equal scores (duplicate photos) rank alike whatever k is and pages never overlap.
        kth = scores[np.argpartition(-scores, k - 1)[k - 1]]
        if not np.isnan(kth):
            above = np.flatnonzero(scores > kth)
            ties = np.flatnonzero(scores == kth)[: k - len(above)]
            part = np.sort(np.concatenate([above, ties]))
    return part[np.argsort(-scores[part], kind="stable")][:k]


def strong_threshold(scores: np.ndarray, near_top: float = NEAR_TOP_Z) -> float:
    """The score a photo needs to count as a strong match for this query in this library.

    CLIP similarities have no absolute scale (they shift with the model, the wording and the
    library), so a fixed cut-off is wrong for most queries. Instead, the scores of unrelated
    photos form the bulk of the distribution, measured robustly (median and MAD, which a few
    matches barely move), and scores are read in that bulk's standard deviations (modified
    z-scores). A photo is strong when it is an outlier by the usual rule, z >= ``STRONG_Z``;
    or, when even the best photo isn't that far out, when it scores within ``near_top`` of
    the best. So this block is never empty, and in a library of near-misses (same colour,
    wrong shape) it holds the photos that match as well as the best one does. Outliers exist
    for any query, gibberish included: Searcher.rank() keeps them strong only when the query
    is about one of them (calibration.about_library)."""
    if len(scores) < 3:
        return float(scores.min()) if len(scores) else float("inf")
    med = float(np.median(scores))
    mad = float(np.median(np.abs(scores - med))) * _MAD_TO_SIGMA
    top = float(scores.max())
    if mad < 1e-9:  # a flat bulk: anything above it stands out infinitely far
        above = scores[scores > med]
        return float(above.min()) if above.size else top
    z_top = (top - med) / mad
    return med + min(STRONG_Z, z_top - near_top) * mad

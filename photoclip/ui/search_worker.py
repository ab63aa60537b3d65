"""Runs searches off the GUI thread: the text embedding and the ranking for each page, or a
page of the library newest first. Superseded requests are dropped by generation number."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ..errors import PhotoclipError

if TYPE_CHECKING:
    import numpy as np

    from ..embedder import Embedder
    from ..search import Searcher
    from ..store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Query:
    """What the grid shows: the library ("browse"), a text search, or photos similar to one."""

    kind: str = "browse"  # "browse", "text" or "similar"
    text: str = ""
    image: str = ""  # the photo to find look-alikes of ("similar")
    folder_id: int | None = None
    date_from: str | None = None
    date_to: str | None = None
    sort_by_date: bool = False
    album_id: int | None = None  # the sidebar's album, if one is chosen
    favourites: bool = False  # Favourites is chosen in the sidebar

    @property
    def needs_model(self) -> bool:
        return self.kind != "browse"

    @property
    def filtered(self) -> bool:
        return any((self.folder_id is not None, self.date_from, self.date_to,
                    self.album_id is not None, self.favourites))  # fmt: skip


@dataclass(frozen=True)
class PageRequest:
    generation: int
    query: Query
    offset: int = 0  # rows already shown
    after: tuple[str, str] | None = None  # browse: (taken_at, path) of the last row shown
    limit: int = 300


class Row(NamedTuple):
    photo_id: int
    path: str
    taken_at: str
    score: float | None  # None when browsing
    strong: bool
    copies: int = 1  # a search hit standing for a group of copies (duplicates.py)


@dataclass
class Page:
    generation: int
    query: Query
    offset: int
    rows: list[Row]
    total: int  # photos in the whole result (-1 on later browse pages: unchanged)
    strong_count: int  # strong matches in the whole result (0 when browsing)
    elapsed_ms: float = 0.0
    model: str = ""  # identity key of the model that ranked it ("" when browsing)


class SearchWorker(QObject):
    """Lives in its own QThread. The GUI calls ``submit``; pages come back as ``pageReady``."""

    pageReady = Signal(object)  # Page
    failed = Signal(int, str)  # generation, message
    waitingForModel = Signal(int)  # generation
    _submitted = Signal(object)
    _embedderChanged = Signal(object)
    _settled = Signal(str)

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.latest = 0  # the newest generation the GUI asked for; older work is dropped
        self._searcher: Searcher | None = None
        self._waiting: PageRequest | None = None
        self._qvec: tuple[tuple[int, str], np.ndarray] | None = None
        self._lock = threading.Lock()
        self.threads = 0  # CPU threads for the model (0: all), set from Settings
        self._submitted.connect(self._run)
        self._embedderChanged.connect(self._set_embedder)
        self._settled.connect(self._settle)

    @property
    def ready(self) -> bool:
        return self._searcher is not None

    # -- GUI-thread API --------------------------------------------------------------------

    def submit(self, request: PageRequest) -> None:
        self.latest = max(self.latest, request.generation)
        self._submitted.emit(request)

    def set_embedder(self, embedder: Embedder) -> None:
        self._embedderChanged.emit(embedder)

    def settle(self, text: str) -> None:
        """The user settled on the search ``text`` (opened a result, left the search bar):
        only then are its phrases remembered in the library, not every pause's prefix."""
        self._settled.emit(text)

    # -- worker thread ---------------------------------------------------------------------

    @Slot(str)
    def _settle(self, text: str) -> None:
        if self._searcher is not None and text.strip():
            self._searcher.settle(text)

    @Slot(object)
    def _set_embedder(self, embedder: Embedder) -> None:
        from ..search import Searcher

        try:
            self._searcher = Searcher(self.store, embedder)
        except PhotoclipError as exc:
            self.failed.emit(self.latest, str(exc))
            return
        self._searcher.remember_phrases = False  # until settle()
        self._qvec = None
        waiting, self._waiting = self._waiting, None
        if waiting is not None and waiting.generation >= self.latest:
            self._run(waiting)
        self._preload(self._searcher)

    # Chunks of vectors read per step of the preload (search.LOAD_ROWS each: 32,768 vectors,
    # about a quarter of a second here), so a request waits at most that long behind it.
    PRELOAD_CHUNKS = 8

    def _preload(self, searcher: Searcher) -> None:
        """Load the library's vectors before the first search asks for them (seven seconds for
        a million photos), a step at a time: requests that arrive meanwhile are answered
        between steps (a search finishes the load itself)."""
        if searcher is not self._searcher:
            return  # another model since: its own preload runs
        try:
            done = searcher.index.refresh(max_chunks=self.PRELOAD_CHUNKS)
        except PhotoclipError as exc:  # the library went away: the next search will say so
            log.info("Vectors not preloaded: %s", exc)
            return
        if not done:
            QTimer.singleShot(0, self, lambda: self._preload(searcher))

    @Slot(object)
    def _run(self, request: PageRequest) -> None:
        if request.generation < self.latest:
            return  # the user has typed on since
        started = time.perf_counter()
        try:
            if request.query.needs_model:
                if self._searcher is None:
                    self._waiting = request
                    self.waitingForModel.emit(request.generation)
                    return
                from .library_ops import use_model_threads

                use_model_threads(self.threads)
                page = self._search_page(request)
            else:
                page = self._browse_page(request)
        except PhotoclipError as exc:
            self.failed.emit(request.generation, str(exc))
            return
        except Exception as exc:  # a bug: report it inline rather than crash
            log.error("Search failed:\n%s", traceback.format_exc())
            self.failed.emit(request.generation, f"The search failed unexpectedly: {exc}.")
            return
        if page is None or request.generation < self.latest:
            return
        page.elapsed_ms = (time.perf_counter() - started) * 1000
        self.pageReady.emit(page)

    def _browse_page(self, request: PageRequest) -> Page:
        q = request.query
        filters: dict[str, Any] = {
            "folder_id": q.folder_id,
            "date_from": q.date_from,
            "date_to": q.date_to,
            "album_id": q.album_id,
            "favourites": q.favourites,
        }
        rows = self.store.photo_page(after=request.after, limit=request.limit, **filters)
        # Counting is a scan: once per result; later pages keep the first page's count.
        total = self.store.count_photos(**filters) if request.offset == 0 else -1
        return Page(
            request.generation,
            q,
            request.offset,
            [Row(r["id"], r["path"], r["taken_at"], None, False) for r in rows],
            total,
            0,
        )

    def _search_page(self, request: PageRequest) -> Page | None:
        from ..search import Filters

        assert self._searcher is not None
        q = request.query
        filters = Filters(
            q.folder_id, q.date_from, q.date_to, album_id=q.album_id, favourites=q.favourites
        )
        options: dict[str, Any] = {
            "limit": request.limit,
            "offset": request.offset,
            "filters": filters,
            "sort_by_date": q.sort_by_date,
        }
        if q.kind == "similar":
            result = self._searcher.similar(q.image, **options)
        else:
            key = (request.generation, q.text)
            if self._qvec is None or self._qvec[0] != key:
                self._qvec = (key, self._searcher.query_vector(q.text))
            if request.generation < self.latest:
                return None  # the embedding took long enough for the user to type on
            result = self._searcher.rank(self._qvec[1], **options)
        rows = [
            Row(h.photo_id, h.path, h.taken_at or "", h.score, h.strong, h.copies)
            for h in result.hits
        ]
        model = self._searcher.embedder.identity.key
        return Page(
            request.generation, q, request.offset, rows, result.total, result.strong_count,
            model=model,
        )  # fmt: skip

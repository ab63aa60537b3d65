"""Turns what is in the search bar and sidebar into pages in the grid: one generation number
per query (stale pages are dropped), first page on change, more pages on scroll."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from . import format as fmt
from .grid_model import PhotoGridModel
from .search_worker import Page, PageRequest, Query, Row, SearchWorker

FIRST_PAGE = 300
NEXT_PAGE = 1000
LARGEST_PAGE = 50_000


class SearchController(QObject):
    """``statusChanged`` fires whenever the line above the grid should change."""

    statusChanged = Signal()
    pageShown = Signal(object)  # Page: a new result is in the grid

    def __init__(self, worker: SearchWorker, model: PhotoGridModel, parent: Any = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.model = model
        self.generation = 0
        self.query = Query()
        self.error = ""
        self.waiting_for_model = False
        self.in_flight = False
        self._refresh_after = False
        self.last_ms = 0.0
        self.library_total: int | None = None  # the sidebar's "All photos" count
        worker.pageReady.connect(self._on_page)
        worker.failed.connect(self._on_failed)
        worker.waitingForModel.connect(self._on_waiting)
        model.moreRequested.connect(self._on_more)
        model.countsChanged.connect(self.statusChanged)

    def set_query(self, query: Query, *, force: bool = False) -> None:
        """Show ``query``: a new generation unless it is what is shown (or ``force``)."""
        if query == self.query and self.generation and not force and not self.error:
            return
        self.query = query
        self.generation += 1
        self.error = ""
        self.waiting_for_model = False
        self.in_flight = True
        self.worker.submit(PageRequest(self.generation, query, limit=FIRST_PAGE))
        self.statusChanged.emit()

    def refresh(self) -> None:
        """Run the current query again (the library changed)."""
        if self.in_flight:
            self._refresh_after = True
            return
        self.set_query(self.query, force=True)

    def add_indexed(self, photos: list[dict[str, Any]]) -> None:
        """Photos just indexed (``{"id", "path", "taken_at", "folder_id"}``), while browsing:
        put the ones the grid's filters let through in place."""
        if self.query.kind != "browse" or self.error:
            return
        if self.query.album_id is not None or self.query.favourites:
            return  # a photo just indexed is in no album and no favourite yet
        if self.in_flight:
            self._refresh_after = True
            return
        q = self.query
        rows = [
            Row(p["id"], p["path"], p["taken_at"] or "", None, False)
            for p in photos
            if (q.folder_id is None or p["folder_id"] == q.folder_id)
            and (q.date_from is None or (p["taken_at"] or "")[:10] >= q.date_from)
            and (q.date_to is None or (p["taken_at"] or "")[:10] <= q.date_to)
        ]
        self.model.insert_new_photos(rows)

    def set_library_total(self, total: int) -> None:
        """The library's photo count, as the sidebar shows it: the line above the grid says
        the same number for the whole library (the grid's own count runs ahead of it while
        photos are indexed, and would disagree)."""
        if total != self.library_total:
            self.library_total = total
            self.statusChanged.emit()

    # -- the line above the grid -----------------------------------------------------------

    def status_text(self) -> str:
        if self.error:
            return self.error
        q = self.model.query
        if self.waiting_for_model:
            return "Your search will run as soon as the model has loaded…"
        if self.in_flight and self.query.needs_model and q != self.query:
            return "Searching…"
        total = self.model.total
        if q.kind == "browse":
            if not q.filtered and self.library_total is not None and total:
                total = self.library_total
            # Nothing to browse: the panel in the grid's place says why.
            return "" if total == 0 else f"{fmt.count(total, 'photo')}, newest first"
        if total == 0:
            return "No photos to search yet"
        strong = self.model.strong_count
        if strong == 0:
            return f"No good matches — showing the closest photos · {fmt.count(total, 'photo')}"
        strong_text = fmt.count(strong, "strong match", "strong matches")
        if q.sort_by_date:
            strong_text += ", newest first"
        return f"{strong_text} · {fmt.count(total, 'photo')}"

    # -- worker results --------------------------------------------------------------------

    def _on_page(self, page: Page) -> None:
        if page.generation != self.generation:
            return
        self.last_ms = page.elapsed_ms
        if page.offset == 0 and (self.in_flight or page.generation != self.model.generation):
            self.in_flight = False
            self.waiting_for_model = False
            self.model.show_page(page)
            self.pageShown.emit(page)
            if self._refresh_after:
                self._refresh_after = False
                self.set_query(self.query, force=True)
        else:
            self.model.append_page(page)
        self.statusChanged.emit()

    def _on_failed(self, generation: int, message: str) -> None:
        if generation != self.generation:
            return
        self.in_flight = False
        self.waiting_for_model = False
        self.model.fetch_failed()
        self.error = message
        self.statusChanged.emit()

    def _on_waiting(self, generation: int) -> None:
        if generation == self.generation:
            self.waiting_for_model = True
            self.statusChanged.emit()

    def _on_more(self, offset: int, after: object) -> None:
        query = self.model.query
        key = after if isinstance(after, tuple) else None
        # A jump far down (the date scrubber) asks for the rows up to there in one page.
        limit = max(NEXT_PAGE, min(LARGEST_PAGE, self.model.wanted_rows - offset))
        self.worker.submit(PageRequest(self.model.generation, query, offset, key, limit=limit))

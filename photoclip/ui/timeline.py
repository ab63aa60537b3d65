"""The timeline: when the grid browses the library, its month (or day) headers carry the
library's own counts ("March 2024 · 212 photos"), and a scrubber at the side jumps through
the years, loading pages up to the year picked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QWidget

from .grid_model import PhotoGridModel
from .tasks import run_task

if TYPE_CHECKING:
    from ..store import Store
    from .grid_view import PhotoGridView
    from .search_worker import Query

SCRUBBER_WIDTH = 46
NEAR_TARGET = 300  # rows past a jump's target loaded with it (a screen or two)


def _counts_for(
    store: Store, query: Query, length: int
) -> tuple[Query, int, dict[str, int], dict[str, int]]:
    """(query, length, counts per month or day, counts per year) in the task pool."""
    filters: dict[str, Any] = {
        "folder_id": query.folder_id,
        "date_from": query.date_from,
        "date_to": query.date_to,
    }
    for scope in ("album_id", "favourites"):  # scopes a query may carry
        if getattr(query, scope, None):
            filters[scope] = getattr(query, scope)
    return query, length, store.date_counts(length, **filters), store.date_counts(4, **filters)


class YearScrubber(QWidget):
    """The years of the result, newest at the top; a click (or a drag) picks one."""

    yearPicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.years: list[str] = []
        self.current = ""
        self.setFixedWidth(SCRUBBER_WIDTH)
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Jump to a year")
        self.setAccessibleName("Years")
        self._hover = -1

    def set_years(self, years: list[str]) -> None:
        self.years = years
        self.update()

    def set_current(self, year: str) -> None:
        if year != self.current:
            self.current = year
            self.update()

    def sizeHint(self) -> QSize:
        return QSize(SCRUBBER_WIDTH, 200)

    def _slot(self) -> float:
        return self.height() / max(1, len(self.years))

    def year_at(self, y: float) -> str:
        if not self.years:
            return ""
        i = int(y // self._slot())
        return self.years[max(0, min(len(self.years) - 1, i))]

    def rect_of(self, year: str) -> QRect:
        i = self.years.index(year)
        slot = self._slot()
        return QRect(0, round(i * slot), self.width(), max(1, round(slot)))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        year = self.year_at(event.position().y())
        if year:
            self.yearPicked.emit(year)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        y = event.position().y()
        hover = int(y // self._slot()) if self.years else -1
        if hover != self._hover:
            self._hover = hover
            self.update()
        if event.buttons() & Qt.MouseButton.LeftButton:
            year = self.year_at(y)
            if year and year != self.current:
                self.yearPicked.emit(year)

    def leaveEvent(self, event: Any) -> None:
        self._hover = -1
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.years:
            return
        painter = QPainter(self)
        palette = self.palette()
        slot = self._slot()
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 0.9)
        metrics_h = painter.fontMetrics().height()
        every = max(1, int(-(-metrics_h // max(slot, 1))))  # label every n-th year if crowded
        for i, year in enumerate(self.years):
            rect = QRect(0, round(i * slot), self.width(), max(1, round(slot)))
            is_current = year == self.current
            if is_current or i == self._hover:
                tint = QColor(palette.color(QPalette.ColorRole.Highlight))
                tint.setAlpha(70 if is_current else 30)
                painter.fillRect(rect.adjusted(4, 0, -4, 0), tint)
            if i % every and not is_current:
                continue
            font.setBold(is_current)
            painter.setFont(font)
            role = QPalette.ColorRole.Text if is_current else QPalette.ColorRole.PlaceholderText
            painter.setPen(palette.color(role))
            label = year or "—"
            painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), label)
        painter.end()


class Timeline(QObject):
    """Feeds the grid's model the counts its date headers show, keeps the scrubber's years
    and current year, and carries out the scrubber's jumps."""

    def __init__(
        self,
        store: Store,
        model: PhotoGridModel,
        grid: PhotoGridView,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.model = model
        self.grid = grid
        self.scrubber = YearScrubber()
        self.scrubber.hide()
        self._target: str | None = None  # a year being jumped to, while its pages load
        self._year_counts: dict[str, int] = {}
        self._asked: tuple[Query, int] | None = None
        model.modelReset.connect(self._on_reset)
        model.sectionsChanged.connect(self._on_sections)
        model.rowsInserted.connect(self._continue_jump)
        model.countsChanged.connect(self._continue_jump)
        grid.verticalScrollBar().valueChanged.connect(self._follow_scroll)
        self.scrubber.yearPicked.connect(self.jump_to_year)

    def refresh(self) -> None:
        """The library changed: count again."""
        self._asked = None
        self._on_reset()

    def _on_reset(self) -> None:
        model = self.model
        if not model.sectioned_by_date() or model.rowCount() == 0:
            self.scrubber.set_years([])
            self.scrubber.hide()
            return
        self._asked = None  # a new result (maybe the same query): count it afresh
        self._ask_counts()
        self._follow_scroll()

    def _on_sections(self) -> None:
        if self.model.sectioned_by_date() and self._asked != (
            self.model.query,
            self.model.group_by,
        ):
            self._ask_counts()

    def _ask_counts(self) -> None:
        wanted = (self.model.query, self.model.group_by)
        if self._asked == wanted:
            return
        self._asked = wanted
        run_task(_counts_for, self.store, *wanted, on_done=self._on_counts)

    def _on_counts(self, result: tuple[Query, int, dict[str, int], dict[str, int]]) -> None:
        query, length, counts, years = result
        if query != self.model.query or length != self.model.group_by:
            return  # an older query's answer
        self.model.set_group_counts(counts)
        self._year_counts = years
        ordered = sorted((y for y in years if y), reverse=True)
        if "" in years:
            ordered.append("")
        self.scrubber.set_years(ordered)
        self.scrubber.setVisible(len(ordered) > 1)
        self._follow_scroll()

    def _follow_scroll(self, *args: object) -> None:
        row = self.grid.top_row()
        if row >= 0 and self.model.sectioned_by_date():
            self.scrubber.set_current(self.model.row_info(row).taken_at[:4])

    # -- jumping ---------------------------------------------------------------------------

    def jump_to_year(self, year: str) -> None:
        """Scroll to the newest photo of ``year`` (or the next older one there is), loading
        pages until it is in the grid. "" is the undated photos (they come last)."""
        self._target = year
        self.scrubber.set_current(year)
        # Every photo newer than that year comes first: load that many rows in one go.
        wanted = year or "0000"
        before = sum(n for y, n in self._year_counts.items() if (y or "0000") > wanted)
        self.model.wanted_rows = before + NEAR_TARGET
        self._continue_jump()

    def _continue_jump(self, *args: object) -> None:
        year = self._target
        if year is None:
            return
        row = self._first_row_of(year)
        if row is not None:
            self._target = None
            self.grid.scroll_to_row_at_top(row)
            self.grid.setCurrentIndex(self.model.index(row))
        elif self.model.canFetchMore():
            self.model.fetchMore()  # its rows arrive in rowsInserted: here again
        elif len(self.model.ids) >= self.model.total:
            self._target = None
            self.grid.scrollToBottom()

    def _first_row_of(self, year: str) -> int | None:
        """The first loaded row taken in ``year`` or before it (rows are newest first,
        undated ones last), by bisection."""
        model = self.model

        def key(row: int) -> str:
            return model.row_info(row).taken_at[:4] or "0000"

        wanted = year or "0000"
        lo, hi = 0, model.rowCount()
        while lo < hi:
            mid = (lo + hi) // 2
            if key(mid) > wanted:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < model.rowCount() else None

"""The grid's model: a thin QAbstractListModel over a Python list of photo ids (plus the path,
date and score each row needs for tooltips), filled a page at a time, and cut into sections:
months (or days) when browsing, "Best matches" and "Other photos" for a search."""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any, NamedTuple

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QUrl,
    Signal,
)

from . import format as fmt
from .search_worker import Page, Query, Row

PhotoIdRole = Qt.ItemDataRole.UserRole + 1
PathRole = Qt.ItemDataRole.UserRole + 2
ScoreRole = Qt.ItemDataRole.UserRole + 3
StrongRole = Qt.ItemDataRole.UserRole + 4
DimRole = Qt.ItemDataRole.UserRole + 5  # a weaker match shown below the strong ones
CopiesRole = Qt.ItemDataRole.UserRole + 6  # how many copies a search hit stands for

AnyIndex = QModelIndex | QPersistentModelIndex

MONTH, DAY = 7, 10  # how many characters of the ISO date make a section's key


class Section(NamedTuple):
    start: int  # first row
    rows: int  # rows in it (loaded so far)
    key: str  # "2024-03" (month), "2024-03-05" (day), "strong" / "weaker", "" (no header)
    title: str  # "March 2024 · 212 photos"; "" for a grid without headers


def date_title(key: str, count: int | None) -> str:
    """ "2024-03" -> "March 2024 · 212 photos"; "2024-03-05" -> "Tuesday 5 March 2024 · …"."""
    words = "No date"
    try:
        if len(key) == MONTH:
            words = f"{calendar.month_name[int(key[5:7])]} {key[:4]}"
        elif len(key) == DAY:
            day = date.fromisoformat(key)
            words = f"{day:%A} {day.day} {day:%B %Y}"
    except (ValueError, IndexError):
        words = key or "No date"
    return words if count is None else f"{words} · {fmt.count(count, 'photo')}"


class PhotoGridModel(QAbstractListModel):
    """Rows are photos. ``moreRequested(offset, after)`` asks for the next page when the view
    scrolls near the end; ``show_page`` and ``append_page`` put pages in."""

    moreRequested = Signal(int, object)  # rows shown, (taken_at, path) of the last row
    countsChanged = Signal()
    sectionsChanged = Signal()  # headers changed without the rows changing

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.ids: list[int] = []
        self._info: dict[int, Row] = {}
        self._row_of: dict[int, int] | None = {}
        self.generation = 0
        self.query = Query()
        self.total = 0
        self.strong_count = 0
        self._fetching = False
        self.group_by = MONTH  # browsing: sections by month, or by DAY (zoomed in)
        self.group_counts: dict[str, int] = {}  # whole-library counts per month/day key
        self._sections: list[Section] | None = None
        self.wanted_rows = 0  # rows a jump needs loaded (the next pages may be that large)

    # -- Qt model API ----------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's idiom
        return 0 if parent.isValid() else len(self.ids)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.ids):
            return None
        pid = self.ids[index.row()]
        if role == PhotoIdRole:
            return pid
        row = self._info[pid]
        if role == PathRole:
            return row.path
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return fmt.file_name(row.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row)
        if role == ScoreRole:
            return row.score
        if role == StrongRole:
            return row.strong
        if role == DimRole:
            return row.score is not None and self.strong_count > 0 and not row.strong
        if role == CopiesRole:
            return row.copies
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsDragEnabled
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes: Any) -> QMimeData:
        """Dragging photos out gives their files (to other apps, or onto the search bar)."""
        mime = QMimeData()
        paths = [self._info[self.ids[i.row()]].path for i in indexes if i.isValid()]
        mime.setUrls([QUrl.fromLocalFile(p) for p in paths])
        mime.setText("\n".join(paths))
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._fetching and len(self.ids) < self.total

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        self._fetching = True
        last = self._info[self.ids[-1]] if self.ids else None
        self.moreRequested.emit(len(self.ids), (last.taken_at, last.path) if last else None)

    # -- filling ---------------------------------------------------------------------------

    def show_page(self, page: Page) -> None:
        """A new result: replaces everything."""
        same_query = page.query == self.query
        self.wanted_rows = 0
        self.beginResetModel()
        self.generation = page.generation
        self.query = page.query
        self.ids = []
        self._info = {}
        self._row_of = {}
        self._add_rows(page.rows)
        self.total = max(page.total, len(self.ids))
        self.strong_count = page.strong_count
        self._fetching = False
        self._sections = None
        if not same_query or page.query.kind != "browse":
            self.group_counts = {}
        self.endResetModel()
        self.countsChanged.emit()

    def append_page(self, page: Page) -> None:
        """The next page of the current result (stale pages are ignored)."""
        if page.generation != self.generation:
            return
        self._fetching = False
        fresh = [r for r in page.rows if r.photo_id not in self._info]
        if fresh:
            first = len(self.ids)
            self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
            self._add_rows(fresh)
            done = self._sections
            if done and self.sectioned_by_date():  # only the last section can grow
                self._sections = self._date_sections(done[-1].start, done[:-1])
            else:
                self._sections = None
            self.endInsertRows()
            self.total = max(page.total if page.total >= 0 else self.total, len(self.ids))
        else:
            self.total = len(self.ids)  # an empty page, or only repeats: the result ends here
        self.countsChanged.emit()

    def fetch_failed(self) -> None:
        self._fetching = False

    # -- sections --------------------------------------------------------------------------

    def sections(self) -> list[Section]:
        """The grid's sections, first row to last (one without a title when the grid has no
        headers). Cached; recomputed after the rows change."""
        if self._sections is None:
            self._sections = self._compute_sections()
        return self._sections

    def set_group_by(self, length: int) -> None:
        if length != self.group_by:
            self.group_by = length
            self._sections_changed()

    def set_group_counts(self, counts: dict[str, int]) -> None:
        """How many photos each month (or day) has in the whole result, for the headers."""
        self.group_counts = counts
        self._sections_changed()

    def section_key(self, row: int) -> str:
        """The month or day key of ``row`` ("" for an undated photo)."""
        return self._info[self.ids[row]].taken_at[: self.group_by]

    def sectioned_by_date(self) -> bool:
        return self.query.kind == "browse"

    def _sections_changed(self) -> None:
        self._sections = None
        self.sectionsChanged.emit()

    def _compute_sections(self) -> list[Section]:
        n = len(self.ids)
        if n == 0:
            return []
        if not self.sectioned_by_date():
            strong = min(self.strong_count, n)
            if 0 < strong < n:
                return [
                    Section(0, strong, "strong", f"Best matches · {strong:,}"),
                    Section(strong, n - strong, "weaker", "Other photos"),
                ]
            return [Section(0, n, "", "")]
        return self._date_sections(0, [])

    def _date_sections(self, first: int, done: list[Section]) -> list[Section]:
        """Date sections from row ``first`` on, after the ``done`` ones before it."""
        out = list(done)
        length = self.group_by
        info, ids = self._info, self.ids
        start = first
        key = info[ids[first]].taken_at[:length] if first < len(ids) else ""
        for row in range(first + 1, len(ids)):
            k = info[ids[row]].taken_at[:length]
            if k != key:
                out.append(self._date_section(start, row - start, key))
                start, key = row, k
        if start < len(ids):
            out.append(self._date_section(start, len(ids) - start, key))
        return out

    def _date_section(self, start: int, count: int, key: str) -> Section:
        return Section(start, count, key, date_title(key, self.group_counts.get(key, count)))

    def insert_new_photos(self, rows: list[Row]) -> int:
        """Photos just indexed, while browsing: each goes where the newest-first order puts
        it, if that place is already loaded; later ones arrive with later pages. Returns how
        many were counted in."""
        counted = 0
        for row in rows:
            if row.photo_id in self._info:
                continue
            counted += 1
            self.total += 1
            pos = self._insert_position((row.taken_at, row.path))
            if pos >= len(self.ids) and len(self.ids) < self.total - 1:
                continue  # belongs to a page not loaded yet
            self.beginInsertRows(QModelIndex(), pos, pos)
            self.ids.insert(pos, row.photo_id)
            self._info[row.photo_id] = row
            self._row_of = None
            self._sections = None
            self.endInsertRows()
        if counted:
            self.countsChanged.emit()
        return counted

    def remove_photos(self, photo_ids: set[int]) -> None:
        keep = [pid for pid in self.ids if pid not in photo_ids]
        if len(keep) == len(self.ids):
            return
        self.beginResetModel()
        self.total -= len(self.ids) - len(keep)
        self.ids = keep
        for pid in photo_ids:
            self._info.pop(pid, None)
        self._row_of = None
        self._sections = None
        self.endResetModel()
        self.countsChanged.emit()

    # -- lookups ---------------------------------------------------------------------------

    def row_of(self, photo_id: int) -> int | None:
        if self._row_of is None:
            self._row_of = {pid: i for i, pid in enumerate(self.ids)}
        return self._row_of.get(photo_id)

    def photo_changed(self, photo_id: int) -> None:
        """Repaint one cell (its thumbnail arrived)."""
        row = self.row_of(photo_id)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def row_info(self, row: int) -> Row:
        return self._info[self.ids[row]]

    def path(self, row: int) -> str:
        return self._info[self.ids[row]].path

    # -- internals -------------------------------------------------------------------------

    def _add_rows(self, rows: list[Row]) -> None:
        for r in rows:
            if r.photo_id in self._info:
                continue
            self.ids.append(r.photo_id)
            self._info[r.photo_id] = r
            if self._row_of is not None:
                self._row_of[r.photo_id] = len(self.ids) - 1

    def _insert_position(self, key: tuple[str, str]) -> int:
        """First row whose (taken_at, path) sorts below ``key`` (rows are newest first)."""
        lo, hi = 0, len(self.ids)
        while lo < hi:
            mid = (lo + hi) // 2
            r = self._info[self.ids[mid]]
            if (r.taken_at, r.path) > key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    @staticmethod
    def _tooltip(row: Row) -> str:
        lines = [fmt.file_name(row.path)]
        if row.taken_at:
            lines.append(fmt.taken(row.taken_at))
        if row.score is not None:
            kind = "strong match" if row.strong else "weaker match"
            lines.append(f"Score {row.score:.3f} ({kind})")
        if row.copies > 1:
            lines.append(f"Stands for {row.copies} copies of this photo (see Duplicates)")
        return "\n".join(lines)

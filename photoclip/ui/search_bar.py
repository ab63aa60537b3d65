"""The search bar: a line edit that ranks as you type (after a short pause), a "Similar to…"
chip (with the photo's thumbnail) for image searches, and date and sort controls. Dropping an
image on it searches for look-alikes; Down or Enter moves to the results."""

from __future__ import annotations

import os
from functools import partial

from PySide6.QtCore import QDate, QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QPalette,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .drop import accept_copy_or_link, single_image_path
from .icons import search_icon

DEBOUNCE_MS = 150
NO_DATE = QDate(1900, 1, 1)  # a date edit at its minimum shows "Any date"
SIMILAR_THUMB = 28
PRESET_YEARS = 12  # the year picker offers this many years back from this one


class QueryEdit(QLineEdit):
    """Esc clears; an image file dropped here becomes a "find similar" search."""

    imageDropped = Signal(str)
    toResults = Signal()  # Down: move to the first result

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText("Describe a photo…")
        self.setClearButtonEnabled(True)
        self.setAccessibleName("Search")
        self.setToolTip(
            "Describe what you're looking for, e.g. kids building a sandcastle.\n"
            "Combine: beach - people + ./ref.jpg  ·  weight: 2:sunset"
        )

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
            return
        if event.key() == Qt.Key.Key_Down:
            self.toResults.emit()
            return
        super().keyPressEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if not (single_image_path(event.mimeData()) and accept_copy_or_link(event)):
            event.ignore()  # folders and the rest: the window adds them to the library

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if not (single_image_path(event.mimeData()) and accept_copy_or_link(event)):
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        path = single_image_path(event.mimeData())
        if path is None or not accept_copy_or_link(event):
            event.ignore()
            return
        self.imageDropped.emit(path)


class DateEdit(QDateEdit):
    """Tab leaves the box (QDateEdit's own Tab walks day, month, year and then stops there,
    so the rest of the window was unreachable by keyboard)."""

    def focusNextPrevChild(self, next: bool) -> bool:
        return QWidget.focusNextPrevChild(self, next)


def _date_edit(tip: str) -> QDateEdit:
    edit = DateEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("d MMM yyyy")
    edit.setMinimumDate(NO_DATE)
    edit.setSpecialValueText("Any date")
    edit.setDate(NO_DATE)
    edit.setToolTip(tip)
    edit.calendarWidget().installEventFilter(_OpenAtToday(edit))
    return edit


class _OpenAtToday(QObject):
    """A date edit showing "Any date" opens its calendar at this month, not at 1900."""

    def __init__(self, edit: QDateEdit) -> None:
        super().__init__(edit)
        self.edit = edit

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show and self.edit.date() <= NO_DATE:
            today = QDate.currentDate()
            self.edit.calendarWidget().setCurrentPage(today.year(), today.month())
        return False


class SearchBar(QWidget):
    """Emits ``changed`` (debounced while typing, at once for everything else); read the
    current query with ``text``/``similar_to``/``date_range``/``sort_by_date``."""

    changed = Signal()
    similarRequested = Signal(str)  # an image path
    toResults = Signal()  # Down or Enter: the user wants to go to the results

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.similar_to = ""
        self.edit = QueryEdit()
        text_colour = self.palette().color(QPalette.ColorRole.PlaceholderText)
        self.edit.addAction(search_icon(text_colour), QLineEdit.ActionPosition.LeadingPosition)
        self.edit.setMinimumWidth(160)
        self.chip = QToolButton()
        self.chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.chip.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_DialogCloseButton))
        self.chip.setAutoRaise(False)
        self.chip.setToolTip("Stop looking for similar photos")
        self.chip.setVisible(False)
        self.chip.clicked.connect(self.clear)
        self.similar_thumb = QLabel()  # the photo a "find similar" started from
        self.similar_thumb.setFixedSize(SIMILAR_THUMB, SIMILAR_THUMB)
        self.similar_thumb.setScaledContents(False)
        self.similar_thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.similar_thumb.setVisible(False)
        self.date_from = _date_edit("Only photos taken on or after this day")
        self.date_to = _date_edit("Only photos taken on or before this day")
        self.dates_button = QToolButton()
        self.dates_button.setText("Dates")
        self.dates_button.setToolTip("Any date, the last 30 days, this year, a year…")
        self.dates_button.setAccessibleName("Date presets")
        self.dates_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.dates_menu = self._build_dates_menu()
        self.dates_button.setMenu(self.dates_menu)
        # Not "Newest first": browsing is always newest first, and an unticked "Newest first"
        # over a grid that says "newest first" reads as a contradiction.
        self.by_date = QCheckBox("Matches by date")
        self.by_date.setToolTip(
            "In a search, show the strong matches by date, newest first, instead of best "
            "first. Browsing is always newest first."
        )
        # One row when there is room; in a narrow window the date and sort controls move to a
        # second row (so the window works at half of a 1366-pixel screen, any font size).
        self.first_row = QHBoxLayout()
        self.first_row.setSpacing(6)
        self.first_row.addWidget(self.similar_thumb)
        self.first_row.addWidget(self.chip)
        self.first_row.addWidget(self.edit, 1)
        self.controls = QWidget()
        controls = QHBoxLayout(self.controls)
        controls.setContentsMargins(0, 0, 0, 0)
        controls.setSpacing(6)
        controls.addWidget(self.dates_button)
        controls.addWidget(self.date_from)
        controls.addWidget(QLabel("to"))
        controls.addWidget(self.date_to)
        controls.addSpacing(2)
        controls.addWidget(self.by_date)
        self.second_row = QHBoxLayout()
        self.second_row.setContentsMargins(0, 0, 0, 0)
        self.first_row.addWidget(self.controls)
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(4)
        rows.setSizeConstraint(QVBoxLayout.SizeConstraint.SetNoConstraint)
        rows.addLayout(self.first_row)
        rows.addLayout(self.second_row)
        self.two_rows = False
        self._quiet = False
        self._searched_text = ""  # the text when the query last changed

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._emit_changed)
        self.edit.textEdited.connect(self._on_text_edited)
        self.edit.textChanged.connect(self._on_text_changed)
        self.edit.returnPressed.connect(self._on_return)
        self.edit.toResults.connect(self._on_return)
        self.edit.imageDropped.connect(self.similarRequested)
        self.date_from.dateChanged.connect(self._on_dates)
        self.date_to.dateChanged.connect(self._on_dates)
        self.by_date.toggled.connect(lambda _: self._emit_changed())

    # -- one row or two ---------------------------------------------------------------------

    def _one_row_width(self) -> int:
        return self.edit.minimumWidth() + 6 + self.controls.sizeHint().width()

    def minimumSizeHint(self) -> QSize:
        """As narrow as two rows need: the window may be narrower than one row."""
        width = max(self.edit.minimumWidth() + SIMILAR_THUMB, self.controls.sizeHint().width())
        return QSize(width, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._arrange(event.size().width())

    def _arrange(self, width: int) -> None:
        two = width < self._one_row_width() + (SIMILAR_THUMB if self.similar_to else 0)
        if two == self.two_rows:
            return
        self.two_rows = two
        (self.first_row if two else self.second_row).removeWidget(self.controls)
        if two:
            self.second_row.addWidget(self.controls)
            self.second_row.addStretch(1)
        else:
            while self.second_row.count():
                self.second_row.takeAt(0)
            self.first_row.addWidget(self.controls)
        self.updateGeometry()

    @property
    def text(self) -> str:
        return self.edit.text().strip()

    @property
    def sort_by_date(self) -> bool:
        return self.by_date.isChecked()

    def date_range(self) -> tuple[str | None, str | None]:
        def iso(edit: QDateEdit) -> str | None:
            d = edit.date()
            return None if d <= NO_DATE else d.toString("yyyy-MM-dd")

        return iso(self.date_from), iso(self.date_to)

    @property
    def dates_set(self) -> bool:
        return self.date_range() != (None, None)

    def set_date_range(self, date_from: QDate | None, date_to: QDate | None) -> None:
        """Both ends at once (one ``changed``); None is "any date"."""
        self._set_dates_quietly(date_from or NO_DATE, date_to or NO_DATE)
        self._emit_changed()

    def reset_dates(self) -> bool:
        """Any date again. True when a date was set."""
        if not self.dates_set:
            return False
        self.set_date_range(None, None)
        return True

    def _set_dates_quietly(self, date_from: QDate, date_to: QDate) -> None:
        for edit, value in ((self.date_from, date_from), (self.date_to, date_to)):
            edit.blockSignals(True)
            edit.setDate(value)
            edit.blockSignals(False)
        self._sync_dates_button()

    def _build_dates_menu(self) -> QMenu:
        menu = QMenu(self)
        today = QDate.currentDate()
        menu.addAction("Any date", lambda: self.set_date_range(None, None))
        menu.addSeparator()
        menu.addAction("Last 30 days", lambda: self.set_date_range(today.addDays(-30), today))
        menu.addAction("This year", lambda: self._set_year(today.year()))
        menu.addAction("Last year", lambda: self._set_year(today.year() - 1))
        years = menu.addMenu("Year")
        for year in range(today.year(), today.year() - PRESET_YEARS, -1):
            years.addAction(str(year), partial(self._set_year, year))
        return menu

    def _set_year(self, year: int) -> None:
        self.set_date_range(QDate(year, 1, 1), QDate(year, 12, 31))

    def _sync_dates_button(self) -> None:
        font = self.dates_button.font()
        font.setBold(self.dates_set)  # a filter is on: say so where the reset is
        self.dates_button.setFont(font)

    def set_similar(self, path: str) -> None:
        """Show "Similar to NAME" in place of typed text."""
        self.similar_to = path
        self.chip.setText(f"Similar to {os.path.basename(path)}")
        self.chip.setToolTip(f"{path}\nStop looking for photos similar to this one")
        self.chip.setVisible(True)
        self.similar_thumb.clear()
        self.similar_thumb.setToolTip(path)
        # Not blockSignals: the line edit's own clear button listens to it, and would stay.
        self._quiet = True
        self.edit.clear()
        self._quiet = False
        self.edit.setPlaceholderText("Type to search by description instead…")
        self._debounce.stop()
        self._emit_changed()

    def set_similar_thumbnail(self, path: str, pixmap: QPixmap) -> None:
        """The photo the similar search started from, beside its chip."""
        if path != self.similar_to or pixmap.isNull():
            return
        self.similar_thumb.setPixmap(pixmap)
        self.similar_thumb.setVisible(True)

    def set_text(self, text: str) -> None:
        self._leave_similar()
        self.edit.setText(text)
        self.commit()

    def clear(self) -> None:
        was_similar = bool(self.similar_to)
        self._leave_similar()
        if self.edit.text():
            self.edit.clear()  # textChanged -> changed
        elif was_similar:
            self._emit_changed()

    def commit(self) -> None:
        """Search now, without waiting for the typing pause."""
        self._debounce.stop()
        self._emit_changed()

    def _emit_changed(self) -> None:
        self._searched_text = self.text
        self.changed.emit()

    def _on_return(self) -> None:
        """Enter or Down: search now if what is typed hasn't been searched yet (the typing
        pause is still running, or the text was set without typing), then go to the results
        (not the same search again)."""
        if self._debounce.isActive() or self.text != self._searched_text:
            self.commit()
        self.toResults.emit()

    def focus(self) -> None:
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.edit.selectAll()

    def leave_similar(self) -> None:
        """Drop the "Similar to…" chip without searching (the query is changing anyway)."""
        self._leave_similar()

    def _leave_similar(self) -> None:
        if self.similar_to:
            self.similar_to = ""
            self.chip.setVisible(False)
            self.similar_thumb.setVisible(False)
            self.similar_thumb.clear()
            self.edit.setPlaceholderText("Describe a photo…")

    def _on_text_edited(self, text: str) -> None:
        if text.strip():
            self._leave_similar()
        self._debounce.start()

    def _on_text_changed(self, text: str) -> None:
        if self._quiet:
            return
        if not text and not self.similar_to:  # cleared (Esc, the clear button): at once
            self._debounce.stop()
            self._emit_changed()

    def _on_dates(self) -> None:
        # Keep the range the right way round: moving "from" past "to" moves "to" along.
        f, t = self.date_from.date(), self.date_to.date()
        if f > NO_DATE and t > NO_DATE and f > t:
            sender = self.sender()
            other = self.date_to if sender is self.date_from else self.date_from
            other.blockSignals(True)
            other.setDate(f if sender is self.date_from else t)
            other.blockSignals(False)
        self._sync_dates_button()
        self._emit_changed()

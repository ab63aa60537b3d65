"""The search bar: a line edit that ranks as you type (after a short pause), a "Similar to…"
chip for image searches, and date and sort controls. Dropping an image on it searches for
look-alikes."""

from __future__ import annotations

import os

from PySide6.QtCore import QDate, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QStyle,
    QToolButton,
    QWidget,
)

from .drop import single_image_path
from .icons import search_icon

DEBOUNCE_MS = 150
NO_DATE = QDate(1900, 1, 1)  # a date edit at its minimum shows "Any date"


class QueryEdit(QLineEdit):
    """Esc clears; an image file dropped here becomes a "find similar" search."""

    imageDropped = Signal(str)

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
        super().keyPressEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if single_image_path(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()  # folders and the rest: the window adds them to the library

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if single_image_path(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        path = single_image_path(event.mimeData())
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.imageDropped.emit(path)


def _date_edit(tip: str) -> QDateEdit:
    edit = QDateEdit()
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
        self.date_from = _date_edit("Only photos taken on or after this day")
        self.date_to = _date_edit("Only photos taken on or before this day")
        self.by_date = QCheckBox("Sort matches by date")
        self.by_date.setToolTip("Show the strong matches newest first")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.chip)
        layout.addWidget(self.edit, 1)
        layout.addSpacing(4)
        layout.addWidget(QLabel("From"))
        layout.addWidget(self.date_from)
        layout.addWidget(QLabel("to"))
        layout.addWidget(self.date_to)
        layout.addSpacing(4)
        layout.addWidget(self.by_date)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.changed)
        self.edit.textEdited.connect(self._on_text_edited)
        self.edit.textChanged.connect(self._on_text_changed)
        self.edit.returnPressed.connect(self.commit)
        self.edit.imageDropped.connect(self.similarRequested)
        self.date_from.dateChanged.connect(self._on_dates)
        self.date_to.dateChanged.connect(self._on_dates)
        self.by_date.toggled.connect(lambda _: self.changed.emit())

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

    def set_similar(self, path: str) -> None:
        """Show "Similar to NAME" in place of typed text."""
        self.similar_to = path
        self.chip.setText(f"Similar to {os.path.basename(path)}")
        self.chip.setVisible(True)
        self.edit.blockSignals(True)
        self.edit.clear()
        self.edit.blockSignals(False)
        self.edit.setPlaceholderText("Type to search by description instead…")
        self._debounce.stop()
        self.changed.emit()

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
            self.changed.emit()

    def commit(self) -> None:
        """Search now (Enter), without waiting for the typing pause."""
        self._debounce.stop()
        self.changed.emit()

    def focus(self) -> None:
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.edit.selectAll()

    def _leave_similar(self) -> None:
        if self.similar_to:
            self.similar_to = ""
            self.chip.setVisible(False)
            self.edit.setPlaceholderText("Describe a photo…")

    def _on_text_edited(self, text: str) -> None:
        if text.strip():
            self._leave_similar()
        self._debounce.start()

    def _on_text_changed(self, text: str) -> None:
        if not text and not self.similar_to:  # cleared (Esc, the clear button): at once
            self._debounce.stop()
            self.changed.emit()

    def _on_dates(self) -> None:
        # Keep the range the right way round: moving "from" past "to" moves "to" along.
        f, t = self.date_from.date(), self.date_to.date()
        if f > NO_DATE and t > NO_DATE and f > t:
            sender = self.sender()
            other = self.date_to if sender is self.date_from else self.date_from
            other.blockSignals(True)
            other.setDate(f if sender is self.date_from else t)
            other.blockSignals(False)
        self.changed.emit()

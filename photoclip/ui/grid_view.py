"""The thumbnail grid: uniform cells in sections (months or days when browsing, "Best matches"
and "Other photos" for a search) under sticky headers, laid out by arithmetic so 100,000
photos cost nothing to lay out, and a delegate that paints a cached pixmap or a placeholder
(never any I/O)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QRegion,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from .grid_layout import GridLayout
from .grid_model import DAY, MONTH, CopiesRole, PhotoGridModel, PhotoIdRole, Section
from .thumbnails import CORNER_RADIUS, ThumbnailLoader

CELL_PADDING = 6
HEADER_HEIGHT = 34
PREFETCH_SCREENS = 2  # fetch the next page this many screens before the end
MIN_SIDE, MAX_SIDE = 72, 320  # the thumbnail size slider's range
DAY_SECTIONS_FROM = 224  # thumbnails this large (zoomed in): a section per day, not month

AnyIndex = QModelIndex | QPersistentModelIndex


class ThumbnailDelegate(QStyledItemDelegate):
    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = loader

    def sizeHint(self, option: QStyleOptionViewItem, index: Any) -> QSize:
        side = self.loader.side + 2 * CELL_PADDING
        return QSize(side, side)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        rect: QRect = option.rect
        state: QStyle.StateFlag = option.state
        palette: QPalette = option.palette
        side = self.loader.side
        tile = QRect(
            rect.x() + (rect.width() - side) // 2,
            rect.y() + (rect.height() - side) // 2,
            side,
            side,
        )
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        selected = bool(state & QStyle.StateFlag.State_Selected)
        if selected:
            ring = QRectF(tile).adjusted(-4, -4, 4, 4)
            highlight = palette.color(QPalette.ColorRole.Highlight)
            fill = QColor(highlight)
            fill.setAlpha(60)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawRoundedRect(ring, CORNER_RADIUS + 3, CORNER_RADIUS + 3)
        elif state & QStyle.StateFlag.State_MouseOver:
            hover = QColor(palette.color(QPalette.ColorRole.Highlight))
            hover.setAlpha(28)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(hover)
            painter.drawRoundedRect(QRectF(tile).adjusted(-4, -4, 4, 4), 9, 9)
        dpr = painter.device().devicePixelRatioF() if painter.device() else 1.0
        pix = self.loader.pixmap(int(index.data(PhotoIdRole)), dpr)
        if pix is not None:
            painter.drawPixmap(tile.topLeft(), pix)  # true colours: weaker matches are not dimmed
        else:
            placeholder = QColor(palette.color(QPalette.ColorRole.Text))
            placeholder.setAlpha(22)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(placeholder)
            painter.drawRoundedRect(QRectF(tile), CORNER_RADIUS, CORNER_RADIUS)
        copies = index.data(CopiesRole)
        if isinstance(copies, int) and copies > 1:
            paint_copies_badge(painter, tile, copies)
        if selected or state & QStyle.StateFlag.State_HasFocus:
            pen = QPen(palette.color(QPalette.ColorRole.Highlight), 3 if selected else 1.5)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(
                QRectF(tile).adjusted(-2, -2, 2, 2), CORNER_RADIUS + 2, CORNER_RADIUS + 2
            )
        painter.restore()


def paint_copies_badge(painter: QPainter, tile: QRect, copies: int) -> None:
    """ "×N" in the tile's top-right corner: this hit stands for N copies of one photo."""
    text = f"×{copies}"
    font = painter.font()
    font.setBold(True)
    painter.setFont(font)
    metrics = painter.fontMetrics()
    width, height = metrics.horizontalAdvance(text) + 12, metrics.height() + 4
    badge = QRectF(tile.right() - width - 6, tile.top() + 6, width, height)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(0, 0, 0, 170))
    painter.drawRoundedRect(badge, height / 2, height / 2)
    painter.setPen(QColor(255, 255, 255))
    painter.drawText(badge, int(Qt.AlignmentFlag.AlignCenter), text)


class PhotoGridView(QAbstractItemView):
    """The photos in sections under sticky headers; extended selection, rubber band, drag
    out. Typing a letter sends it to the search bar (``typed``) instead of an item search."""

    typed = Signal(str)

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self._layout: GridLayout | None = None
        self._hover = QPersistentModelIndex()
        self._band_origin: QPoint | None = None
        self._band = QRect()
        self._side: QWidget | None = None  # the date scrubber, beside the cells
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Always on: a scroll bar coming and going would change the width the cells share.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setMouseTracking(True)
        self.setFrameShape(QAbstractItemView.Shape.NoFrame)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setItemDelegate(ThumbnailDelegate(loader, self))
        self.setAccessibleName("Photos")
        self.verticalScrollBar().valueChanged.connect(self._maybe_fetch_more)
        loader.ready.connect(self._on_thumbnail)

    # -- model -----------------------------------------------------------------------------

    def setModel(self, model: Any) -> None:
        super().setModel(model)
        if isinstance(model, PhotoGridModel):
            model.rowsInserted.connect(self._relayout)
            model.rowsRemoved.connect(self._relayout)
            model.modelReset.connect(self._relayout)
            model.sectionsChanged.connect(self._relayout)
            model.rowsInserted.connect(self._maybe_fetch_more)
            model.modelReset.connect(self._maybe_fetch_more)
            model.set_group_by(DAY if self.loader.side >= DAY_SECTIONS_FROM else MONTH)
        self._relayout()

    def grid_model(self) -> PhotoGridModel:
        model = self.model()
        assert isinstance(model, PhotoGridModel)
        return model

    def set_thumbnail_side(self, side: int) -> None:
        side = max(MIN_SIDE, min(MAX_SIDE, side))
        current = self.currentIndex()
        self.loader.set_side(side)
        model = self.model()
        if isinstance(model, PhotoGridModel):
            model.set_group_by(DAY if side >= DAY_SECTIONS_FROM else MONTH)
        self._relayout()
        if current.isValid():
            self.scrollTo(current, QAbstractItemView.ScrollHint.PositionAtCenter)

    def set_whole_photos(self, whole: bool) -> None:
        """Whole photos (aspect kept) instead of square crops."""
        self.loader.set_whole(whole)
        self.viewport().update()

    def layout_now(self) -> GridLayout:
        """The layout for the current width, sections and thumbnail size."""
        if self._layout is None:
            model = self.model()
            sections = model.sections() if isinstance(model, PhotoGridModel) else []
            cell = self.loader.side + 2 * CELL_PADDING
            width = max(cell, self.viewport().width())
            self._layout = GridLayout(sections, width, cell, HEADER_HEIGHT)
        return self._layout

    def set_side_widget(self, widget: QWidget) -> None:
        """A strip at the right of the cells (the date scrubber): the cells make room for it
        while it is shown."""
        self._side = widget
        widget.setParent(self)
        widget.installEventFilter(self)
        self._place_side()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._side and event.type() in (QEvent.Type.Show, QEvent.Type.Hide):
            self._place_side()
        return super().eventFilter(watched, event)

    def _place_side(self) -> None:
        side = self._side
        if side is None:
            return
        width = side.width() if side.isVisibleTo(self) else 0
        if self.viewportMargins().right() != width:
            self.setViewportMargins(0, 0, width, 0)
        area = self.viewport().geometry()
        side.setGeometry(area.right() + 1, area.top(), side.width(), area.height())

    def _relayout(self, *args: object) -> None:
        self._layout = None
        self.updateGeometries()
        self.viewport().update()

    # -- QAbstractItemView's geometry API --------------------------------------------------

    def visualRect(self, index: AnyIndex) -> QRect:
        if not index.isValid() or index.row() >= self._row_count():
            return QRect()
        return self.layout_now().cell_rect(index.row()).translated(0, -self.verticalOffset())

    def indexAt(self, point: QPoint) -> QModelIndex:
        row = self.layout_now().row_at(point.x(), point.y() + self.verticalOffset())
        model = self.model()
        return model.index(row, 0) if row >= 0 and model is not None else QModelIndex()

    def scrollTo(
        self, index: AnyIndex, hint: Any = QAbstractItemView.ScrollHint.EnsureVisible
    ) -> None:
        if not index.isValid():
            return
        layout = self.layout_now()
        rect = layout.cell_rect(index.row())
        bar = self.verticalScrollBar()
        top = bar.value()
        view_h = self.viewport().height()
        # The sticky header covers the top of the view: keep the cell below it.
        covered = layout.header_of(layout.sections[layout.section_of_row(index.row())])
        Hint = QAbstractItemView.ScrollHint
        if hint == Hint.PositionAtTop:
            bar.setValue(rect.top() - covered)
        elif hint == Hint.PositionAtCenter:
            bar.setValue(rect.center().y() - view_h // 2)
        elif hint == Hint.PositionAtBottom:
            bar.setValue(rect.bottom() - view_h + 1)
        elif rect.top() - covered < top:
            bar.setValue(rect.top() - covered)
        elif rect.bottom() > top + view_h:
            bar.setValue(rect.bottom() - view_h + 1)
        self.viewport().update()

    def scroll_to_row_at_top(self, row: int) -> None:
        """Scroll so ``row``'s section header is at the top (the date scrubber's jumps)."""
        layout = self.layout_now()
        if not 0 <= row < self._row_count():
            return
        i = layout.section_of_row(row)
        if layout.sections[i].start == row:
            self.verticalScrollBar().setValue(layout.tops[i])
        else:
            self.scrollTo(self.model().index(row, 0), QAbstractItemView.ScrollHint.PositionAtTop)

    def top_row(self) -> int:
        """The first row whose cell shows below the sticky header (-1: none)."""
        layout = self.layout_now()
        if not layout.sections:
            return -1
        y = self.verticalOffset()
        i = layout.section_at(y)
        s = layout.sections[i]
        local = max(0, y - layout.tops[i] - layout.header_of(s)) // layout.cell_h
        return min(s.start + local * layout.columns, s.start + s.rows - 1)

    def horizontalOffset(self) -> int:
        return 0

    def verticalOffset(self) -> int:
        return self.verticalScrollBar().value()

    def isIndexHidden(self, index: AnyIndex) -> bool:
        return False

    def moveCursor(self, action: QAbstractItemView.CursorAction, modifiers: Any) -> QModelIndex:
        model = self.model()
        count = self._row_count()
        if model is None or count == 0:
            return QModelIndex()
        current = self.currentIndex()
        if not current.isValid():
            return model.index(0, 0)
        row = current.row()
        layout = self.layout_now()
        Move = QAbstractItemView.CursorAction
        if action in (Move.MoveLeft, Move.MovePrevious):
            row -= 1
        elif action in (Move.MoveRight, Move.MoveNext):
            row += 1
        elif action == Move.MoveHome:
            row = 0
        elif action == Move.MoveEnd:
            row = count - 1
        elif action in (Move.MoveUp, Move.MoveDown, Move.MovePageUp, Move.MovePageDown):
            rect = layout.cell_rect(row)
            step = layout.cell_h
            if action in (Move.MovePageUp, Move.MovePageDown):
                step = max(layout.cell_h, self.viewport().height() - HEADER_HEIGHT)
            down = action in (Move.MoveDown, Move.MovePageDown)
            row = self._row_by_line(rect.center().x(), rect.center().y(), step, down, row)
        return model.index(max(0, min(row, count - 1)), 0)

    def _row_by_line(self, x: int, y: int, step: int, down: bool, row: int) -> int:
        """The row a line (or a page) up or down from (x, y), skipping headers."""
        layout = self.layout_now()
        target = y + step if down else y - step
        if target >= layout.height:
            return self._row_count() - 1 if step > layout.cell_h else row
        if target < 0:
            return 0 if step > layout.cell_h else row
        found = layout.row_at(x, target, clamp=True)
        while found < 0:  # a header: its section's first line (down) or the line above (up)
            i = layout.section_at(target)
            section = layout.sections[i]
            if down:
                target = layout.tops[i] + layout.header_of(section) + layout.cell_h // 2
            else:
                if i == 0:
                    return 0
                target = layout.tops[i] - layout.cell_h // 2
            found = layout.row_at(x, target, clamp=True)
        return found

    def setSelection(self, rect: QRect, command: QItemSelectionModel.SelectionFlag) -> None:
        model = self.model()
        selection = QItemSelection()
        if model is not None:
            area = rect.normalized().translated(0, self.verticalOffset())
            for first, last in self._rows_in(area):
                selection.select(model.index(first, 0), model.index(last, 0))
        self.selectionModel().select(selection, command)

    def _rows_in(self, area: QRect) -> list[tuple[int, int]]:
        """Runs of rows (first, last) whose cells meet ``area`` (content coordinates)."""
        layout = self.layout_now()
        runs: list[tuple[int, int]] = []
        if not layout.sections:
            return runs
        c0 = max(0, area.left() // layout.cell_w)
        c1 = min(layout.columns - 1, area.right() // layout.cell_w)
        if c1 < c0:
            return runs
        for i in range(layout.section_at(max(0, area.top())), len(layout.sections)):
            s = layout.sections[i]
            top = layout.tops[i] + layout.header_of(s)
            if layout.tops[i] > area.bottom():
                break
            first_line = max(0, (area.top() - top) // layout.cell_h)
            last_line = min(layout.lines(s.rows) - 1, (area.bottom() - top) // layout.cell_h)
            for line in range(first_line, last_line + 1):
                first = line * layout.columns + c0
                last = min(line * layout.columns + c1, s.rows - 1)
                if first <= last:
                    runs.append((s.start + first, s.start + last))
        return runs

    def visualRegionForSelection(self, selection: QItemSelection) -> QRegion:
        # A whole repaint is as cheap as working out which cells (and Ctrl+A on 100,000
        # photos would make that list long).
        return QRegion(self.viewport().rect())

    def updateGeometries(self) -> None:
        layout = self.layout_now()
        bar = self.verticalScrollBar()
        view_h = self.viewport().height()
        bar.setRange(0, max(0, layout.height - view_h))
        bar.setPageStep(view_h)
        bar.setSingleStep(max(1, layout.cell_h // 3))
        super().updateGeometries()

    def resizeEvent(self, event: QResizeEvent) -> None:
        top = self.top_row()
        current = self.currentIndex()
        keep_current = current.isValid() and self.visualRect(current).intersects(
            self.viewport().rect()
        )
        super().resizeEvent(event)
        self._place_side()
        self._relayout()
        # Keep what was in view in view as the columns change: the current photo, or the top.
        if keep_current:
            self.scrollTo(current)
        elif top > 0:
            self.scrollTo(self.model().index(top, 0), QAbstractItemView.ScrollHint.PositionAtTop)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        self.viewport().update()  # the sticky header moves differently from the cells

    # -- painting --------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        model = self.model()
        if model is None:
            return
        layout = self.layout_now()
        painter = QPainter(self.viewport())
        offset = self.verticalOffset()
        view = self.viewport().rect()
        bottom = offset + view.height()
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        delegate = self.itemDelegate()
        selection = self.selectionModel()
        current = self.currentIndex()
        focused = self.hasFocus()
        base_state = option.state & ~(
            QStyle.StateFlag.State_Selected
            | QStyle.StateFlag.State_HasFocus
            | QStyle.StateFlag.State_MouseOver
        )
        first_section = layout.section_at(offset)
        for i in range(first_section, len(layout.sections)):
            top = layout.tops[i]
            if top >= bottom:
                break
            s = layout.sections[i]
            head = layout.header_of(s)
            if head and top + head > offset:
                self._paint_header(painter, s, QRect(0, top - offset, view.width(), head))
            cells_top = top + head
            first_line = max(0, (offset - cells_top) // layout.cell_h)
            last_line = min(layout.lines(s.rows) - 1, (bottom - cells_top) // layout.cell_h)
            for line in range(first_line, last_line + 1):
                y = cells_top + line * layout.cell_h - offset
                for column in range(layout.columns):
                    local = line * layout.columns + column
                    if local >= s.rows:
                        break
                    index = model.index(s.start + local, 0)
                    option.rect = QRect(column * layout.cell_w, y, layout.cell_w, layout.cell_h)
                    state = base_state
                    if selection is not None and selection.isSelected(index):
                        state |= QStyle.StateFlag.State_Selected
                    if focused and index == current:
                        state |= QStyle.StateFlag.State_HasFocus
                    if index == self._hover:
                        state |= QStyle.StateFlag.State_MouseOver
                    option.state = state
                    delegate.paint(painter, option, index)
        self._paint_sticky_header(painter, layout, offset, view.width())
        if not self._band.isNull():
            self._paint_band(painter)
        painter.end()

    def _paint_sticky_header(
        self, painter: QPainter, layout: GridLayout, offset: int, width: int
    ) -> None:
        """The header of the section at the top stays put, pushed up by the next one."""
        if not layout.sections or offset <= 0:
            return
        i = layout.section_at(offset)
        s = layout.sections[i]
        if not s.title or layout.tops[i] + HEADER_HEIGHT > offset:
            return  # its own header is still (partly) in view
        y = 0
        if i + 1 < len(layout.sections):
            y = min(0, layout.tops[i + 1] - offset - HEADER_HEIGHT)
        self._paint_header(painter, s, QRect(0, y, width, HEADER_HEIGHT), sticky=True)

    def _paint_header(
        self, painter: QPainter, section: Section, rect: QRect, *, sticky: bool = False
    ) -> None:
        palette = self.palette()
        painter.save()
        painter.fillRect(rect, palette.color(QPalette.ColorRole.Base))  # opaque over cells
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.08)
        painter.setFont(font)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        text_rect = rect.adjusted(CELL_PADDING + 4, 0, -12, 0)
        painter.drawText(
            text_rect,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            section.title,
        )
        if section.key == "weaker":  # the divider between the best matches and the rest
            line = QColor(palette.color(QPalette.ColorRole.Text))
            line.setAlpha(60)
            painter.setPen(QPen(line, 1))
            y = rect.top() + 2
            painter.drawLine(rect.left() + CELL_PADDING, y, rect.right() - CELL_PADDING, y)
        painter.restore()

    def _paint_band(self, painter: QPainter) -> None:
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        fill = QColor(highlight)
        fill.setAlpha(40)
        painter.save()
        painter.setPen(QPen(highlight, 1))
        painter.setBrush(fill)
        painter.drawRect(self._band.translated(0, -self.verticalOffset()))
        painter.restore()

    def header_title_at_top(self) -> str:
        """The title the sticky header shows now ("" when none)."""
        layout = self.layout_now()
        if not layout.sections:
            return ""
        return layout.sections[layout.section_at(self.verticalOffset())].title

    # -- mouse, keyboard -------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        super().mousePressEvent(event)
        if (
            event.button() == Qt.MouseButton.LeftButton
            and not self.indexAt(event.position().toPoint()).isValid()
        ):
            self._band_origin = event.position().toPoint() + QPoint(0, self.verticalOffset())
        else:
            self._band_origin = None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        hover = QPersistentModelIndex(self.indexAt(pos))
        if hover != self._hover:
            self._hover = hover
            self.viewport().update()
        if self._band_origin is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self._band = QRect(
                self._band_origin, pos + QPoint(0, self.verticalOffset())
            ).normalized()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        self._band_origin = None
        if not self._band.isNull():
            self._band = QRect()
            self.viewport().update()

    def leaveEvent(self, event: Any) -> None:
        self._hover = QPersistentModelIndex()
        self.viewport().update()
        super().leaveEvent(event)

    def _on_thumbnail(self, photo_id: int) -> None:
        model = self.model()
        if not isinstance(model, PhotoGridModel):
            return
        row = model.row_of(photo_id)
        if row is not None:
            rect = self.visualRect(model.index(row, 0))
            if rect.intersects(self.viewport().rect()):
                self.viewport().update(rect)

    def _maybe_fetch_more(self, *args: object) -> None:
        """Ask for the next page a couple of screens before the end, not at the very end."""
        model = self.model()
        if not isinstance(model, PhotoGridModel) or not model.canFetchMore():
            return
        bar = self.verticalScrollBar()
        if bar.maximum() - bar.value() <= PREFETCH_SCREENS * max(bar.pageStep(), 1):
            model.fetchMore()

    def _row_count(self) -> int:
        model = self.model()
        return model.rowCount() if model is not None else 0

    def selected_rows(self) -> list[int]:
        return sorted(i.row() for i in self.selectionModel().selectedIndexes())

    def keyboardSearch(self, search: str) -> None:
        if search.strip():
            self.typed.emit(search)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.activated.emit(self.currentIndex())
            return
        super().keyPressEvent(event)

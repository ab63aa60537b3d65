"""The thumbnail grid: a QListView in icon mode with uniform cells, and a delegate that paints
a cached pixmap or a placeholder (never any I/O) and dims the weaker search matches."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPalette, QPen, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from .grid_model import DimRole, PhotoGridModel, PhotoIdRole
from .thumbnails import CORNER_RADIUS, ThumbnailLoader

CELL_PADDING = 6
DIM_OPACITY = 0.38
PREFETCH_SCREENS = 2  # fetch the next page this many screens before the end


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
        if index.data(DimRole) and not selected:
            painter.setOpacity(DIM_OPACITY)
        dpr = painter.device().devicePixelRatioF() if painter.device() else 1.0
        pix = self.loader.pixmap(int(index.data(PhotoIdRole)), dpr)
        if pix is not None:
            painter.drawPixmap(tile.topLeft(), pix)
        else:
            placeholder = QColor(palette.color(QPalette.ColorRole.Text))
            placeholder.setAlpha(22)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(placeholder)
            painter.drawRoundedRect(QRectF(tile), CORNER_RADIUS, CORNER_RADIUS)
        painter.setOpacity(1.0)
        if selected or state & QStyle.StateFlag.State_HasFocus:
            pen = QPen(palette.color(QPalette.ColorRole.Highlight), 3 if selected else 1.5)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(
                QRectF(tile).adjusted(-2, -2, 2, 2), CORNER_RADIUS + 2, CORNER_RADIUS + 2
            )
        painter.restore()


class PhotoGridView(QListView):
    """Uniform cells, static layout, extended selection. Typing a letter sends it to the
    search bar (``typed``) instead of QListView's slow item-name search."""

    typed = Signal(str)

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.setViewMode(QListView.ViewMode.IconMode)
        # After setViewMode (which picks free movement): static movement keeps the fast,
        # uniform-size layout that 100,000 cells need.
        self.setMovement(QListView.Movement.Static)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(2000)
        self.setSpacing(0)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionRectVisible(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Always on: a scroll bar coming and going would change the width the cells share.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setMouseTracking(True)
        self.setFrameShape(QListView.Shape.NoFrame)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setItemDelegate(ThumbnailDelegate(loader, self))
        self._apply_cell_size()
        self.verticalScrollBar().valueChanged.connect(self._maybe_fetch_more)
        loader.ready.connect(self._on_thumbnail)

    def setModel(self, model: Any) -> None:
        super().setModel(model)
        if isinstance(model, PhotoGridModel):
            model.rowsInserted.connect(self._maybe_fetch_more)
            model.modelReset.connect(self._maybe_fetch_more)

    def grid_model(self) -> PhotoGridModel:
        model = self.model()
        assert isinstance(model, PhotoGridModel)
        return model

    def set_thumbnail_side(self, side: int) -> None:
        self.loader.set_side(side)
        self._apply_cell_size()

    def _apply_cell_size(self) -> None:
        """Cells share out the width, so the columns fill the view edge to edge."""
        side = self.loader.side + 2 * CELL_PADDING
        width = max(side, self.viewport().width() - 1)
        columns = max(1, width // side)
        self.setGridSize(QSize(width // columns, side))
        self.setIconSize(QSize(self.loader.side, self.loader.side))
        self.verticalScrollBar().setSingleStep(side // 3)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._apply_cell_size()

    def _on_thumbnail(self, photo_id: int) -> None:
        model = self.model()
        if isinstance(model, PhotoGridModel):
            model.photo_changed(photo_id)

    def _maybe_fetch_more(self, *args: object) -> None:
        """Ask for the next page a couple of screens before the end, not at the very end."""
        model = self.model()
        if not isinstance(model, PhotoGridModel) or not model.canFetchMore():
            return
        bar = self.verticalScrollBar()
        if bar.maximum() - bar.value() <= PREFETCH_SCREENS * max(bar.pageStep(), 1):
            model.fetchMore()

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

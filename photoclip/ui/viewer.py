"""The photo viewer: one photo, large, fit to the window (decoded off the GUI thread, EXIF
rotation applied), Left/Right for the previous/next photo of the current result, Esc back."""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, QPoint, QRect, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import (
    QContextMenuEvent,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStyle, QToolButton, QVBoxLayout, QWidget

from . import format as fmt
from .grid_model import PhotoGridModel
from .thumbnails import ThumbnailLoader

DECODED_CACHE = 4  # the current photo and its neighbours


def decode_for_display(path: str, max_side: int) -> QImage:
    """Full decode through the core (EXIF rotation, any mode to RGB). Raises PhotoError."""
    from ..imaging import open_for_display

    image = open_for_display(path, max_side)
    data = image.tobytes("raw", "RGB")
    return QImage(
        data, image.width, image.height, 3 * image.width, QImage.Format.Format_RGB888
    ).copy()


class _Relay(QObject):
    decoded = Signal(str, QImage, str)  # path, image, error message


class _Decode(QRunnable):
    def __init__(self, relay: _Relay, path: str, max_side: int) -> None:
        super().__init__()
        self.relay, self.path, self.max_side = relay, path, max_side

    @property
    def name(self) -> str:
        return fmt.file_name(self.path)

    def run(self) -> None:
        from ..imaging import PhotoError

        try:
            image = decode_for_display(self.path, self.max_side)
        except PhotoError as exc:
            self.relay.decoded.emit(self.path, QImage(), f"Couldn't open {self.name}: {exc}")
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.relay.decoded.emit(self.path, QImage(), f"Couldn't open {self.name}: {reason}.")
        else:
            self.relay.decoded.emit(self.path, image, "")


class ImageCanvas(QWidget):
    """Paints one pixmap fit to the widget, scaled once per size (not per paint)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackgroundRole(QPalette.ColorRole.Base)
        self.setAutoFillBackground(True)
        self._pixmap = QPixmap()
        self._scaled: QPixmap | None = None
        self.message = ""

    def set_pixmap(self, pixmap: QPixmap, message: str = "") -> None:
        self._pixmap = pixmap
        self._scaled = None
        self.message = message
        self.update()

    def set_message(self, message: str) -> None:
        self.message = message
        self.update()

    def has_image(self) -> bool:
        return not self._pixmap.isNull()

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._scaled = None
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        area = self.rect().adjusted(16, 16, -16, -16)
        if not self._pixmap.isNull():
            dpr = self.devicePixelRatioF()
            if self._scaled is None:
                target = QSize(round(area.width() * dpr), round(area.height() * dpr))
                self._scaled = self._pixmap.scaled(
                    target,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
                self._scaled.setDevicePixelRatio(dpr)
            pix = self._scaled
            w = round(pix.width() / dpr)
            h = round(pix.height() / dpr)
            painter.drawPixmap(
                QRect(
                    area.x() + (area.width() - w) // 2, area.y() + (area.height() - h) // 2, w, h
                ),
                pix,
            )
        if self.message:
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                area, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self.message
            )


class Viewer(QWidget):
    """Shows row ``row`` of the grid's model. Emits ``closed`` on Esc / Back, and
    ``currentChanged(row)`` so the grid can follow along."""

    closed = Signal()
    currentChanged = Signal(int)
    contextMenuRequested = Signal(int, QPoint)  # row, global position

    def __init__(
        self, model: PhotoGridModel, thumbnails: ThumbnailLoader, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.thumbnails = thumbnails
        self.row = -1
        self._decoded: OrderedDict[str, QPixmap] = OrderedDict()
        self._requested: set[str] = set()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._relay = _Relay()
        self._relay.decoded.connect(self._on_decoded)
        style = self.style()

        def tool(pixmap: QStyle.StandardPixmap, tip: str, text: str = "") -> QToolButton:
            button = QToolButton()
            button.setIcon(style.standardIcon(pixmap))
            button.setToolTip(tip)
            button.setAutoRaise(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            if text:
                button.setText(text)
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            return button

        self.back = tool(QStyle.StandardPixmap.SP_ArrowBack, "Back to the photos (Esc)", "Back")
        self.prev = tool(QStyle.StandardPixmap.SP_ArrowLeft, "Previous photo (Left)")
        self.next = tool(QStyle.StandardPixmap.SP_ArrowRight, "Next photo (Right)")
        self.title = QLabel()
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.subtitle = QLabel()
        self.subtitle.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 6, 8, 6)
        bar.addWidget(self.back)
        bar.addSpacing(12)
        bar.addWidget(self.title)
        bar.addSpacing(8)
        bar.addWidget(self.subtitle, 1)
        bar.addWidget(self.prev)
        bar.addWidget(self.next)
        self.canvas = ImageCanvas()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.back.clicked.connect(self.closed)
        self.prev.clicked.connect(lambda: self.step(-1))
        self.next.clicked.connect(lambda: self.step(1))

    # -- navigation ------------------------------------------------------------------------

    def show_row(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            return
        self.row = row
        info = self.model.row_info(row)
        self.title.setText(fmt.file_name(info.path))
        parts = [p for p in (fmt.taken(info.taken_at),) if p]
        parts.append(f"{row + 1:,} of {self.model.total:,}")
        if info.score is not None:
            parts.append(f"score {info.score:.3f}" + (" · strong match" if info.strong else ""))
        self.subtitle.setText("  ·  ".join(parts))
        self.title.setToolTip(info.path)
        self.prev.setEnabled(row > 0)
        self.next.setEnabled(row + 1 < self.model.total)
        pix = self._decoded.get(info.path)
        if pix is not None:
            self.canvas.set_pixmap(pix)
        else:
            thumb = self.thumbnails.peek(info.photo_id, self.devicePixelRatioF())
            self.canvas.set_pixmap(thumb if thumb is not None else QPixmap())
            self._decode(info.path)
        for neighbour in (row + 1, row - 1):  # ready before the user gets there
            if 0 <= neighbour < self.model.rowCount():
                self._decode(self.model.path(neighbour))
        if row + 3 >= self.model.rowCount() and self.model.canFetchMore():
            self.model.fetchMore()
        self.currentChanged.emit(row)

    def step(self, delta: int) -> None:
        target = self.row + delta
        if target >= self.model.rowCount() and self.model.canFetchMore():
            self.model.fetchMore()
        self.show_row(max(0, min(target, self.model.rowCount() - 1)))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.closed.emit()
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Up, Qt.Key.Key_PageUp):
            self.step(-1)
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_Down, Qt.Key.Key_PageDown, Qt.Key.Key_Space):
            self.step(1)
        elif key == Qt.Key.Key_Home:
            self.show_row(0)
        elif key == Qt.Key.Key_End:
            self.show_row(self.model.rowCount() - 1)
        else:
            super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if self.row >= 0:
            self.contextMenuRequested.emit(self.row, event.globalPos())

    def full_image_shown(self) -> bool:
        """The current photo is decoded and on screen (not its thumbnail stand-in)."""
        if not 0 <= self.row < self.model.rowCount():
            return False
        return self.model.path(self.row) in self._decoded and self.canvas.has_image()

    def shutdown(self) -> None:
        self._pool.clear()
        self._pool.waitForDone(5000)

    # -- decoding --------------------------------------------------------------------------

    def _max_side(self) -> int:
        """Decode about as large as the window can show (scaling at paint time stays cheap);
        at most the screen's size."""
        window = self.window().size() * self.devicePixelRatioF()
        side = max(1024, window.width(), window.height())
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is not None:
            size = screen.size() * screen.devicePixelRatio()
            side = min(side, max(size.width(), size.height(), 1024))
        return min(4096, side)

    def _decode(self, path: str) -> None:
        if path in self._decoded or path in self._requested:
            return
        self._requested.add(path)
        self._pool.start(_Decode(self._relay, path, self._max_side()))

    def _on_decoded(self, path: str, image: QImage, error: str) -> None:
        self._requested.discard(path)
        current = self.model.path(self.row) if 0 <= self.row < self.model.rowCount() else ""
        if image.isNull():
            if path == current:
                self.canvas.set_message(error)
            return
        pix = QPixmap.fromImage(image)
        self._decoded[path] = pix
        while len(self._decoded) > DECODED_CACHE:
            self._decoded.popitem(last=False)
        if path == current:
            self.canvas.set_pixmap(pix)

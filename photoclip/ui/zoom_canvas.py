"""The viewer's canvas: one photo fit to the window or zoomed (wheel, +/-, pinch) about a
point, panned by dragging, 100 % meaning one photo pixel per screen pixel. Fit never
enlarges a small photo past 100 % unless asked. Paints only what is on screen."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, QSizeF, Qt, Signal
from PySide6.QtGui import (
    QCursor,
    QMouseEvent,
    QNativeGestureEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QGestureEvent, QPinchGesture, QWidget

MARGIN = 16
ZOOM_STEP = 1.25
MAX_ZOOM = 8.0  # 800 %
WHEEL_NOTCH = 120


class ImageCanvas(QWidget):
    """``zoom`` is None when the photo is fit to the widget, else the scale (logical pixels
    per photo pixel). ``zoomChanged`` reports the percentage shown (100 = actual pixels)."""

    zoomChanged = Signal(float)
    doubleClicked = Signal()
    needsFullResolution = Signal()  # zoomed past what the decoded image holds

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackgroundRole(QPalette.ColorRole.Base)
        self.setAutoFillBackground(True)
        self.setMouseTracking(True)
        self.grabGesture(Qt.GestureType.PinchGesture)
        self._pixmap = QPixmap()
        self._fit_cache: QPixmap | None = None
        self.full_size = QSize()  # the photo's own size (the pixmap may be smaller)
        self.message = ""
        self.zoom: float | None = None
        self.upscale = False  # fit may enlarge small photos past 100 %
        self._center = QPointF()  # the photo point at the centre of the view (photo pixels)
        self._drag_from: QPointF | None = None

    # -- content ---------------------------------------------------------------------------

    def set_pixmap(
        self,
        pixmap: QPixmap,
        message: str = "",
        full_size: QSize | None = None,
        *,
        keep_view: bool = False,
    ) -> None:
        """A new photo (fit), or (``keep_view``) a sharper decode of the one shown, which
        keeps the zoom and the spot looked at. ``full_size``: the photo's own size, when
        ``pixmap`` is a smaller decode of it."""
        old = QSize(self.full_size)
        self._pixmap = pixmap
        self._fit_cache = None
        self.message = message
        if full_size is not None and full_size.isValid():
            self.full_size = full_size
        elif not pixmap.isNull():
            self.full_size = pixmap.size()
        else:
            self.full_size = QSize()
        if keep_view and not old.isEmpty() and not self.full_size.isEmpty():
            ratio = self.full_size.width() / old.width()
            self._center = self._center * ratio
            if self.zoom is not None:
                self.zoom /= ratio
        else:
            self.zoom = None
            self._center = QPointF(self.full_size.width() / 2, self.full_size.height() / 2)
        self.zoomChanged.emit(self.percent())
        self.update()

    def set_message(self, message: str) -> None:
        self.message = message
        self.update()

    def has_image(self) -> bool:
        return not self._pixmap.isNull()

    def pixmap_size(self) -> QSize:
        return self._pixmap.size()

    # -- zoom ------------------------------------------------------------------------------

    def _area(self) -> QRect:
        return self.rect().adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)

    def actual_scale(self) -> float:
        """Logical pixels per photo pixel at 100 % (one photo pixel per device pixel)."""
        return 1.0 / self.devicePixelRatioF()

    def fit_scale(self) -> float:
        if self.full_size.isEmpty():
            return 1.0
        area = self._area()
        scale = min(area.width() / self.full_size.width(), area.height() / self.full_size.height())
        return scale if self.upscale else min(scale, self.actual_scale())

    def scale(self) -> float:
        return self.fit_scale() if self.zoom is None else self.zoom

    def percent(self) -> float:
        return 100.0 * self.scale() / self.actual_scale()

    def is_zoomed(self) -> bool:
        """Larger than fit: there is something to pan."""
        return self.zoom is not None and self.zoom > self.fit_scale() + 1e-9

    def fit(self) -> None:
        self.zoom = None
        self._center = QPointF(self.full_size.width() / 2, self.full_size.height() / 2)
        self._changed()

    def actual_size(self, about: QPointF | None = None) -> None:
        self.set_scale(self.actual_scale(), about)

    def zoom_by(self, factor: float, about: QPointF | None = None) -> None:
        self.set_scale(self.scale() * factor, about)

    def set_scale(self, scale: float, about: QPointF | None = None) -> None:
        """Zoom to ``scale``, keeping the photo point under ``about`` (widget coordinates;
        the centre by default) where it is. Zooming out past fit snaps back to fit."""
        if self.full_size.isEmpty():
            return
        fit = self.fit_scale()
        low = min(fit, self.actual_scale())
        scale = max(low, min(MAX_ZOOM / self.devicePixelRatioF(), scale))
        anchor = about if about is not None else QPointF(self.rect().center())
        before = self._to_photo(anchor)
        self.zoom = None if abs(scale - fit) < 1e-9 or scale < fit else scale
        if self.zoom is None:
            self._center = QPointF(self.full_size.width() / 2, self.full_size.height() / 2)
        else:
            # keep ``before`` under ``anchor``
            offset = (anchor - QPointF(self.rect().center())) / scale
            self._center = before - offset
            self._clamp_center()
        self._changed()

    def _changed(self) -> None:
        self._fit_cache = None
        scale_px = self.scale() * self.devicePixelRatioF()
        if self.has_image() and self._pixmap.width() < self.full_size.width():
            shown = self._pixmap.width() / max(1, self.full_size.width())
            if scale_px > shown * 1.05:
                self.needsFullResolution.emit()
        self.zoomChanged.emit(self.percent())
        self.update()

    def _to_photo(self, point: QPointF) -> QPointF:
        """Widget coordinates -> photo pixels."""
        return self._center + (point - QPointF(self.rect().center())) / self.scale()

    def _clamp_center(self) -> None:
        """A zoomed photo never leaves empty space on a side it could cover."""
        scale = self.scale()
        half_w = self.width() / 2 / scale
        half_h = self.height() / 2 / scale
        w, h = self.full_size.width(), self.full_size.height()
        x = w / 2 if w <= 2 * half_w else max(half_w, min(w - half_w, self._center.x()))
        y = h / 2 if h <= 2 * half_h else max(half_h, min(h - half_h, self._center.y()))
        self._center = QPointF(x, y)

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the photo by (dx, dy) widget pixels."""
        if self.zoom is None:
            return
        self._center -= QPointF(dx, dy) / self.scale()
        self._clamp_center()
        self.update()

    def photo_rect(self) -> QRectF:
        """Where the whole photo lies, in widget coordinates."""
        scale = self.scale()
        size = QSizeF(self.full_size) * scale
        if self.zoom is None:
            area = self._area()
            return QRectF(
                area.x() + (area.width() - size.width()) / 2,
                area.y() + (area.height() - size.height()) / 2,
                size.width(),
                size.height(),
            )
        top_left = QPointF(self.rect().center()) - self._center * scale
        return QRectF(top_left, size)

    # -- events ----------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._fit_cache = None
        if self.zoom is not None:
            self._clamp_center()
        super().resizeEvent(event)
        self.zoomChanged.emit(self.percent())

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y()
        if not delta or not self.has_image():
            event.ignore()
            return
        self.zoom_by(ZOOM_STEP ** (delta / WHEEL_NOTCH), event.position())
        event.accept()

    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.NativeGesture
            and isinstance(event, QNativeGestureEvent)
            and event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture
        ):
            self.zoom_by(1.0 + event.value(), event.position())
            return True
        if event.type() == QEvent.Type.Gesture and isinstance(event, QGestureEvent):
            pinch = event.gesture(Qt.GestureType.PinchGesture)
            if isinstance(pinch, QPinchGesture):
                about = self.mapFromGlobal(pinch.centerPoint().toPoint())
                self.zoom_by(pinch.scaleFactor(), QPointF(about))
                event.accept()
                return True
        return super().event(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.is_zoomed():
            self._drag_from = event.position()
            self.setCursor(QCursor(Qt.CursorShape.ClosedHandCursor))
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is not None:
            delta = event.position() - self._drag_from
            self._drag_from = event.position()
            self.pan_by(delta.x(), delta.y())
        elif self.is_zoomed():
            self.setCursor(QCursor(Qt.CursorShape.OpenHandCursor))
        else:
            self.unsetCursor()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is not None:
            self._drag_from = None
            self.setCursor(QCursor(Qt.CursorShape.OpenHandCursor))
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.doubleClicked.emit()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if not self._pixmap.isNull() and not self.full_size.isEmpty():
            if self.zoom is None:
                self._paint_fit(painter)
            else:
                self._paint_zoomed(painter)
        if self.message:
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                self._area(), int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                self.message,
            )  # fmt: skip
        painter.end()

    def _paint_fit(self, painter: QPainter) -> None:
        """Scaled once per size (not per paint)."""
        target = self.photo_rect()
        dpr = self.devicePixelRatioF()
        if self._fit_cache is None:
            px = QSize(max(1, round(target.width() * dpr)), max(1, round(target.height() * dpr)))
            if px == self._pixmap.size():
                self._fit_cache = QPixmap(self._pixmap)
            else:
                self._fit_cache = self._pixmap.scaled(
                    px, Qt.AspectRatioMode.IgnoreAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )  # fmt: skip
            self._fit_cache.setDevicePixelRatio(dpr)
        painter.drawPixmap(target.topLeft().toPoint(), self._fit_cache)

    def _paint_zoomed(self, painter: QPainter) -> None:
        """Only the part of the photo on screen, from the decoded pixmap."""
        target = self.photo_rect()
        visible = target.intersected(QRectF(self.rect()))
        if visible.isEmpty():
            return
        per_px = self._pixmap.width() / target.width()  # pixmap pixels per widget pixel
        source = QRectF(
            (visible.x() - target.x()) * per_px,
            (visible.y() - target.y()) * per_px,
            visible.width() * per_px,
            visible.height() * per_px,
        )
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, per_px > 0.5)
        painter.drawPixmap(visible, self._pixmap, source)

    def sizeHint(self) -> QSize:
        return QSize(640, 480)

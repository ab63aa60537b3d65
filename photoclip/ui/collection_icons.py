"""The heart (a favourite) and the album icon, drawn with QPainter: the grid's tiles, the viewer
and the sidebar share one heart."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen

from .icons import canvas

HEART_RED = QColor(235, 64, 92)


def heart_path(rect: QRectF) -> QPainterPath:
    """A heart filling ``rect``."""
    x, y, w, h = rect.x(), rect.y(), rect.width(), rect.height()
    path = QPainterPath()
    path.moveTo(x + w * 0.5, y + h * 0.95)
    path.cubicTo(x + w * 0.1, y + h * 0.68, x - w * 0.02, y + h * 0.4, x + w * 0.08, y + h * 0.2)
    path.cubicTo(x + w * 0.2, y - h * 0.02, x + w * 0.45, y + h * 0.02, x + w * 0.5, y + h * 0.24)
    path.cubicTo(x + w * 0.55, y + h * 0.02, x + w * 0.8, y - h * 0.02, x + w * 0.92, y + h * 0.2)
    path.cubicTo(x + w * 1.02, y + h * 0.4, x + w * 0.9, y + h * 0.68, x + w * 0.5, y + h * 0.95)
    path.closeSubpath()
    return path


def paint_heart(painter: QPainter, rect: QRectF, *, filled: bool = True) -> None:
    """A red heart with a white rim, readable on any photo."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    path = heart_path(rect)
    painter.setPen(QPen(QColor(255, 255, 255, 230), max(1.0, rect.width() / 10)))
    painter.setBrush(HEART_RED if filled else Qt.BrushStyle.NoBrush)
    painter.drawPath(path)
    painter.restore()


def heart_icon(size: int = 18, dpr: float = 2.0) -> QIcon:
    pix, p = canvas(size, dpr)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(HEART_RED)
    p.drawPath(heart_path(QRectF(size * 0.1, size * 0.12, size * 0.8, size * 0.78)))
    p.end()
    return QIcon(pix)


def album_icon(color: QColor, size: int = 18, dpr: float = 2.0) -> QIcon:
    """Two stacked photo frames, the front one with a hill and a sun."""
    pix, p = canvas(size, dpr)
    pen = QPen(color, size / 12)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    back = QRectF(size * 0.28, size * 0.12, size * 0.62, size * 0.5)
    p.drawRoundedRect(back, size * 0.08, size * 0.08)
    front = QRectF(size * 0.1, size * 0.34, size * 0.62, size * 0.5)
    p.setBrush(QColor(color.red(), color.green(), color.blue(), 40))
    p.drawRoundedRect(front, size * 0.08, size * 0.08)
    hill = QPainterPath()
    hill.moveTo(front.left() + size * 0.06, front.bottom() - size * 0.06)
    hill.lineTo(front.left() + size * 0.26, front.top() + size * 0.2)
    hill.lineTo(front.right() - size * 0.06, front.bottom() - size * 0.06)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPath(hill)
    p.drawEllipse(QPointF(front.right() - size * 0.16, front.top() + size * 0.14), 1.2, 1.2)
    p.end()
    return QIcon(pix)


def plus_icon(color: QColor, size: int = 18, dpr: float = 2.0) -> QIcon:
    pix, p = canvas(size, dpr)
    p.setPen(QPen(color, size / 10, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    m = size / 2
    p.drawLine(QPointF(m, size * 0.2), QPointF(m, size * 0.8))
    p.drawLine(QPointF(size * 0.2, m), QPointF(size * 0.8, m))
    p.end()
    return QIcon(pix)

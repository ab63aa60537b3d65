"""A few crisp line icons drawn with QPainter in the palette's text colour, for what the
style's standard icons don't cover (search, settings). They follow light and dark themes."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap


def canvas(size: int, dpr: float) -> tuple[QPixmap, QPainter]:
    pix = QPixmap(round(size * dpr), round(size * dpr))
    pix.setDevicePixelRatio(dpr)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    return pix, painter


def search_icon(color: QColor, size: int = 16, dpr: float = 2.0) -> QIcon:
    pix, p = canvas(size, dpr)
    pen = QPen(color, size / 9, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    r = size * 0.3
    centre = QPointF(size * 0.42, size * 0.42)
    p.drawEllipse(centre, r, r)
    d = r / math.sqrt(2)
    p.drawLine(QPointF(centre.x() + d, centre.y() + d), QPointF(size * 0.86, size * 0.86))
    p.end()
    return QIcon(pix)


def gear_icon(color: QColor, size: int = 18, dpr: float = 2.0) -> QIcon:
    pix, p = canvas(size, dpr)
    c = size / 2
    outer, inner, teeth = size * 0.46, size * 0.34, 8
    path = QPainterPath()
    for i in range(teeth * 2):
        a0 = math.pi * i / teeth
        a1 = math.pi * (i + 1) / teeth
        radius = outer if i % 2 == 0 else inner
        for a in (a0 + 0.08, a1 - 0.08):
            pt = QPointF(c + radius * math.cos(a), c + radius * math.sin(a))
            if path.elementCount() == 0:
                path.moveTo(pt)
            else:
                path.lineTo(pt)
    path.closeSubpath()
    hole = QPainterPath()
    hole.addEllipse(QRectF(c - size * 0.14, c - size * 0.14, size * 0.28, size * 0.28))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawPath(path.subtracted(hole))
    p.end()
    return QIcon(pix)


def app_icon() -> QIcon:
    """photoclip's own icon (every bundled size), or an empty icon if the files are missing."""
    from ..resource import resource_path

    icon = QIcon()
    root = resource_path("icons", "hicolor")
    if root.is_dir():
        for png in sorted(root.glob("*/apps/photoclip.png")):
            icon.addFile(str(png))
    return icon

"""Grid thumbnails: JPEG bytes from the store decoded to QImage in a small thread pool, turned
into QPixmap on the GUI thread and kept in a bounded LRU cache keyed by (photo id, device
pixel ratio). Newest requests are served first; requests for photos scrolled far out of view
are dropped, so fast scrolling over 100,000 photos never builds a backlog."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRectF, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QPainter, QPainterPath, QPixmap

if TYPE_CHECKING:
    from ..store import Store

Key = tuple[int, float]  # (photo id, device pixel ratio)

MAX_PENDING = 200  # roughly two screens of cells; older requests are out of view by now
CACHE_BYTES = 160 * 1024 * 1024
CORNER_RADIUS = 6.0


def render_thumbnail(data: bytes, side: int, dpr: float, whole: bool = False) -> QImage | None:
    """Decode JPEG ``data`` and crop it to a rounded square of ``side`` logical pixels, or
    (``whole``) fit all of it in that square, its shape kept, on a transparent ground."""
    image = QImage()
    if not image.loadFromData(data, "JPEG"):
        return None
    px = max(1, round(side * dpr))
    mode = (
        Qt.AspectRatioMode.KeepAspectRatio
        if whole
        else Qt.AspectRatioMode.KeepAspectRatioByExpanding
    )
    scaled = image.scaled(px, px, mode, Qt.TransformationMode.SmoothTransformation)
    out = QImage(px, px, QImage.Format.Format_ARGB32_Premultiplied)
    out.fill(Qt.GlobalColor.transparent)
    painter = QPainter(out)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    x, y = (px - scaled.width()) // 2, (px - scaled.height()) // 2
    clip = QPainterPath()
    shown = QRectF(max(0, x), max(0, y), min(px, scaled.width()), min(px, scaled.height()))
    clip.addRoundedRect(shown, CORNER_RADIUS * dpr, CORNER_RADIUS * dpr)
    painter.setClipPath(clip)
    painter.drawImage(x, y, scaled)
    painter.end()
    out.setDevicePixelRatio(dpr)
    return out


class _Relay(QObject):
    decoded = Signal(int, float, QImage, bool)  # photo id, dpr, image, whole


class _Decoder(QRunnable):
    """Serves requests newest-first until none are left."""

    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self.loader = loader

    def run(self) -> None:
        loader = self.loader
        while True:
            job = loader._take()
            if job is None:
                return
            (photo_id, dpr), side, whole = job
            try:
                data = loader.store.thumbnail(photo_id)
            except Exception:  # the store closed under us (shutdown) or a damaged row
                data = None
            image = render_thumbnail(data, side, dpr, whole) if data else None
            decoded = image if image is not None else QImage()
            loader._relay.decoded.emit(photo_id, dpr, decoded, whole)


class ThumbnailLoader(QObject):
    """``pixmap()`` answers from the cache or returns None and queues a decode; ``ready``
    then names the photo whose thumbnail arrived."""

    ready = Signal(int)

    def __init__(self, store: Store, side: int = 168, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.side = side
        self.whole = False  # whole photos (shape kept) instead of square crops
        self._cache: OrderedDict[Key, QPixmap] = OrderedDict()
        self._cache_bytes = 0
        self._missing: set[int] = set()  # photos without a thumbnail: don't ask again
        self._pending: OrderedDict[tuple[Key, int, bool], None] = OrderedDict()
        self._in_flight: set[Key] = set()
        self._lock = threading.Lock()
        self._workers = 0
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._pool.setExpiryTimeout(-1)  # long-lived threads: one SQLite connection each
        self._relay = _Relay()
        self._relay.decoded.connect(self._on_decoded)
        self.closed = False

    def set_side(self, side: int) -> None:
        if side != self.side:
            self.side = side
            self.clear()

    def set_whole(self, whole: bool) -> None:
        if whole != self.whole:
            self.whole = whole
            self.clear()

    def pixmap(self, photo_id: int, dpr: float) -> QPixmap | None:
        """The cached thumbnail; on a miss, None and a request. Cheap: no I/O, safe in paint."""
        key = (photo_id, dpr)
        pix = self._cache.get(key)
        if pix is not None:
            self._cache.move_to_end(key)
            return pix
        if photo_id not in self._missing:
            self._request(key)
        return None

    def peek(self, photo_id: int, dpr: float) -> QPixmap | None:
        return self._cache.get((photo_id, dpr))

    def invalidate(self, photo_ids: list[int]) -> None:
        """Forget thumbnails of photos that were re-indexed (the file changed)."""
        ids = set(photo_ids)
        self._missing -= ids
        for key in [k for k in self._cache if k[0] in ids]:
            self._drop(key)

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
        self._cache.clear()
        self._cache_bytes = 0
        self._missing.clear()

    def shutdown(self, msecs: int = 5000) -> None:
        self.closed = True
        with self._lock:
            self._pending.clear()
        self._pool.waitForDone(msecs)

    # -- internals -------------------------------------------------------------------------

    def _request(self, key: Key) -> None:
        if self.closed:
            return
        start = False
        with self._lock:
            if key in self._in_flight:
                return
            job = (key, self.side, self.whole)
            if job in self._pending:
                self._pending.move_to_end(job)
            else:
                self._pending[job] = None
                while len(self._pending) > MAX_PENDING:
                    self._pending.popitem(last=False)
            if self._workers < self._pool.maxThreadCount():
                self._workers += 1
                start = True
        if start:
            self._pool.start(_Decoder(self))

    def _take(self) -> tuple[Key, int, bool] | None:
        with self._lock:
            if not self._pending:
                self._workers -= 1
                return None
            job, _ = self._pending.popitem(last=True)  # newest first: what is on screen now
            self._in_flight.add(job[0])
            return job

    def _on_decoded(self, photo_id: int, dpr: float, image: QImage, whole: bool) -> None:
        key = (photo_id, dpr)
        with self._lock:
            self._in_flight.discard(key)
        if self.closed:
            return
        if image.isNull():
            self._missing.add(photo_id)
            return
        if image.width() != round(self.side * dpr) or whole != self.whole:
            return  # decoded for a previous thumbnail size or shape
        pix = QPixmap.fromImage(image)
        self._cache[key] = pix
        self._cache_bytes += _pixmap_bytes(pix)
        while self._cache_bytes > CACHE_BYTES and len(self._cache) > 1:
            self._drop(next(iter(self._cache)))
        self.ready.emit(photo_id)

    def _drop(self, key: Key) -> None:
        pix = self._cache.pop(key, None)
        if pix is not None:
            self._cache_bytes -= _pixmap_bytes(pix)


def _pixmap_bytes(pix: QPixmap) -> int:
    size: QSize = pix.size()
    return size.width() * size.height() * 4

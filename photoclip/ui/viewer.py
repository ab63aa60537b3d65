"""The photo viewer: one photo, large (decoded off the GUI thread, EXIF rotation applied), fit
to the window or zoomed and panned (see zoom_canvas), Left/Right for the previous/next photo
of the current result, a slideshow, the favourite heart, the info panel and full screen."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from functools import partial

from PySide6.QtCore import (
    QEvent,
    QObject,
    QPoint,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QContextMenuEvent,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QKeySequence,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from . import format as fmt
from .grid_model import PhotoGridModel
from .thumbnails import ThumbnailLoader
from .zoom_canvas import ZOOM_STEP, ImageCanvas

DECODED_CACHE = 4  # the current photo and its neighbours
SLIDESHOW_MS = 4000
FULL_RESOLUTION_LIMIT = 12_000  # longest side decoded for 100 % and beyond
HEART, HEART_OUTLINE = "♥", "♡"


def decode_for_display(path: str, max_side: int) -> QImage:
    """Full decode through the core (EXIF rotation, any mode to RGB). Raises PhotoError."""
    from ..imaging import open_for_display

    image = open_for_display(path, max_side)
    data = image.tobytes("raw", "RGB")
    return QImage(
        data, image.width, image.height, 3 * image.width, QImage.Format.Format_RGB888
    ).copy()


def photo_size(path: str) -> QSize:
    """The photo's own size as shown (EXIF rotation applied), from its header only."""
    from PIL import Image

    with Image.open(path) as im:
        w, h = im.size
        if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # rotated a quarter turn
            w, h = h, w
    return QSize(w, h)


class _Relay(QObject):
    decoded = Signal(str, QImage, QSize, bool, str)  # path, image, full size, full res, error


class _Decode(QRunnable):
    def __init__(self, relay: _Relay, path: str, max_side: int, full: bool) -> None:
        super().__init__()
        self.relay, self.path, self.max_side, self.full = relay, path, max_side, full

    @property
    def name(self) -> str:
        return fmt.file_name(self.path)

    def run(self) -> None:
        from ..imaging import PhotoError

        size = QSize()
        try:
            size = photo_size(self.path)
            image = decode_for_display(self.path, self.max_side)
        except PhotoError as exc:
            message = f"Couldn't open {self.name}: {exc}"
            self.relay.decoded.emit(self.path, QImage(), size, self.full, message)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            message = f"Couldn't open {self.name}: {reason}."
            self.relay.decoded.emit(self.path, QImage(), size, self.full, message)
        except Exception as exc:  # PIL raises a few other kinds for damaged headers
            message = f"Couldn't open {self.name}: {exc}."
            self.relay.decoded.emit(self.path, QImage(), size, self.full, message)
        else:
            self.relay.decoded.emit(self.path, image, size, self.full, "")


class Viewer(QWidget):
    """Shows row ``row`` of the grid's model. Emits ``closed`` on Esc / Back,
    ``currentChanged(row)`` so the grid (and the info panel) can follow along,
    ``fullScreenToggled`` for F / F11 / double-click and ``infoToggled`` for I."""

    closed = Signal()
    currentChanged = Signal(int)
    contextMenuRequested = Signal(int, QPoint)  # row, global position
    fullScreenToggled = Signal()
    infoToggled = Signal()

    def __init__(
        self, model: PhotoGridModel, thumbnails: ThumbnailLoader, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.thumbnails = thumbnails
        self.row = -1
        self.full_screen = False  # the window says so (see set_full_screen)
        self._decoded: OrderedDict[str, tuple[QPixmap, QSize]] = OrderedDict()
        self._full: tuple[str, QPixmap, QSize] | None = None  # one full-resolution decode
        self._requested: set[tuple[str, bool]] = set()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._relay = _Relay()
        self._relay.decoded.connect(self._on_decoded)
        self._is_favourite: Callable[[int, Callable[[bool], None]], None] | None = None
        self._set_favourite: Callable[[int, bool], None] | None = None
        self._favourite_id = -1
        self.slideshow = QTimer(self)
        self.slideshow.setInterval(SLIDESHOW_MS)
        self.slideshow.timeout.connect(self._next_slide)
        self._build()

    def _build(self) -> None:
        style = self.style()

        def tool(
            tip: str, *, icon: QStyle.StandardPixmap | None = None, text: str = "",
            checkable: bool = False,
        ) -> QToolButton:  # fmt: skip
            button = QToolButton()
            if icon is not None:
                button.setIcon(style.standardIcon(icon))
            if text:
                button.setText(text)
                if icon is not None:
                    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setToolTip(tip)
            button.setAccessibleName(tip.split(" (")[0])
            button.setAutoRaise(True)
            button.setCheckable(checkable)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            return button

        Icon = QStyle.StandardPixmap
        self.back = tool("Back to the photos (Esc)", icon=Icon.SP_ArrowBack)
        self.prev = tool("Previous photo (Left)", icon=Icon.SP_ArrowLeft)
        self.next = tool("Next photo (Right)", icon=Icon.SP_ArrowRight)
        self.zoom_out = tool("Zoom out (-)", text="−")
        self.zoom_in = tool("Zoom in (+)", text="+")
        self.zoom_label = QToolButton()
        self.zoom_label.setAutoRaise(True)
        self.zoom_label.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.zoom_label.setToolTip("Fit to the window (0) or actual size (1)")
        self.zoom_label.setMinimumWidth(44)
        self.heart = tool("Favourite (H)", text=HEART_OUTLINE, checkable=True)
        self.heart.setEnabled(False)
        self.info = tool("Info (I)", text="Info", checkable=True)
        self.play = tool("Slideshow (S)", icon=Icon.SP_MediaPlay, checkable=True)
        self.full = tool("Full screen (F, F11)", icon=Icon.SP_TitleBarMaxButton)
        for button in (self.zoom_in, self.zoom_out, self.heart):
            font = button.font()
            font.setPointSizeF(font.pointSizeF() * 1.3)
            button.setFont(font)
        self.title = QLabel()
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.subtitle = QLabel()
        self.subtitle.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        # Long names must not widen the window: both labels may shrink (the title last).
        self.title.setMinimumWidth(1)
        self.subtitle.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 6, 8, 6)
        bar.setSpacing(2)
        bar.addWidget(self.back)
        bar.addSpacing(6)
        bar.addWidget(self.title)
        bar.addSpacing(6)
        bar.addWidget(self.subtitle, 1)
        for widget in (self.zoom_out, self.zoom_label, self.zoom_in, self.heart, self.info,
                       self.play, self.full, self.prev, self.next):  # fmt: skip
            bar.addWidget(widget)
        self.bar = bar
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
        self.zoom_in.clicked.connect(lambda: self.canvas.zoom_by(ZOOM_STEP))
        self.zoom_out.clicked.connect(lambda: self.canvas.zoom_by(1 / ZOOM_STEP))
        self.zoom_label.clicked.connect(self.toggle_fit)
        self.heart.clicked.connect(self.toggle_favourite)
        self.info.clicked.connect(self.infoToggled)
        self.play.toggled.connect(self._on_play)
        self.full.clicked.connect(self.fullScreenToggled)
        self.canvas.doubleClicked.connect(self.fullScreenToggled)
        self.canvas.zoomChanged.connect(self._on_zoom)
        self.canvas.needsFullResolution.connect(self._decode_full)

    # -- favourites (the window plugs in where they live) ----------------------------------

    def use_favourites(
        self,
        is_favourite: Callable[[int, Callable[[bool], None]], None],
        set_favourite: Callable[[int, bool], None],
    ) -> None:
        """``is_favourite(photo_id, answer)`` calls ``answer(bool)`` (maybe later);
        ``set_favourite(photo_id, bool)`` marks it."""
        self._is_favourite = is_favourite
        self._set_favourite = set_favourite
        self.heart.setEnabled(True)

    def show_favourite(self, photo_id: int, favourite: bool) -> None:
        """The heart for ``photo_id`` (ignored unless it is the photo shown)."""
        if photo_id != self._favourite_id:
            return
        self.heart.setChecked(favourite)
        self.heart.setText(HEART if favourite else HEART_OUTLINE)
        self.heart.setToolTip("Favourite (H): yes" if favourite else "Favourite (H)")

    def toggle_favourite(self) -> None:
        if self._set_favourite is None or not 0 <= self.row < self.model.rowCount():
            return
        photo_id = self.model.ids[self.row]
        favourite = self.heart.text() != HEART
        self.show_favourite(photo_id, favourite)
        self._set_favourite(photo_id, favourite)

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
            parts.append("strong match" if info.strong else "weaker match")
        self.subtitle.setText("  ·  ".join(parts))
        self.subtitle.setToolTip(f"Score {info.score:.3f}" if info.score is not None else "")
        self.title.setToolTip(info.path)
        self.prev.setEnabled(row > 0)
        self.next.setEnabled(row + 1 < self.model.total)
        self._favourite_id = info.photo_id
        self.show_favourite(info.photo_id, False)
        if self._is_favourite is not None:
            self._is_favourite(info.photo_id, partial(self.show_favourite, info.photo_id))
        decoded = self._decoded.get(info.path)
        if decoded is not None:
            self.canvas.set_pixmap(decoded[0], full_size=decoded[1])
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
        if self.slideshow.isActive():
            self.slideshow.start()  # a full interval on the photo the user moved to

    def toggle_fit(self) -> None:
        """Fit <-> 100 %."""
        if self.canvas.zoom is None and abs(self.canvas.percent() - 100) > 0.5:
            self.canvas.actual_size()
        else:
            self.canvas.fit()

    def set_full_screen(self, on: bool) -> None:
        """The window went (or left) full screen: the viewer's bar says so."""
        self.full_screen = on
        icon = (
            QStyle.StandardPixmap.SP_TitleBarNormalButton
            if on
            else QStyle.StandardPixmap.SP_TitleBarMaxButton
        )
        self.full.setIcon(self.style().standardIcon(icon))
        self.full.setToolTip("Leave full screen (F, F11, Esc)" if on else "Full screen (F, F11)")

    # -- slideshow -------------------------------------------------------------------------

    def toggle_slideshow(self) -> None:
        self.play.setChecked(not self.play.isChecked())

    def _on_play(self, playing: bool) -> None:
        icon = (
            QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        )
        self.play.setIcon(self.style().standardIcon(icon))
        if playing:
            self.slideshow.start()
        else:
            self.slideshow.stop()

    def _next_slide(self) -> None:
        if self.row + 1 < self.model.rowCount() or self.model.canFetchMore():
            self.step(1)
        else:
            self.play.setChecked(False)  # the end of the result

    # -- keys ------------------------------------------------------------------------------

    _OWN_SHORTCUTS = (QKeySequence.StandardKey.ZoomIn, QKeySequence.StandardKey.ZoomOut)

    def event(self, event: QEvent) -> bool:
        # Ctrl++ / Ctrl+- are the grid's thumbnail size in the window's menu; here they zoom
        # the photo: take them before the menu does.
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and (
                any(event.matches(k) for k in self._OWN_SHORTCUTS) or event.key() == Qt.Key.Key_F11
            )
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        canvas = self.canvas
        if event.matches(QKeySequence.StandardKey.ZoomIn) or key in (
            Qt.Key.Key_Plus,
            Qt.Key.Key_Equal,
        ):
            canvas.zoom_by(ZOOM_STEP)
        elif event.matches(QKeySequence.StandardKey.ZoomOut) or key in (
            Qt.Key.Key_Minus,
            Qt.Key.Key_Underscore,
        ):
            canvas.zoom_by(1 / ZOOM_STEP)
        elif key == Qt.Key.Key_1:
            canvas.actual_size()
        elif key == Qt.Key.Key_0:
            canvas.fit()
        elif key in (Qt.Key.Key_F, Qt.Key.Key_F11):
            self.fullScreenToggled.emit()
        elif key == Qt.Key.Key_S:
            self.toggle_slideshow()
        elif key == Qt.Key.Key_H:
            self.toggle_favourite()
        elif key == Qt.Key.Key_Escape:
            if self.full_screen:
                self.fullScreenToggled.emit()
            else:
                self.play.setChecked(False)
                self.closed.emit()
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_PageUp) or (
            key == Qt.Key.Key_Up and not canvas.is_zoomed()
        ):
            self.step(-1)
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_PageDown, Qt.Key.Key_Space) or (
            key == Qt.Key.Key_Down and not canvas.is_zoomed()
        ):
            self.step(1)
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down):  # zoomed: arrows pan
            canvas.pan_by(0, 60 if key == Qt.Key.Key_Up else -60)
        elif key == Qt.Key.Key_Home:
            self.show_row(0)
        elif key == Qt.Key.Key_End:
            self.show_row(self.model.rowCount() - 1)
        else:
            super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if self.row >= 0:
            self.contextMenuRequested.emit(self.row, event.globalPos())

    def _on_zoom(self, percent: float) -> None:
        self.zoom_label.setText(
            "Fit" if self.canvas.zoom is None and percent < 99.5 else f"{percent:.0f} %"
        )

    def full_image_shown(self) -> bool:
        """The current photo is decoded and on screen (not its thumbnail stand-in)."""
        if not 0 <= self.row < self.model.rowCount():
            return False
        return self.model.path(self.row) in self._decoded and self.canvas.has_image()

    def shutdown(self) -> None:
        self.slideshow.stop()
        self._pool.clear()
        self._pool.waitForDone(5000)

    # -- decoding --------------------------------------------------------------------------

    def _max_side(self) -> int:
        """Decode about as large as the window can show (scaling at paint time stays cheap);
        at most the screen's size. Zooming past that decodes the full photo (_decode_full)."""
        window = self.window().size() * self.devicePixelRatioF()
        side = max(1024, window.width(), window.height())
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is not None:
            size = screen.size() * screen.devicePixelRatio()
            side = min(side, max(size.width(), size.height(), 1024))
        return min(4096, side)

    def _decode(self, path: str, *, full: bool = False) -> None:
        if (path, full) in self._requested or (not full and path in self._decoded):
            return
        self._requested.add((path, full))
        side = FULL_RESOLUTION_LIMIT if full else self._max_side()
        self._pool.start(_Decode(self._relay, path, side, full))

    def _decode_full(self) -> None:
        if not 0 <= self.row < self.model.rowCount():
            return
        path = self.model.path(self.row)
        if self._full is not None and self._full[0] == path:
            return
        self._decode(path, full=True)

    def _current_path(self) -> str:
        return self.model.path(self.row) if 0 <= self.row < self.model.rowCount() else ""

    def _on_decoded(self, path: str, image: QImage, size: QSize, full: bool, error: str) -> None:
        self._requested.discard((path, full))
        current = self._current_path()
        if image.isNull():
            if path == current and not full:
                self.canvas.set_message(error)
            return
        pix = QPixmap.fromImage(image)
        if full:
            self._full = (path, pix, size)
        else:
            self._decoded[path] = (pix, size)
            while len(self._decoded) > DECODED_CACHE:
                self._decoded.popitem(last=False)
        if path == current and (full or self.canvas.pixmap_size().width() < pix.width()):
            self.canvas.set_pixmap(pix, full_size=size, keep_view=True)

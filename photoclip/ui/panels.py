"""Small panels around the grid: the message banner (model unavailable, errors), the first-run
empty state, and the overlay shown while something is dragged over the window; and the layout
the windows beside it share (lay_out_window)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from .icons import app_icon


def lay_out_window(
    window: QWidget, summary: QWidget, body: QWidget, buttons: Sequence[QWidget]
) -> None:
    """The layout of the Things, Duplicates and smart album windows: a summary line, the body,
    and a row of ``buttons`` with Close at its right."""
    row = QHBoxLayout()
    for button in buttons:
        row.addWidget(button)
    row.addStretch(1)
    close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    close.rejected.connect(window.close)
    row.addWidget(close)
    layout = QVBoxLayout(window)
    layout.addWidget(summary)
    layout.addWidget(body, 1)
    layout.addLayout(row)


class Banner(QFrame):
    """A message across the top of the window with up to two action buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.icon = QLabel()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.primary = QPushButton()
        self.secondary = QPushButton()
        self.close_button = QPushButton()
        self.close_button.setIcon(
            self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton)
        )
        self.close_button.setFlat(True)
        self.close_button.setToolTip("Dismiss")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 8)
        layout.setSpacing(10)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.primary)
        layout.addWidget(self.secondary)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self._actions: list[Callable[[], object] | None] = [None, None]
        self.primary.clicked.connect(lambda: self._run(0))
        self.secondary.clicked.connect(lambda: self._run(1))
        self.close_button.clicked.connect(self.hide)
        self.owner = ""  # who put the current message up ("model", "index", ...)
        self.hide()

    def _run(self, which: int) -> None:
        action = self._actions[which]
        if action is not None:
            action()

    def show_message(
        self,
        text: str,
        *,
        owner: str = "",
        level: str = "warning",
        primary: tuple[str, Callable[[], object]] | None = None,
        secondary: tuple[str, Callable[[], object]] | None = None,
        closable: bool = True,
    ) -> None:
        self.owner = owner
        pixmap = {
            "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
            "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
            "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
        }[level]
        self.icon.setPixmap(self.style().standardIcon(pixmap).pixmap(24, 24))
        self.message.setText(text)
        for i, (button, action) in enumerate(
            ((self.primary, primary), (self.secondary, secondary))
        ):
            button.setText(action[0] if action else "")
            button.setVisible(action is not None)
            self._actions[i] = action[1] if action else None
        self.close_button.setVisible(closable)
        palette = self.palette()
        base = palette.color(QPalette.ColorRole.Window)
        tint = (
            QColor(255, 196, 0) if level != "info" else palette.color(QPalette.ColorRole.Highlight)
        )
        if level == "error":
            tint = QColor(220, 50, 47)
        mixed = QColor(
            round(base.red() * 0.82 + tint.red() * 0.18),
            round(base.green() * 0.82 + tint.green() * 0.18),
            round(base.blue() * 0.82 + tint.blue() * 0.18),
        )
        palette.setColor(QPalette.ColorRole.Window, mixed)
        self.setPalette(palette)
        self.show()

    def dismiss(self, owner: str) -> None:
        """Hide the message if ``owner`` put it up."""
        if self.owner == owner:
            self.hide()


class EmptyState(QWidget):
    """The grid area when there is nothing to show: a welcome on first run, or why not."""

    addFolderClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.icon = QLabel()
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        logo = app_icon()
        if logo.isNull():
            logo = self.style().standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon)
        self.icon.setPixmap(logo.pixmap(96, 96))
        self.title = QLabel()
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont(self.title.font())
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.title.setFont(font)
        self.detail = QLabel()
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)
        self.detail.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.button = QPushButton("Add Folder…")
        self.button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_FileDialogNewFolder))
        self.button.setDefault(True)
        self.button.clicked.connect(self.addFolderClicked)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(self.icon)
        layout.addSpacing(8)
        layout.addWidget(self.title)
        layout.addWidget(self.detail)
        layout.addSpacing(12)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(3)
        self.show_welcome()

    def show_welcome(self) -> None:
        self._set(
            "Welcome to photoclip",
            "Drop a folder of photos here, or click Add Folder.\n"
            "Then find any photo by describing it. Nothing leaves your computer.",
            button=True,
        )

    def show_searching_folders(self) -> None:
        self._set("Looking for photos…", "Photos appear here as they are indexed.")

    def show_adding_folders(self) -> None:
        self._set("Adding your folder…", "Its photos appear here as they are indexed.")

    def show_waiting_for_model(self, *, preparing: bool = False) -> None:
        """No photo indexed yet because the model isn't ready: loading (``preparing``), or
        unavailable (the banner says why)."""
        if preparing:
            self._set(
                "Preparing the model…",
                "Indexing starts in a moment; your photos appear here as they are indexed.",
            )
            return
        self._set(
            "Waiting for the search model",
            "photoclip indexes your folders as soon as its model is ready. If it needs you, "
            "the message above says what to do.",
        )

    def show_no_photos_in_folders(self) -> None:
        self._set(
            "No photos found yet",
            "Your library folders don't contain photos photoclip can read. "
            "Add another folder, or check Problems.",
            button=True,
        )

    def show_nothing_matches(self, why: str) -> None:
        self._set("Nothing to show", why)

    def _set(self, title: str, detail: str, *, button: bool = False) -> None:
        self.title.setText(title)
        self.detail.setText(detail)
        self.button.setVisible(button)


class DropOverlay(QWidget):
    """A translucent highlight over the window while files are dragged over it."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.text = "Drop to add to your library"
        self.hide()

    def show_over(self, widget: QWidget, text: str = "Drop to add to your library") -> None:
        self.text = text
        self.setGeometry(widget.geometry())
        self.raise_()
        self.show()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        highlight = palette.color(QPalette.ColorRole.Highlight)
        veil = QColor(palette.color(QPalette.ColorRole.Window))
        veil.setAlpha(235)  # hide what is underneath, so the message reads clearly
        painter.fillRect(self.rect(), veil)
        tint = QColor(highlight)
        tint.setAlpha(36)
        rect = QRectF(self.rect()).adjusted(8, 8, -8, -8)
        painter.setBrush(tint)
        painter.setPen(QPen(highlight, 3, Qt.PenStyle.DashLine))
        painter.drawRoundedRect(rect, 14, 14)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(palette.color(QPalette.ColorRole.WindowText))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), self.text)

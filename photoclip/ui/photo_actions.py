"""What can be done with photos in the grid or viewer: open with the default app, show in
the file manager, copy the path or the image, find similar photos."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from PySide6.QtCore import QMimeData, QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QImage
from PySide6.QtWidgets import QMenu, QStyle, QWidget

from .tasks import run_task


def open_with_default_app(path: str) -> bool:
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def show_in_folder(path: str) -> bool:
    """Reveal the file in the system file manager (selected where the platform allows)."""
    if sys.platform == "darwin":
        return subprocess.call(["open", "-R", path]) == 0
    if sys.platform == "win32":
        subprocess.Popen(["explorer", "/select,", os.path.normpath(path)])
        return True
    if _freedesktop_show_items(path):
        return True
    return QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))


def _freedesktop_show_items(path: str) -> bool:
    try:
        from PySide6.QtDBus import QDBusConnection, QDBusInterface
    except ImportError:
        return False
    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        return False
    manager = QDBusInterface(
        "org.freedesktop.FileManager1",
        "/org/freedesktop/FileManager1",
        "org.freedesktop.FileManager1",
        bus,
    )
    if not manager.isValid():
        return False
    reply = manager.call("ShowItems", [QUrl.fromLocalFile(path).toString()], "")
    return not reply.errorName()


def copy_paths(paths: list[str]) -> None:
    """The paths as text (one a line) and as file URLs, for file managers."""
    mime = QMimeData()
    mime.setText("\n".join(paths))
    mime.setUrls([QUrl.fromLocalFile(p) for p in paths])
    QGuiApplication.clipboard().setMimeData(mime)


def _decode_for_clipboard(path: str) -> QImage:
    from ..errors import PhotoclipError
    from ..imaging import PhotoError
    from .viewer import decode_for_display

    try:
        return decode_for_display(path, 4096)
    except (PhotoError, OSError) as exc:
        raise PhotoclipError(str(exc)) from exc


class PhotoActions(QObject):
    """Builds the context menu and carries out its actions. ``findSimilar(path)`` and
    ``message(text)`` go to the window."""

    findSimilar = Signal(str)
    openRequested = Signal(int)  # row, to open in the viewer
    message = Signal(str)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.widget = parent
        # Other parts add their entries to the menu: (menu, paths) -> None (albums, export, …)
        self.menu_hooks: list[Callable[[QMenu, list[str]], None]] = []

    def menu(self, paths: list[str], row: int | None, in_viewer: bool = False) -> QMenu:
        style = self.widget.style()
        menu = QMenu(self.widget)
        first = paths[0]
        if row is not None and not in_viewer:
            menu.addAction(
                style.standardIcon(QStyle.StandardPixmap.SP_FileDialogContentsView),
                "View",
                lambda: self.openRequested.emit(row),
            )
        menu.addAction(
            style.standardIcon(QStyle.StandardPixmap.SP_DesktopIcon),
            "Open with Default App",
            lambda: self.open_default(paths),
        )
        menu.addAction(
            style.standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon),
            "Show in Folder",
            lambda: self.show_in_folder(first),
        )
        menu.addSeparator()
        label = "Copy Path" if len(paths) == 1 else f"Copy {len(paths)} Paths"
        menu.addAction(label, lambda: self.copy_paths(paths))
        menu.addAction("Copy Image", lambda: self.copy_image(first))
        menu.addSeparator()
        menu.addAction(
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView),
            "Find Similar",
            lambda: self.findSimilar.emit(first),
        )
        for hook in self.menu_hooks:
            hook(menu, paths)
        return menu

    def open_default(self, paths: list[str]) -> None:
        for path in paths[:20]:  # a mis-click on 5,000 photos must not open 5,000 windows
            if not open_with_default_app(path):
                self.message.emit(f"No app is set up to open {os.path.basename(path)}.")
                return

    def show_in_folder(self, path: str) -> None:
        if not show_in_folder(path):
            self.message.emit(f"Couldn't open the folder of {os.path.basename(path)}.")

    def copy_paths(self, paths: list[str]) -> None:
        copy_paths(paths)
        self.message.emit("Path copied." if len(paths) == 1 else f"{len(paths)} paths copied.")

    def copy_image(self, path: str) -> None:
        name = os.path.basename(path)

        def done(image: QImage) -> None:
            QGuiApplication.clipboard().setImage(image)
            self.message.emit(f"{name} copied as an image.")

        def failed(_: str) -> None:
            self.message.emit(f"Couldn't copy {name}: the file can't be read.")

        run_task(_decode_for_clipboard, path, on_done=done, on_failed=failed)

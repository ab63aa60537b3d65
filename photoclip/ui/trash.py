"""Move to Trash with Undo, built once for the grid, the viewer and the duplicates view: a
confirmation that says how many files, QFile.moveToTrash off the GUI thread, a transient bar
with Undo (and Ctrl+Z), and the photos' albums and heart given back after Undo (trash.py)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QEvent, QFile, QObject, QStandardPaths, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QStyle,
    QWidget,
)

from ..trash import TrashedPhoto, TrashError, give_back, keepsakes, restore_file
from .tasks import run_task

UNDO_SECONDS = 20


class UndoBar(QFrame):
    """A bar floating at the bottom of ``host``: a message, Undo, and a close button. It goes
    by itself after UNDO_SECONDS."""

    undoClicked = Signal()

    def __init__(self, host: QWidget) -> None:
        super().__init__(host)
        self.setObjectName("undoBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.label = QLabel()
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Put the photos back where they were (Ctrl+Z)")
        close = QPushButton()
        close.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        close.setFlat(True)
        close.setToolTip("Dismiss")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 6, 6, 6)
        layout.setSpacing(10)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.undo_button)
        layout.addWidget(close)
        self.undo_button.clicked.connect(self.undoClicked)
        close.clicked.connect(self.hide)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        host.installEventFilter(self)
        self.hide()

    def show_message(self, text: str, *, undo: bool = True) -> None:
        self.label.setText(text)
        self.undo_button.setVisible(undo)
        self._place()
        self.show()
        self.raise_()
        self._timer.start(UNDO_SECONDS * 1000)

    def _place(self) -> None:
        host = self.parentWidget()
        if host is None:
            return
        self.adjustSize()
        width = min(max(self.sizeHint().width(), 360), host.width() - 24)
        height = self.sizeHint().height()
        self.setGeometry((host.width() - width) // 2, host.height() - height - 16, width, height)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False


def _ensure_home_trash() -> None:
    """Qt puts files in $XDG_DATA_HOME/Trash but won't make a missing ~/.local/share."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    if base:
        os.makedirs(base, exist_ok=True)


def move_to_trash(store: Any, photo_ids: Sequence[int]) -> tuple[list[TrashedPhoto], list[str]]:
    """(moved, problems in words); runs off the GUI thread."""
    _ensure_home_trash()
    moved, problems = [], []
    for keep in keepsakes(store, photo_ids):
        name = os.path.basename(keep.path)
        if not os.path.lexists(keep.path):
            problems.append(f"{name} was already gone from {os.path.dirname(keep.path)}.")
            continue
        file = QFile(keep.path)
        if not file.moveToTrash():
            problems.append(
                f"Couldn't move {name} to the Trash ({file.errorString()}); it is where it was."
            )
            continue
        moved.append(
            TrashedPhoto(keep.photo_id, keep.path, file.fileName(), keep.album_ids, keep.favourite)
        )
    return moved, problems


def put_back(store: Any, items: Sequence[TrashedPhoto]) -> tuple[list[TrashedPhoto], list[str]]:
    """(restored, problems in words); albums and hearts given back where the library still
    has the photo. Runs off the GUI thread."""
    restored, problems = [], []
    for item in items:
        try:
            restore_file(item)
        except TrashError as exc:
            problems.append(str(exc))
            continue
        restored.append(item)
    return restored, problems


class TrashController(QObject):
    """``move(photo_ids)`` asks, moves, and offers Undo. ``trashed(ids)`` tells the views to
    drop the photos; ``rescan`` (the library's folders) makes the library notice at once."""

    trashed = Signal(list)  # photo ids moved to the Trash
    restored = Signal(list)  # original paths put back
    message = Signal(str)

    def __init__(
        self,
        store: Any,
        host: QWidget,
        rescan: Callable[[list[str]], None] | None = None,
    ) -> None:
        super().__init__(host)
        self.store = store
        self.host = host
        self.rescan = rescan
        self.undo_bar = UndoBar(host)
        self.undo_bar.undoClicked.connect(self.undo)
        self.confirm: QMessageBox | None = None
        self.last: list[TrashedPhoto] = []  # the last move, for Undo
        self.waiting: list[TrashedPhoto] = []  # put back, not in the library again yet
        self.busy = False
        self.undo_action = QAction("&Undo Move to Trash", host)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.setEnabled(False)
        self.undo_action.triggered.connect(self.undo)
        host.addAction(self.undo_action)

    # -- moving ------------------------------------------------------------------------------

    def ask_to_move(self, photo_ids: Sequence[int], names: Sequence[str] = ()) -> None:
        """The confirmation (it says how many files); moves them if the user agrees."""
        ids = list(dict.fromkeys(photo_ids))
        if not ids or self.busy:
            return
        n = len(ids)
        box = QMessageBox(self.host)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Move to Trash")
        what = f"“{names[0]}”" if n == 1 and names else f"{n:,} photo{'s' if n != 1 else ''}"
        box.setText(f"Move {what} to the Trash?")
        box.setInformativeText(
            ("The file goes" if n == 1 else f"The {n:,} files go")
            + " to the system Trash, out of your photo folder. You can Undo right after "
            "(Ctrl+Z), or restore from the Trash later."
        )
        move = box.addButton("Move to Trash", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(move)

        def answered(_: int) -> None:
            self.confirm = None
            if box.clickedButton() is move:
                self.move(ids)
            box.deleteLater()

        box.finished.connect(answered)
        self.confirm = box
        box.open()

    def move(self, photo_ids: Sequence[int]) -> None:
        """Move without asking (the caller has asked)."""
        self.busy = True
        run_task(move_to_trash, self.store, list(photo_ids), on_done=self._moved,
                 on_failed=self._failed)  # fmt: skip

    def _moved(self, result: tuple[list[TrashedPhoto], list[str]]) -> None:
        self.busy = False
        moved, problems = result
        if moved:
            self.last = moved
            self.undo_action.setEnabled(True)
            self.trashed.emit([m.photo_id for m in moved])
            n = len(moved)
            text = f"Moved {n:,} photo{'s' if n != 1 else ''} to the Trash."
            if problems:
                text += f" {len(problems)} couldn't be moved."
            self.undo_bar.show_message(text)
            self._rescan([m.original for m in moved])
        if problems:
            self.message.emit(" ".join(problems[:3]))

    # -- undo --------------------------------------------------------------------------------

    def undo(self) -> None:
        if not self.last or self.busy:
            return
        items, self.last = self.last, []
        self.undo_action.setEnabled(False)
        self.undo_bar.hide()
        self.busy = True
        run_task(put_back, self.store, items, on_done=self._put_back, on_failed=self._failed)

    def _put_back(self, result: tuple[list[TrashedPhoto], list[str]]) -> None:
        self.busy = False
        restored, problems = result
        if restored:
            self.waiting += restored
            n = len(restored)
            self.undo_bar.show_message(
                f"Put {n:,} photo{'s' if n != 1 else ''} back where {'they' if n != 1 else 'it'}"
                " came from.",
                undo=False,
            )
            self.restored.emit([r.original for r in restored])
            self._rescan([r.original for r in restored])
            self.library_updated()
        if problems:
            self.message.emit(" ".join(problems[:3]))

    def library_updated(self, *args: object) -> None:
        """After a scan: photos put back that the library has again get their albums and
        heart back."""
        if self.waiting:
            asked = list(self.waiting)
            run_task(give_back, self.store, asked,
                     on_done=lambda still: self._given_back(asked, still))  # fmt: skip

    def _given_back(self, asked: list[TrashedPhoto], still: list[TrashedPhoto]) -> None:
        done = {id(i) for i in asked} - {id(i) for i in still}
        self.waiting = [i for i in self.waiting if id(i) not in done]
        if done:
            self.restored.emit([])  # albums and favourites changed: count them again

    def _failed(self, message: str) -> None:
        self.busy = False
        self.message.emit(message)

    def _rescan(self, paths: list[str]) -> None:
        """Have the library look at these photos' folders now, rather than when the folder
        watcher gets round to it."""
        if self.rescan is not None:
            run_task(_library_roots, self.store, paths, on_done=self._rescan_roots)

    def _rescan_roots(self, roots: list[str]) -> None:
        if roots and self.rescan is not None:
            self.rescan(roots)


def _library_roots(store: Any, paths: list[str]) -> list[str]:
    roots = [f.path for f in store.folders()]
    return sorted(
        {root for p in paths for root in roots if p.startswith(root.rstrip(os.sep) + os.sep)}
    )

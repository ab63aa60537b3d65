"""The Duplicates window: groups of copies by kind (exact copies, the same photo, similar
shots), each with its suggested keeper, and what to do with the rest: keep all, hide them
from search (undoable; the files stay), or move them to the Trash (the app's own Move to
Trash: it asks first, and Undo puts the files back)."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from ..duplicates import KIND_NAMES, Duplicates, Group
from ..errors import PhotoclipError
from .panels import lay_out_window
from .tasks import run_task

GroupRole = Qt.ItemDataRole.UserRole + 1
ICON = 64
MAX_GROUPS = 500  # shown at once; the rest after these are resolved


class DuplicatesView(QDialog):
    """Reads and resolves the groups of one library (``Duplicates``) off the GUI thread."""

    def __init__(
        self, finder: Duplicates, parent: QWidget | None = None, trash: Any = None
    ) -> None:
        super().__init__(parent)
        self.finder = finder
        self.trash = trash  # ui.trash.TrashController: ask_to_move(ids, names), trashed
        self.store = finder.store
        self._undo: list[dict[int, str | None]] = []
        self.setWindowTitle("Duplicates")
        self.resize(720, 560)
        self.summary = QLabel("Looking for copies…")
        self.summary.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Photo", "Size", "Taken", "Folder"])
        self.tree.setIconSize(QSize(ICON, ICON))
        self.tree.setAccessibleName("Groups of copies")
        self.keep_all = QPushButton("Keep All")
        self.keep_all.setToolTip("These are all wanted: don't offer this group again")
        self.hide_rest = QPushButton("Hide the Rest")
        self.hide_rest.setToolTip(
            "Keep the suggested photo and hide the others from search (the files stay where "
            "they are)"
        )
        self.trash_rest = QPushButton("Move the Rest to the Trash…")
        self.trash_rest.setToolTip(
            "Keep the suggested photo and move the others' files to the system Trash (asks "
            "first; Undo puts them back)"
        )
        self.trash_rest.setVisible(trash is not None)
        self.undo_button = QPushButton("Undo")
        lay_out_window(
            self, self.summary, self.tree,
            (self.keep_all, self.hide_rest, self.trash_rest, self.undo_button),
        )  # fmt: skip
        self.keep_all.clicked.connect(lambda: self._resolve(self.finder.keep_all))
        self.hide_rest.clicked.connect(lambda: self._resolve(self.finder.hide_rest))
        self.undo_button.clicked.connect(self._undo_last)
        self.trash_rest.clicked.connect(self._trash_rest)
        if trash is not None:
            trash.trashed.connect(lambda _ids: self.refresh(scan=False))
            trash.restored.connect(lambda _paths: self.refresh(scan=False))
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())
        self._update_buttons()

    # -- loading ---------------------------------------------------------------------------

    def refresh(self, scan: bool = True) -> None:
        """Check new photos (when asked), then show the groups not yet decided about."""

        def load() -> tuple[list[Group], dict[int, Any], dict[int, bytes | None]]:
            if scan:
                self.finder.scan()
            groups = self.finder.groups()[:MAX_GROUPS]
            ids = [p for g in groups for p in g.photo_ids]
            files = {f.id: f for f in self.store.photo_files(ids)}
            return groups, files, {p: self.store.thumbnail(p) for p in ids}

        run_task(load, on_done=self._show, on_failed=self._failed)

    def _failed(self, message: str) -> None:
        self.summary.setText(f"Couldn't look for copies: {message}")

    def _show(self, loaded: tuple[list[Group], dict[int, Any], dict[int, bytes | None]]) -> None:
        groups, files, thumbs = loaded
        self.tree.clear()
        by_kind: dict[str, QTreeWidgetItem] = {}
        for g in groups:
            if g.kind not in by_kind:
                header = QTreeWidgetItem([KIND_NAMES[g.kind]])
                font = header.font(0)
                font.setBold(True)
                header.setFont(0, font)
                self.tree.addTopLevelItem(header)
                by_kind[g.kind] = header
            keeper = files.get(g.keeper)
            title = os.path.basename(keeper.path) if keeper else "?"
            item = QTreeWidgetItem([f"{title} and {len(g.rest)} more"])
            item.setData(0, GroupRole, g)
            by_kind[g.kind].addChild(item)
            for pid in g.photo_ids:
                f = files.get(pid)
                if f is None:
                    continue
                size = f"{f.width}×{f.height}" if f.width and f.height else ""
                name = os.path.basename(f.path) + ("  — keep" if pid == g.keeper else "")
                row = QTreeWidgetItem(
                    [name, size, (f.taken_at or "").replace("T", " "), os.path.dirname(f.path)]
                )
                row.setData(0, GroupRole, g)
                row.setToolTip(0, f.path)
                jpeg = thumbs.get(pid)
                if jpeg:
                    pixmap = QPixmap()
                    if pixmap.loadFromData(jpeg):
                        row.setIcon(
                            0, QIcon(pixmap.scaled(ICON, ICON, Qt.AspectRatioMode.KeepAspectRatio))
                        )
                item.addChild(row)
        self.tree.expandAll()
        counts = {k: sum(1 for g in groups if g.kind == k) for k in KIND_NAMES}
        if not groups:
            self.summary.setText("No copies found.")
        else:
            parts = [f"{n} group{'s' if n != 1 else ''} of {KIND_NAMES[k].lower()}"
                     for k, n in counts.items() if n]  # fmt: skip
            self.summary.setText(
                ", ".join(parts) + ". The suggested keeper (largest, original format, "
                "earliest) is first in each group."
            )
        self._update_buttons()

    # -- resolving -------------------------------------------------------------------------

    def selected_group(self) -> Group | None:
        item = self.tree.currentItem()
        group = item.data(0, GroupRole) if item is not None else None
        return group if isinstance(group, Group) else None

    def _resolve(self, action: Any) -> None:
        group = self.selected_group()
        if group is None:
            return
        try:
            self._undo.append(action(group))
        except PhotoclipError as exc:
            self.summary.setText(str(exc))
            return
        self.refresh(scan=False)

    def _trash_rest(self) -> None:
        group = self.selected_group()
        if group is None or self.trash is None:
            return
        names = [os.path.basename(f.path) for f in self.store.photo_files(group.rest)]
        self.trash.ask_to_move(group.rest, names)

    def _undo_last(self) -> None:
        if self._undo:
            self.finder.undo(self._undo.pop())
            self.refresh(scan=False)

    def _update_buttons(self) -> None:
        chosen = self.selected_group() is not None
        self.keep_all.setEnabled(chosen)
        self.hide_rest.setEnabled(chosen)
        self.trash_rest.setEnabled(chosen)
        self.undo_button.setEnabled(bool(self._undo))

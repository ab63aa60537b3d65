"""The Things window: what is in the library's photos, found without tags (things.py), with how
many photos show each; a thing's photos; and the user's own things."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QInputDialog,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QWidget,
)

from ..errors import PhotoclipError
from ..things import Labels, Things
from .panels import lay_out_window
from .tasks import run_task

NameRole = Qt.ItemDataRole.UserRole + 1
ICON = 96
MAX_SHOWN = 300  # a thing's photos shown at once


class ThingsView(QDialog):
    def __init__(self, things: Things, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.things = things
        self.store = things.store
        self.labels: Labels | None = None
        self.setWindowTitle("Things")
        self.resize(820, 560)
        self.summary = QLabel("Finding things in your photos…")
        self.summary.setWordWrap(True)
        self.list = QListWidget()
        self.list.setAccessibleName("Things")
        self.photos = QListWidget()
        self.photos.setViewMode(QListView.ViewMode.IconMode)
        self.photos.setIconSize(QSize(ICON, ICON))
        self.photos.setResizeMode(QListView.ResizeMode.Adjust)
        self.photos.setAccessibleName("Photos of the thing")
        split = QSplitter()
        split.addWidget(self.list)
        split.addWidget(self.photos)
        split.setStretchFactor(1, 3)
        self.add_button = QPushButton("Add a Thing…")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Forget a thing you added")
        lay_out_window(self, self.summary, split, (self.add_button, self.remove_button))
        self.list.currentItemChanged.connect(lambda *_: self._show_thing())
        self.add_button.clicked.connect(self._add)
        self.remove_button.clicked.connect(self._remove)

    def refresh(self) -> None:
        run_task(self.things.labels, on_done=self._show, on_failed=self._failed)

    def _failed(self, message: str) -> None:
        self.summary.setText(f"Couldn't find things: {message}")

    def _show(self, labels: Labels | None) -> None:
        if labels is None:
            return
        self.labels = labels
        counts = labels.counts()
        current = self.current_thing()
        self.list.clear()
        shown = [t for t in self.things.things() if counts.get(t.name) or t.user]
        shown.sort(key=lambda t: (-counts.get(t.name, 0), t.name.lower()))
        for t in shown:
            item = QListWidgetItem(f"{t.name}  ({counts.get(t.name, 0):,})")
            item.setData(NameRole, t.name)
            if t.user:
                item.setToolTip("A thing you added")
            self.list.addItem(item)
            if t.name == current:
                self.list.setCurrentItem(item)
        found = sum(1 for t in shown if counts.get(t.name))
        self.summary.setText(
            f"{found} thing{'s' if found != 1 else ''} found in {labels.rows:,} photos, "
            f"without any tags. A thing lists only photos it is clearly about."
            if found
            else "No things found in these photos yet."
        )

    def current_thing(self) -> str | None:
        item = self.list.currentItem()
        return item.data(NameRole) if item is not None else None

    def _show_thing(self) -> None:
        self.photos.clear()
        name = self.current_thing()
        if name is None or self.labels is None:
            return
        ids = [int(i) for i in self.labels.photos.get(name, [])][:MAX_SHOWN]

        def load() -> list[tuple[str, bytes | None]]:
            rows = self.store.photos_by_id(ids)
            return [(r["path"], self.store.thumbnail(r["id"])) for r in rows]

        def show(found: list[tuple[str, Any]]) -> None:
            if self.current_thing() != name:
                return
            for path, jpeg in found:
                item = QListWidgetItem(os.path.basename(path))
                item.setToolTip(path)
                pixmap = QPixmap()
                if jpeg and pixmap.loadFromData(jpeg):
                    item.setIcon(QIcon(pixmap))
                self.photos.addItem(item)

        run_task(load, on_done=show)

    def _add(self) -> None:
        phrase, ok = QInputDialog.getText(
            self, "Add a Thing", 'A word or short phrase for what to find ("a red bike"):'
        )
        if not ok:
            return
        try:
            self.things.add(phrase)
        except PhotoclipError as exc:
            self.summary.setText(str(exc))
            return
        self.summary.setText("Finding it in your photos…")
        self.refresh()

    def _remove(self) -> None:
        name = self.current_thing()
        if name is not None and not self.things.remove(name):
            self.summary.setText("Only things you added can be removed.")
            return
        self.refresh()

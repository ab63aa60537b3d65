"""The Problems view: files that couldn't be indexed, each with its folder and the reason in
words; Copy Path and Show in Folder from the context menu."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from . import format as fmt


class ProblemsView(QWidget):
    retryClicked = Signal()
    showInFolder = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel()
        font = self.summary.font()
        font.setBold(True)
        self.summary.setFont(font)
        self.retry = QPushButton("Try Again")
        self.retry.setToolTip("Index these files again (after fixing them, or a drive is back)")
        self.tree = QTreeWidget()
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["File", "Folder", "What went wrong"])
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setWordWrap(False)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 240)
        header.resizeSection(1, 240)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.retry)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        self.retry.clicked.connect(self.retryClicked)
        self.tree.itemActivated.connect(
            lambda item, _col: self.showInFolder.emit(item.data(0, Qt.ItemDataRole.UserRole))
        )
        copy = QShortcut(QKeySequence(QKeySequence.StandardKey.Copy), self.tree)
        copy.setContext(Qt.ShortcutContext.WidgetShortcut)
        copy.activated.connect(self.copy_paths)

    def selected_paths(self) -> list[str]:
        items = self.tree.selectedItems()
        current = self.tree.currentItem()
        if not items and current is not None:
            items = [current]
        return [str(item.data(0, Qt.ItemDataRole.UserRole)) for item in items]

    def copy_paths(self) -> None:
        """The selected files' full paths, one a line, on the clipboard."""
        paths = self.selected_paths()
        if paths:
            QGuiApplication.clipboard().setText("\n".join(paths))

    def context_menu(self) -> QMenu:
        menu = QMenu(self)
        paths = self.selected_paths()
        menu.addAction("Copy Path" if len(paths) == 1 else "Copy Paths", self.copy_paths)
        show = menu.addAction("Show in Folder", lambda: self.showInFolder.emit(paths[0]))
        show.setEnabled(len(paths) == 1)
        return menu

    def _context_menu(self, pos: QPoint) -> None:
        if self.tree.itemAt(pos) is not None:
            self.context_menu().exec(self.tree.viewport().mapToGlobal(pos))

    def set_problems(self, problems: list[Any]) -> None:
        """``problems``: store.Problem rows."""
        self.tree.clear()
        items = []
        for p in problems:
            folder = os.path.dirname(p.path)
            item = QTreeWidgetItem([os.path.basename(p.path) or p.path, folder, p.reason])
            item.setToolTip(0, p.path)
            item.setToolTip(1, folder)
            item.setToolTip(2, p.reason)
            item.setData(0, Qt.ItemDataRole.UserRole, p.path)
            items.append(item)
        self.tree.addTopLevelItems(items)
        if problems:
            self.summary.setText(
                f"{fmt.count(len(problems), 'file')} couldn't be indexed. "
                "Double-click one to see it in its folder; right-click to copy its path."
            )
        else:
            self.summary.setText("No problems: every photo file was indexed.")
        self.retry.setEnabled(bool(problems))

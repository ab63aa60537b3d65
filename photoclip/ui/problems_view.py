"""The Problems view: files that couldn't be indexed, each with the reason in words."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
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
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["File", "What went wrong"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setWordWrap(False)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.resizeSection(0, 320)
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

    def set_problems(self, problems: list[Any]) -> None:
        """``problems``: store.Problem rows."""
        self.tree.clear()
        items = []
        for p in problems:
            item = QTreeWidgetItem([os.path.basename(p.path) or p.path, p.reason])
            item.setToolTip(0, p.path)
            item.setToolTip(1, p.reason)
            item.setData(0, Qt.ItemDataRole.UserRole, p.path)
            items.append(item)
        self.tree.addTopLevelItems(items)
        if problems:
            self.summary.setText(
                f"{fmt.count(len(problems), 'file')} couldn't be indexed. "
                "Double-click one to see it in its folder."
            )
        else:
            self.summary.setText("No problems: every photo file was indexed.")
        self.retry.setEnabled(bool(problems))

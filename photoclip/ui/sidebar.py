"""The library sidebar: "All photos", each library folder with its photo count, and the
Problems view, with Add Folder… and Remove from library below."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from . import format as fmt

KindRole = Qt.ItemDataRole.UserRole + 1
FolderIdRole = Qt.ItemDataRole.UserRole + 2
CountRole = Qt.ItemDataRole.UserRole + 3

ALL, FOLDER, PROBLEMS = "all", "folder", "problems"


@dataclass(frozen=True)
class Selection:
    kind: str  # ALL, FOLDER or PROBLEMS
    folder_id: int | None = None
    path: str = ""


class _CountDelegate(QStyledItemDelegate):
    """The item as the style draws it, with its count right-aligned in a quieter colour."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        count = index.data(CountRole)
        text = f"{count:,}" if isinstance(count, int) else ""
        rect: QRect = opt.rect
        metrics = opt.fontMetrics
        count_width = metrics.horizontalAdvance(text) + 16 if text else 0
        icon_width = opt.decorationSize.width() + 16
        room = max(20, rect.width() - icon_width - count_width)
        opt.text = metrics.elidedText(opt.text, Qt.TextElideMode.ElideMiddle, room)
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        if text:
            selected = bool(opt.state & QStyle.StateFlag.State_Selected)
            role = (
                QPalette.ColorRole.HighlightedText
                if selected
                else QPalette.ColorRole.PlaceholderText
            )
            painter.save()
            painter.setPen(opt.palette.color(role))
            painter.drawText(
                rect.adjusted(0, 0, -8, 0),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                text,
            )
            painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Any) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), max(size.height(), 28))


class Sidebar(QWidget):
    selectionChanged = Signal(object)  # Selection
    addFolderRequested = Signal()
    removeFolderRequested = Signal(int, str)  # folder id, path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        style = self.style()
        title = QLabel("Library")
        title.setObjectName("sidebarTitle")
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        self.list = QListWidget()
        self.list.setItemDelegate(_CountDelegate(self.list))
        self.list.setFrameShape(QListWidget.Shape.NoFrame)
        self.list.setIconSize(QSize(18, 18))
        self.list.setAccessibleName("Library folders")
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.add_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogNewFolder), "Add Folder…"
        )
        self.add_button.setToolTip("Add a folder of photos to the library (Ctrl+O)")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip(
            "Remove the selected folder from the library. The photos on disk are not touched."
        )
        self.remove_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.add_button, 1)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 6, 10)
        layout.setSpacing(8)
        layout.addWidget(title)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

        self._all = QListWidgetItem(
            style.standardIcon(QStyle.StandardPixmap.SP_DirHomeIcon), "All photos"
        )
        self._all.setData(KindRole, ALL)
        self.list.addItem(self._all)
        self._problems = QListWidgetItem(
            style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning), "Problems"
        )
        self._problems.setData(KindRole, PROBLEMS)
        self._problems.setToolTip("Files that couldn't be indexed, and why")
        self.list.addItem(self._problems)
        self._problems.setHidden(True)
        self.list.setCurrentItem(self._all)
        self.list.currentItemChanged.connect(self._on_current)
        self.add_button.clicked.connect(self.addFolderRequested)
        self.remove_button.clicked.connect(self._on_remove)

    def current(self) -> Selection:
        item = self.list.currentItem()
        if item is None or item.data(KindRole) == ALL:
            return Selection(ALL)
        if item.data(KindRole) == PROBLEMS:
            return Selection(PROBLEMS)
        return Selection(FOLDER, int(item.data(FolderIdRole)), item.toolTip())

    def select_all_photos(self) -> None:
        self.list.setCurrentItem(self._all)

    def select_problems(self) -> None:
        self._problems.setHidden(False)
        self.list.setCurrentItem(self._problems)

    def set_folders(self, folders: list[Any], total: int, problems: int) -> None:
        """``folders``: store.Folder rows. Keeps the selection where it was."""
        current = self.current()
        self.list.blockSignals(True)
        while self.list.count() > 2:
            self.list.takeItem(1)
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_DirIcon)
        missing_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_DriveNetIcon)
        for i, folder in enumerate(folders, start=1):
            name = os.path.basename(folder.path.rstrip(os.sep)) or folder.path
            item = QListWidgetItem(missing_icon if folder.missing else icon, name)
            item.setData(KindRole, FOLDER)
            item.setData(FolderIdRole, folder.id)
            item.setData(CountRole, folder.photo_count)
            tip = f"{folder.path}\n{fmt.count(folder.photo_count, 'photo')}"
            if folder.problem_count:
                tip += f", {fmt.count(folder.problem_count, 'problem')}"
            if folder.missing:
                tip += ". Missing (unplugged?): its photos stay in the library until it's back"
                item.setForeground(self.palette().color(QPalette.ColorRole.PlaceholderText))
            item.setToolTip(tip if folder.missing else folder.path)
            item.setStatusTip(tip)
            self.list.insertItem(i, item)
            if current.kind == FOLDER and current.folder_id == folder.id:
                self.list.setCurrentItem(item)
        self._all.setData(CountRole, total)
        self._problems.setData(CountRole, problems)
        self._problems.setHidden(problems == 0 and current.kind != PROBLEMS)
        if self.list.currentItem() is None or (
            current.kind == FOLDER and self.current().folder_id != current.folder_id
        ):
            self.list.setCurrentItem(self._all)
        self.list.blockSignals(False)
        self._update_buttons()
        if self.current() != current:
            self.selectionChanged.emit(self.current())

    def _on_current(self, *args: object) -> None:
        self._update_buttons()
        self.selectionChanged.emit(self.current())

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.current().kind == FOLDER)

    def _on_remove(self) -> None:
        sel = self.current()
        if sel.kind == FOLDER and sel.folder_id is not None:
            self.removeFolderRequested.emit(sel.folder_id, sel.path)

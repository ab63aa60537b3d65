"""The library sidebar: "All photos", each library folder with its photo count and the
Problems view (with Add Folder… and Remove below); then Favourites, the albums (with New
Album…) and any other section of places (places.py) the sources give."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QPainter,
    QPalette,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from .. import places as pl
from . import format as fmt
from .collection_icons import album_icon, heart_icon, plus_icon

KindRole = Qt.ItemDataRole.UserRole + 1
FolderIdRole = Qt.ItemDataRole.UserRole + 2
CountRole = Qt.ItemDataRole.UserRole + 3
PlaceRole = Qt.ItemDataRole.UserRole + 4  # a places.Place (the lower list)

ALL, FOLDER, PROBLEMS = pl.ALL, pl.FOLDER, pl.PROBLEMS
FAVOURITES, ALBUM = pl.FAVOURITES, pl.ALBUM
HEADER, NEW_ALBUM = "header", "new-album"  # lower-list items that aren't places


@dataclass(frozen=True)
class Selection:
    kind: str  # ALL, FOLDER, PROBLEMS, FAVOURITES, ALBUM, or another source's kind
    folder_id: int | None = None
    path: str = ""
    album_id: int | None = None
    key: str = ""  # the place's key ("album:3"); "" for the upper list's places
    name: str = ""

    @property
    def favourites(self) -> bool:
        return self.kind == FAVOURITES

    @property
    def scope(self) -> pl.Scope:
        return pl.Scope(
            folder_id=self.folder_id if self.kind == FOLDER else None,
            album_id=self.album_id,
            favourites=self.favourites,
        )


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


class PlacesList(QListWidget):
    """The lower list: Favourites, the albums, other sources' places. Photos dragged from the
    grid can be dropped on a place that takes them (an album)."""

    photosDropped = Signal(object, list)  # places.Place, [paths]
    contextMenuWanted = Signal(object, QPoint)  # the item's Place or None, global position

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._drop_item: QListWidgetItem | None = None

    def place_at(self, pos: QPoint) -> pl.Place | None:
        item = self.itemAt(pos)
        place = item.data(PlaceRole) if item is not None else None
        return place if isinstance(place, pl.Place) else None

    def _is_photo_drag(self, event: QDragEnterEvent | QDragMoveEvent | QDropEvent) -> bool:
        # Photo files (from the grid, or a file manager); folders go on to the window, which
        # adds them to the library.
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        return any(u.isLocalFile() and not os.path.isdir(u.toLocalFile()) for u in urls)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._is_photo_drag(event):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        place = self.place_at(event.position().toPoint())
        target = self.itemAt(event.position().toPoint()) if place else None
        self._mark_drop(target if place is not None and place.accepts_photos else None)
        if self._drop_item is not None and self._is_photo_drag(event):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._mark_drop(None)

    def dropEvent(self, event: QDropEvent) -> None:
        place = self.place_at(event.position().toPoint())
        self._mark_drop(None)
        if place is None or not place.accepts_photos or not self._is_photo_drag(event):
            event.ignore()
            return
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        if paths:
            self.photosDropped.emit(place, paths)

    def _mark_drop(self, item: QListWidgetItem | None) -> None:
        if item is self._drop_item:
            return
        if self._drop_item is not None:
            self._drop_item.setBackground(Qt.BrushStyle.NoBrush)
        self._drop_item = item
        if item is not None:
            colour = QColor(self.palette().color(QPalette.ColorRole.Highlight))
            colour.setAlpha(90)
            item.setBackground(colour)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        self.contextMenuWanted.emit(self.place_at(event.pos()), event.globalPos())


class Sidebar(QWidget):
    selectionChanged = Signal(object)  # Selection
    addFolderRequested = Signal()
    removeFolderRequested = Signal(int, str)  # folder id, path
    newAlbumRequested = Signal()
    renameAlbumRequested = Signal(int, str)  # album id, its name
    deleteAlbumRequested = Signal(int, str)  # album id, its name
    exportAlbumRequested = Signal(int, str)  # album id, its name
    photosDropped = Signal(object, list)  # places.Place, [paths]

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
        self.places = PlacesList()
        self.places.setItemDelegate(_CountDelegate(self.places))
        self.places.setFrameShape(QListWidget.Shape.NoFrame)
        self.places.setIconSize(QSize(18, 18))
        self.places.setAccessibleName("Favourites and albums")
        self.places.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
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
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        layout.addWidget(self.places, 1)

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
        self._current = Selection(ALL)
        self._sections: dict[str, list[pl.Place]] = {
            pl.LIBRARY: pl.library_places(0, 0)[1:],
            pl.ALBUMS: [],
        }
        self._fill_places()
        self.list.setCurrentItem(self._all)
        # A row is chosen when it becomes current *and selected*: focus arriving by Tab makes
        # the first row current without selecting it (Qt's focusInEvent), which only shows
        # where the keyboard is; Space, a click or an arrow key then selects.
        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemSelectionChanged.connect(lambda: self._on_current(self.list.currentItem()))
        self.places.currentItemChanged.connect(self._on_place_current)
        self.places.itemSelectionChanged.connect(
            lambda: self._on_place_current(self.places.currentItem())
        )
        self.places.itemClicked.connect(self._on_place_clicked)
        self.places.itemActivated.connect(self._on_place_clicked)
        self.places.photosDropped.connect(self.photosDropped)
        self.places.contextMenuWanted.connect(self._place_menu)
        self.add_button.clicked.connect(self.addFolderRequested)
        self.remove_button.clicked.connect(self._on_remove)
        self._fit_list()

    # -- what is chosen ----------------------------------------------------------------------

    def current(self) -> Selection:
        return self._current

    def select_all_photos(self) -> None:
        self.list.setCurrentItem(self._all)

    def select_problems(self) -> None:
        self._problems.setHidden(False)
        self._fit_list()
        self.list.setCurrentItem(self._problems)

    def select_place(self, key: str) -> bool:
        """Choose the lower list's place with this key ("favourites", "album:3")."""
        item = self._place_item(key)
        if item is not None:
            self.places.setCurrentItem(item)
        return item is not None

    def place_item(self, key: str) -> QListWidgetItem | None:
        return self._place_item(key)

    # -- filling -----------------------------------------------------------------------------

    def set_folders(self, folders: list[Any], total: int, problems: int) -> None:
        """``folders``: store.Folder rows. Keeps the selection where it was."""
        current = self.current()
        in_upper = current.kind in (ALL, FOLDER, PROBLEMS)
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
            if in_upper and current.kind == FOLDER and current.folder_id == folder.id:
                self.list.setCurrentItem(item)
        self._all.setData(CountRole, total)
        self._problems.setData(CountRole, problems)
        self._problems.setHidden(problems == 0 and current.kind != PROBLEMS)
        if in_upper and (
            self.list.currentItem() is None
            or (current.kind == FOLDER and self._upper_selection().folder_id != current.folder_id)
        ):
            self.list.setCurrentItem(self._all)
        self.list.blockSignals(False)
        self._fit_list()
        if in_upper:
            self._current = self._upper_selection()
        self._update_buttons()
        if self.current() != current:
            self.selectionChanged.emit(self.current())

    def set_places(self, sections: dict[str, list[pl.Place]]) -> None:
        """The places of the lower list, by section (places.collect). Keeps the chosen place;
        if it is gone (an album deleted), All photos is chosen."""
        self._sections = {k: v for k, v in sections.items() if k != pl.LIBRARY}
        self._sections[pl.LIBRARY] = [p for p in sections.get(pl.LIBRARY, []) if p.kind != ALL]
        for place in sections.get(pl.LIBRARY, []):
            if place.kind == ALL and place.count is not None:
                self._all.setData(CountRole, place.count)
        current = self.current()
        self._fill_places()
        if current.key:
            if self._place_item(current.key) is None:
                self.select_all_photos()
            else:
                self._current = self._selection_of(self._place_item(current.key))
                if self._current != current:  # renamed: the window may show its name
                    self.selectionChanged.emit(self._current)

    def _fill_places(self) -> None:
        self.places.blockSignals(True)
        self.places.clear()
        colour = self.palette().color(QPalette.ColorRole.WindowText)
        for section in pl.SECTIONS:
            entries = self._sections.get(section, [])
            if section != pl.LIBRARY and (entries or section == pl.ALBUMS):
                header = QListWidgetItem(section)
                header.setData(KindRole, HEADER)
                header.setFlags(Qt.ItemFlag.NoItemFlags)
                font = header.font()
                font.setBold(True)
                header.setFont(font)
                header.setForeground(colour)
                self.places.addItem(header)
            for place in entries:
                item = QListWidgetItem(self._icon(place.icon), place.name)
                item.setData(KindRole, place.kind)
                item.setData(PlaceRole, place)
                item.setData(CountRole, place.count)
                item.setToolTip(place.tooltip or place.name)
                if place.muted:
                    item.setForeground(self.palette().color(QPalette.ColorRole.PlaceholderText))
                self.places.addItem(item)
                if place.key == self._current.key:
                    self.places.setCurrentItem(item)
            if section == pl.ALBUMS:
                new = QListWidgetItem(plus_icon(colour), "New Album…")
                new.setData(KindRole, NEW_ALBUM)
                new.setFlags(Qt.ItemFlag.ItemIsEnabled)
                new.setToolTip("Make an album, then drag photos onto it")
                self.places.addItem(new)
        self.places.blockSignals(False)

    def _icon(self, name: str) -> Any:
        style = self.style()
        if name == "heart":
            return heart_icon()
        if name == "album":
            return album_icon(self.palette().color(QPalette.ColorRole.WindowText))
        if name == "folder":
            return style.standardIcon(QStyle.StandardPixmap.SP_DirIcon)
        if name == "warning":
            return style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        return style.standardIcon(QStyle.StandardPixmap.SP_FileDialogContentsView)

    def _place_item(self, key: str) -> QListWidgetItem | None:
        for i in range(self.places.count()):
            place = self.places.item(i).data(PlaceRole)
            if isinstance(place, pl.Place) and place.key == key:
                return self.places.item(i)
        return None

    # -- reacting ----------------------------------------------------------------------------

    def _upper_selection(self) -> Selection:
        item = self.list.currentItem()
        if item is None or item.data(KindRole) == ALL:
            return Selection(ALL)
        if item.data(KindRole) == PROBLEMS:
            return Selection(PROBLEMS)
        return Selection(FOLDER, int(item.data(FolderIdRole)), item.toolTip().split("\n")[0])

    @staticmethod
    def _selection_of(item: QListWidgetItem | None) -> Selection:
        place = item.data(PlaceRole) if item is not None else None
        if not isinstance(place, pl.Place):
            return Selection(ALL)
        return Selection(
            place.kind, place.folder_id, place.path, place.album_id, place.key, place.name
        )

    def _on_current(self, item: QListWidgetItem | None, *args: object) -> None:
        if item is None or not item.isSelected():
            return
        chosen = self._upper_selection()
        if chosen == self._current and self.places.currentItem() is None:
            return
        self._current = chosen
        self.places.blockSignals(True)
        self.places.setCurrentRow(-1)
        self.places.clearSelection()
        self.places.blockSignals(False)
        self._update_buttons()
        self.selectionChanged.emit(self.current())

    def _on_place_current(self, item: QListWidgetItem | None, *args: object) -> None:
        if item is None or not item.isSelected() or not isinstance(item.data(PlaceRole), pl.Place):
            return
        chosen = self._selection_of(item)
        if chosen == self._current and self.list.currentItem() is None:
            return
        self._current = chosen
        self.list.blockSignals(True)
        self.list.setCurrentRow(-1)
        self.list.clearSelection()
        self.list.blockSignals(False)
        self._update_buttons()
        self.selectionChanged.emit(self.current())

    def _on_place_clicked(self, item: QListWidgetItem) -> None:
        if item.data(KindRole) == NEW_ALBUM:
            self.newAlbumRequested.emit()

    def _place_menu(self, place: pl.Place | None, pos: QPoint) -> None:
        self.place_menu(place).exec(pos)

    def place_menu(self, place: pl.Place | None) -> QMenu:
        """The context menu of a place in the lower list (or of the list, for None)."""
        menu = QMenu(self)
        if place is not None and place.kind == ALBUM and place.album_id is not None:
            aid, name = place.album_id, place.name
            menu.addAction("Rename Album…", lambda: self.renameAlbumRequested.emit(aid, name))
            menu.addAction("Export Album…", lambda: self.exportAlbumRequested.emit(aid, name))
            menu.addSeparator()
            menu.addAction("Delete Album…", lambda: self.deleteAlbumRequested.emit(aid, name))
            menu.addSeparator()
        menu.addAction("New Album…", self.newAlbumRequested.emit)
        return menu

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.current().kind == FOLDER)

    def _on_remove(self) -> None:
        sel = self.current()
        if sel.kind == FOLDER and sel.folder_id is not None:
            self.removeFolderRequested.emit(sel.folder_id, sel.path)

    # -- size --------------------------------------------------------------------------------

    def _fit_list(self) -> None:
        """The upper list is as tall as its rows (up to half the sidebar); the lower one has
        the rest."""
        rows = [i for i in range(self.list.count()) if not self.list.item(i).isHidden()]
        height = sum(self.list.sizeHintForRow(i) for i in rows) + 4
        cap = max(3 * 28, self.height() // 2) if self.height() > 0 else height
        self.list.setFixedHeight(min(height, cap))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_list()

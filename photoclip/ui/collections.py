"""The window's side of what the user collects: albums and Favourites in the sidebar (kept
counted), the photo actions on them (Favourite, Add to Album, Remove from Album, Export…,
Move to Trash with Undo), their menu and shortcuts, and the hearts on the grid's tiles."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRect, QRectF, Signal, SignalInstance
from PySide6.QtGui import QAction, QCursor, QKeySequence, QPainter, QRegion
from PySide6.QtWidgets import (
    QApplication,
    QInputDialog,
    QLineEdit,
    QMenu,
    QMenuBar,
    QMessageBox,
    QStyleOptionViewItem,
    QWidget,
)

from .. import places as pl
from .collection_icons import paint_heart
from .export_dialog import Exporter
from .grid_model import PhotoGridModel, PhotoIdRole
from .grid_view import ThumbnailDelegate
from .search_controller import SearchController
from .search_worker import Query
from .sidebar import ALBUM, FAVOURITES, Sidebar
from .tasks import run_task
from .trash import TrashController

FAVOURITE_KEYS = "Ctrl+D"
ADD_TO_ALBUM_KEYS = "Ctrl+Shift+A"
EXPORT_KEYS = "Ctrl+E"
TRASH_KEYS = QKeySequence.StandardKey.Delete


def _n(count: int) -> str:
    return f"{count:,} photo{'s' if count != 1 else ''}"


def _create_and_add(store: Any, name: str, ids: list[int]) -> tuple[int, str, int]:
    album_id = store.create_album(name)
    added = store.add_to_album(album_id, ids) if ids else 0
    return album_id, store.album(album_id).name, added


def _rename(store: Any, album_id: int, name: str) -> str:
    store.rename_album(album_id, name)
    return str(store.album(album_id).name)


def name_dialog(owner: Any, parent: QWidget, title: str, label: str, text: str) -> QInputDialog:
    """A dialog asking for a name, not opened yet. ``owner.name_dialog`` holds it until it
    closes (so the owner, and tests, can find the one that is open)."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setLabelText(label)
    dialog.setTextValue(text)
    dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)

    def closed(_: int) -> None:
        if owner.name_dialog is dialog:
            owner.name_dialog = None
        dialog.deleteLater()

    dialog.finished.connect(closed)
    owner.name_dialog = dialog
    return dialog


class HeartDelegate(ThumbnailDelegate):
    """The grid's tiles, with a heart on the favourites (a set lookup: no I/O in paint)."""

    def __init__(self, loader: Any, parent: QWidget, is_favourite: Callable[[int], bool]) -> None:
        super().__init__(loader, parent)
        self.is_favourite = is_favourite
        self._bounds: dict[tuple[int, int], QRectF] = {}

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Any) -> None:
        super().paint(painter, option, index)
        pid = index.data(PhotoIdRole)
        if pid is None or not self.is_favourite(int(pid)):
            return
        rect: QRect = option.rect
        side = self.loader.side
        tile = QRectF(
            rect.x() + (rect.width() - side) // 2, rect.y() + (rect.height() - side) // 2,
            side, side,
        )  # fmt: skip
        dpr = painter.device().devicePixelRatioF() if painter.device() else 1.0
        photo = self._photo_rect(int(pid), dpr, tile)
        h = max(12.0, min(side, photo.height() * 1.5) / 9)
        paint_heart(painter, QRectF(photo.left() + 7, photo.bottom() - 7 - h, h * 1.1, h))

    def _photo_rect(self, photo_id: int, dpr: float, tile: QRectF) -> QRectF:
        """Where the photo is in its tile: all of it, or (whole photos, shape kept) the part
        its thumbnail covers, so the heart sits on the photo. Measured once per thumbnail."""
        pix = self.loader.pixmap(photo_id, dpr) if getattr(self.loader, "whole", False) else None
        if pix is None:
            return tile
        key = (photo_id, pix.cacheKey())
        found = self._bounds.get(key)
        if found is None:
            mask = pix.mask()
            box = QRegion(mask).boundingRect() if not mask.isNull() else pix.rect()
            scale = pix.devicePixelRatio() or 1.0
            found = QRectF(box.x() / scale, box.y() / scale, box.width() / scale,
                           box.height() / scale)  # fmt: skip
            if len(self._bounds) > 4096:
                self._bounds.clear()
            self._bounds[key] = found
        return found.translated(tile.topLeft())


class CollectionsController(QObject):
    """Built by the window with the parts it uses; ``refresh`` after the library changed."""

    favouritesChanged = Signal(list, bool)  # photo ids, now favourite or not
    photosRemoved = Signal(list)  # photo ids that left the grid (trashed, or out of its place)
    message = Signal(str)

    def __init__(
        self,
        store: Any,
        sidebar: Sidebar,
        model: PhotoGridModel,
        grid: Any,
        search: SearchController,
        photo_actions: Any,
        selected_paths: Callable[[], list[str]],
        host: QWidget,
        *,
        settings: Any,
        rescan: Callable[[list[str]], None] | None = None,
        library_changed: SignalInstance | None = None,
    ) -> None:
        super().__init__(host)
        self.store = store
        self.sidebar = sidebar
        self.model = model
        self.grid = grid
        self.search = search
        self.host = host
        self.selected_paths = selected_paths
        self.favourites: set[int] = set()
        self.albums: list[pl.Place] = []
        self.name_dialog: QInputDialog | None = None
        self.confirm_box: QMessageBox | None = None
        self._refreshes = 0
        self.trash = TrashController(store, host, rescan)
        self.exporter = Exporter(store, settings, host)
        grid.setItemDelegate(HeartDelegate(grid.loader, grid, self.is_favourite))

        sidebar.newAlbumRequested.connect(lambda: self.new_album([]))
        sidebar.renameAlbumRequested.connect(self.rename_album)
        sidebar.deleteAlbumRequested.connect(self.delete_album)
        sidebar.exportAlbumRequested.connect(self.export_album)
        sidebar.photosDropped.connect(self._on_dropped)
        photo_actions.menu_hooks.append(self.fill_menu)
        self.trash.trashed.connect(self._on_trashed)
        self.trash.restored.connect(self._on_restored)
        self.trash.message.connect(self.message)
        self.exporter.message.connect(self.message)
        self.message.connect(photo_actions.message)
        if library_changed is not None:
            library_changed.connect(self.refresh)
            library_changed.connect(self.trash.library_updated)
        self._build_actions()

    # -- actions, menus ----------------------------------------------------------------------

    def _build_actions(self) -> None:
        host = self.host

        def action(text: str, slot: Callable[[], Any], keys: Any = None) -> QAction:
            act = QAction(text, host)
            act.triggered.connect(slot)
            if keys is not None:
                act.setShortcut(QKeySequence(keys))
            host.addAction(act)
            return act

        self.favourite_action = action("&Favourite", self.toggle_selected, FAVOURITE_KEYS)
        self.add_action = action("&Add to Album…", self.add_selected_menu, ADD_TO_ALBUM_KEYS)
        self.remove_action = action("&Remove from Album", self.remove_selected_from_album)
        self.export_action = action("&Export…", self.export_selected, EXPORT_KEYS)
        self.trash_action = action("Move to &Trash…", self.trash_selected, TRASH_KEYS)
        self.new_album_action = action("&New Album…", lambda: self.new_album([]))

    def add_menu(self, bar: QMenuBar) -> QMenu:
        """A Photo menu, before Help."""
        menu = QMenu("&Photo", bar)
        for act in (self.favourite_action, self.add_action, self.remove_action):
            menu.addAction(act)
        menu.addSeparator()
        menu.addAction(self.new_album_action)
        menu.addSeparator()
        menu.addAction(self.export_action)
        menu.addSeparator()
        menu.addAction(self.trash_action)
        menu.addAction(self.trash.undo_action)
        help_menu = next((a for a in bar.actions() if a.text().replace("&", "") == "Help"), None)
        if help_menu is not None:
            bar.insertMenu(help_menu, menu)
        else:
            bar.addMenu(menu)
        menu.aboutToShow.connect(self._update_actions)
        self.photo_menu = menu
        # A disabled action's shortcut doesn't fire: the shortcuts work on what is selected
        # when they are pressed, whatever was selected when the menu was last open.
        menu.aboutToHide.connect(self._enable_actions)
        return menu

    def _enable_actions(self) -> None:
        for act in (self.favourite_action, self.add_action, self.remove_action,
                    self.export_action, self.trash_action):  # fmt: skip
            act.setEnabled(True)

    def _update_actions(self) -> None:
        ids = self.selected_ids()
        for act in (self.favourite_action, self.add_action, self.export_action,
                    self.trash_action):  # fmt: skip
            act.setEnabled(bool(ids))
        self.remove_action.setEnabled(bool(ids) and self.current_album() is not None)
        all_favourite = bool(ids) and all(i in self.favourites for i in ids)
        self.favourite_action.setText("Remove from &Favourites" if all_favourite else "&Favourite")

    def fill_menu(self, menu: QMenu, paths: list[str]) -> None:
        """The context menu's part (PhotoActions.menu_hooks)."""
        ids = self.ids_of(paths)
        if not ids:
            return
        menu.addSeparator()
        all_favourite = all(i in self.favourites for i in ids)
        fav = menu.addAction(
            "Remove from Favourites" if all_favourite else "Favourite",
            lambda: self.set_favourite(ids, not all_favourite),
        )
        fav.setShortcut(QKeySequence(FAVOURITE_KEYS))
        self._album_submenu(menu.addMenu("Add to Album"), ids)
        album = self.current_album()
        if album is not None:
            menu.addAction(
                f"Remove from “{album[1]}”", lambda: self.remove_from_album(album[0], ids)
            )
        menu.addSeparator()
        exp = menu.addAction("Export…", lambda: self.exporter.ask(ids))
        exp.setShortcut(QKeySequence(EXPORT_KEYS))
        menu.addSeparator()
        trash = menu.addAction(
            "Move to Trash…", lambda: self.trash.ask_to_move(ids, [p.split("/")[-1] for p in paths])
        )
        trash.setShortcut(QKeySequence(TRASH_KEYS))

    def _album_submenu(self, sub: QMenu, ids: list[int]) -> None:
        current = self.current_album()
        for place in self.albums:
            if place.album_id is None:
                continue
            act = sub.addAction(
                place.name, partial(self.add_to_album, place.album_id, place.name, ids)
            )
            act.setEnabled(current is None or current[0] != place.album_id)
        if self.albums:
            sub.addSeparator()
        sub.addAction("New Album…", lambda: self.new_album(ids))

    def add_selected_menu(self) -> None:
        ids = self.selected_ids()
        if ids:
            menu = QMenu(self.host)
            self._album_submenu(menu, ids)
            menu.popup(QCursor.pos())
            self.album_menu = menu

    # -- selection ---------------------------------------------------------------------------

    def ids_of(self, paths: Sequence[str]) -> list[int]:
        """The grid's photo ids for these paths (rows loaded in the grid; no I/O)."""
        wanted = set(paths)
        model = self.model
        found = {model.path(r): model.ids[r] for r in range(model.rowCount())
                 if model.path(r) in wanted}  # fmt: skip
        return [found[p] for p in paths if p in found]

    def selected_ids(self) -> list[int]:
        return self.ids_of(self.selected_paths())

    def current_album(self) -> tuple[int, str] | None:
        sel = self.sidebar.current()
        if sel.kind == ALBUM and sel.album_id is not None:
            return sel.album_id, sel.name
        return None

    # -- favourites --------------------------------------------------------------------------

    def is_favourite(self, photo_id: int) -> bool:
        return photo_id in self.favourites

    def toggle_selected(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.set_favourite(ids, not all(i in self.favourites for i in ids))

    def toggle_favourite(self, photo_id: int) -> None:
        """For the viewer's heart."""
        self.set_favourite([photo_id], photo_id not in self.favourites)

    def set_favourite(self, ids: list[int], favourite: bool) -> None:
        if favourite:
            self.favourites.update(ids)
        else:
            self.favourites.difference_update(ids)
        self.grid.viewport().update()
        self.favouritesChanged.emit(list(ids), favourite)
        if not favourite and self.sidebar.current().kind == FAVOURITES:
            self._remove_from_grid(ids)
        n = len(ids)
        self.message.emit(
            f"{'Marked' if favourite else 'Unmarked'} {_n(n)} as favourite{'s' if n != 1 else ''}."
        )
        run_task(self.store.set_favourite, ids, favourite, on_done=lambda _: self.refresh(),
                 on_failed=self._failed)  # fmt: skip

    # -- albums ------------------------------------------------------------------------------

    def add_to_album(self, album_id: int, name: str, ids: list[int]) -> None:
        def done(added: int) -> None:
            if added == 0:
                self.message.emit(f"Those photos are in “{name}” already.")
            else:
                self.message.emit(f"Added {_n(added)} to “{name}”.")
            self.refresh()

        run_task(self.store.add_to_album, album_id, ids, on_done=done, on_failed=self._failed)

    def remove_from_album(self, album_id: int, ids: list[int]) -> None:
        album = self.current_album()
        if album is not None and album[0] == album_id:
            self._remove_from_grid(ids)

        def done(removed: int) -> None:
            self.message.emit(f"Took {_n(removed)} out of the album; they stay in the library.")
            self.refresh()

        run_task(self.store.remove_from_album, album_id, ids, on_done=done,
                 on_failed=self._failed)  # fmt: skip

    def remove_selected_from_album(self) -> None:
        album, ids = self.current_album(), self.selected_ids()
        if album is not None and ids:
            self.remove_from_album(album[0], ids)

    def new_album(self, ids: list[int], name: str = "") -> None:
        """Ask for a name; make the album (with ``ids`` in it)."""
        dialog = self._name_dialog("New Album", "Name of the new album:", name)

        def chosen(text: str) -> None:
            run_task(_create_and_add, self.store, text, list(ids), on_done=made,
                     on_failed=lambda msg: retry(msg, text))  # fmt: skip

        def made(result: tuple[int, str, int]) -> None:
            album_id, album_name, added = result
            extra = f" with {_n(added)}" if added else ": drag photos onto it to add them"
            self.message.emit(f"Made the album “{album_name}”{extra}.")
            self.refresh(select=f"album:{album_id}" if not ids else "")

        def retry(message: str, text: str) -> None:
            self.message.emit(message)
            self.new_album(ids, text)

        dialog.textValueSelected.connect(chosen)
        dialog.open()

    def rename_album(self, album_id: int, name: str, typed: str = "") -> None:
        dialog = self._name_dialog("Rename Album", f"New name for “{name}”:", typed or name)

        def chosen(text: str) -> None:
            if text.strip() == name:
                return
            run_task(_rename, self.store, album_id, text, on_done=renamed,
                     on_failed=lambda msg: retry(msg, text))  # fmt: skip

        def renamed(new: str) -> None:
            self.message.emit(f"Renamed “{name}” to “{new}”.")
            self.refresh()

        def retry(message: str, text: str) -> None:
            self.message.emit(message)
            self.rename_album(album_id, name, text)

        dialog.textValueSelected.connect(chosen)
        dialog.open()

    def delete_album(self, album_id: int, name: str) -> None:
        box = QMessageBox(self.host)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Delete Album")
        box.setText(f"Delete the album “{name}”?")
        box.setInformativeText(
            "Only the album goes: its photos stay in your library and in their folders."
        )
        delete = box.addButton("Delete Album", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def answered(_: int) -> None:
            self.confirm_box = None
            if box.clickedButton() is delete:
                run_task(self.store.delete_album, album_id, on_done=deleted,
                         on_failed=self._failed)  # fmt: skip
            box.deleteLater()

        def deleted(_: object) -> None:
            self.message.emit(f"Deleted the album “{name}”; its photos are still in the library.")
            self.refresh()

        box.finished.connect(answered)
        self.confirm_box = box
        box.open()

    def export_album(self, album_id: int, name: str) -> None:
        run_task(self.store.album_photo_ids, album_id, on_done=self._export_ids)

    def _export_ids(self, ids: list[int]) -> None:
        if ids:
            self.exporter.ask(ids)
        else:
            self.message.emit("That album is empty: nothing to export.")

    def _name_dialog(self, title: str, label: str, text: str) -> QInputDialog:
        dialog = name_dialog(self, self.host, title, label, text)
        dialog.setOkButtonText("OK")
        dialog.resize(max(dialog.sizeHint().width(), 380), dialog.sizeHint().height())
        return dialog

    def _on_dropped(self, place: pl.Place, paths: list[str]) -> None:
        if place.album_id is None:
            return
        album_id, name = place.album_id, place.name
        ids = self.ids_of(paths)
        if len(ids) == len(paths):
            self.add_to_album(album_id, name, ids)
            return

        def found(result: tuple[list[int], list[str]]) -> None:
            known, unknown = result
            if known:
                self.add_to_album(album_id, name, known)
            if unknown:
                self.message.emit(
                    f"{_n(len(unknown))} aren't in the library (add their folder first), so "
                    "they weren't added."
                )

        run_task(self.store.photo_ids_at, paths, on_done=found, on_failed=self._failed)

    # -- export, trash -----------------------------------------------------------------------

    def export_selected(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.exporter.ask(ids)

    def trash_selected(self) -> None:
        focus = QApplication.focusWidget()
        if focus is not None and self.sidebar.isAncestorOf(focus):
            # Delete in the sidebar is about its place: an album is deleted (after asking);
            # photos selected in the grid behind it are not what the user is pointing at.
            album = self.current_album()
            if album is not None and self.sidebar.places.hasFocus():
                self.delete_album(*album)
            return
        paths = self.selected_paths()
        ids = self.ids_of(paths)
        if ids:
            self.trash.ask_to_move(ids, [p.split("/")[-1] for p in paths])

    def _remove_from_grid(self, ids: list[int]) -> None:
        self.model.remove_photos(set(ids))
        self.photosRemoved.emit(list(ids))

    def _on_trashed(self, ids: list[int]) -> None:
        self._remove_from_grid(ids)
        self.refresh()

    def _on_restored(self, paths: list[str]) -> None:
        self.refresh()

    # -- keeping counts ----------------------------------------------------------------------

    def refresh(self, *args: object, select: str = "") -> None:
        """Count the places again and reload the favourites (off the GUI thread)."""
        self._refreshes += 1
        number = self._refreshes

        def load(store: Any) -> tuple[dict[str, list[pl.Place]], set[int]]:
            return pl.collect(store), store.favourite_ids()

        def loaded(result: tuple[dict[str, list[pl.Place]], set[int]]) -> None:
            if number != self._refreshes:
                return  # a newer refresh is on its way
            if not shiboken6.isValid(self.sidebar) or not shiboken6.isValid(self.grid):
                return  # the window closed while the places were counted
            sections, favourites = result
            self.albums = sections.get(pl.ALBUMS, [])
            if favourites != self.favourites:
                self.favourites = favourites
                self.grid.viewport().update()
            self.sidebar.set_places(sections)
            if select:
                self.sidebar.select_place(select)

        run_task(load, self.store, on_done=loaded, on_failed=self._failed)

    def empty_text(self, query: Query) -> str:
        """What the grid says when the chosen album or Favourites has nothing to show."""
        if query.kind != "browse" or query.date_from or query.date_to:
            return ""
        if query.favourites:
            return (
                "No favourites yet. Select photos and press Ctrl+D (or right-click ▸ Favourite) "
                "to mark them with a heart."
            )
        if query.album_id is not None:
            return (
                "This album is empty. Drag photos onto it in the sidebar, or right-click photos "
                "▸ Add to Album."
            )
        return ""

    def _failed(self, message: str) -> None:
        self.message.emit(message)

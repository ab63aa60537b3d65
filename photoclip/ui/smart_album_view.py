"""Smart albums in the app (#10 part 2): "Save Search as Smart Album…" in the Edit menu, the
sidebar's "Smart albums" section (a places.py source, counted off the GUI thread once the
model is there), and the window a smart album opens: its photos best first, 👍 / 👎 to teach it
by example (smart_albums.py re-ranks), "N photos in this album", and Freeze into Album.

The window composes it with one call (``install``)."""

from __future__ import annotations

import os
import threading
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QAction, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QInputDialog,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QWidget,
)

from .. import places as pl
from ..errors import PhotoclipError
from ..search import Searcher
from ..smart_albums import Membership, SmartAlbum, SmartQuery
from .collections import name_dialog
from .panels import lay_out_window
from .tasks import run_task

SECTION = "Smart albums"
SMART = "smart"
PhotoRole = Qt.ItemDataRole.UserRole + 1
ICON = 96
MAX_SHOWN = 300  # photos shown at once, best first
THUMBS_UP, THUMBS_DOWN = "👍", "👎"

# store -> the model to count with (set when the loader hands it over); counting without it
# would block on loading, so until then smart albums show no count.
_embedders: dict[int, Any] = {}
_registered = False
# One membership at a time over the app's shared searcher (the pool has two threads).
_LOCK = threading.Lock()
# store -> the searcher of its model, shared by the sidebar's counts and the album windows:
# its vectors load once, not again on every refresh of the sidebar (at a million photos,
# seconds and a gigabyte each time).
_searchers: dict[int, Searcher] = {}
_SEARCHERS_LOCK = threading.Lock()


def shared_searcher(store: Any) -> Searcher | None:
    """The searcher smart albums use for ``store``; None until its model is there."""
    embedder = _embedders.get(id(store))
    if embedder is None:
        return None
    with _SEARCHERS_LOCK:
        searcher = _searchers.get(id(store))
        if searcher is None or searcher.embedder is not embedder:
            searcher = _searchers[id(store)] = Searcher(store, embedder)
        return searcher


def count_places(store: Any) -> list[pl.Place]:
    """The smart albums, each counted by smart_albums.py when the model is loaded (off the GUI
    thread: the sidebar's refresh runs the sources in the task pool)."""
    albums = store.albums(kind=SMART)
    searcher = shared_searcher(store) if albums else None
    out = []
    for a in albums:
        count: int | None = None
        if searcher is not None:
            try:
                with _LOCK:
                    count = len(SmartAlbum(searcher, a.id).members().photo_ids)
            except PhotoclipError:
                count = None
        text = SmartQuery.from_json(a.query).text
        tip = f"Smart album: photos matching “{text}”"
        if count is not None:
            tip += f" ({count:,})"
        out.append(pl.Place(f"smart:{a.id}", SMART, a.name, SECTION, count, "smart", tooltip=tip))
    return out


def register() -> None:
    global _registered
    if not _registered:
        pl.register_source(pl.FunctionSource(SECTION, count_places))
        _registered = True


class SmartAlbumView(QDialog):
    """One smart album's photos, best first, with 👍 / 👎 and Freeze into Album."""

    frozen = Signal(int)  # the new plain album's id
    marked = Signal()  # examples changed: the sidebar's count is counted again

    def __init__(self, album: SmartAlbum, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.album = album
        self.store = album.store
        self.membership: Membership | None = None
        self.examples: dict[int, int] = {}
        self.name_dialog: QInputDialog | None = None
        self._loads = 0
        self.setWindowTitle(f"Smart album “{album.name}”")
        self.resize(820, 560)
        self.summary = QLabel("Finding its photos…")
        self.summary.setWordWrap(True)
        self.photos = QListWidget()
        self.photos.setViewMode(QListView.ViewMode.IconMode)
        self.photos.setIconSize(QSize(ICON, ICON))
        self.photos.setResizeMode(QListView.ResizeMode.Adjust)
        self.photos.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.photos.setAccessibleName("Photos in the smart album")
        self.belongs = QPushButton(f"{THUMBS_UP} Belongs")
        self.belongs.setToolTip("Teach the album: the selected photos belong in it")
        self.not_belongs = QPushButton(f"{THUMBS_DOWN} Doesn't Belong")
        self.not_belongs.setToolTip("Teach the album: the selected photos don't belong in it")
        self.unmark = QPushButton("Unmark")
        self.unmark.setToolTip("Forget what you said about the selected photos")
        self.freeze_button = QPushButton("Freeze into Album…")
        self.freeze_button.setToolTip("Make a normal album of the photos in it now")
        lay_out_window(
            self, self.summary, self.photos,
            (self.belongs, self.not_belongs, self.unmark, self.freeze_button),
        )  # fmt: skip
        self.belongs.clicked.connect(lambda: self.mark_selected(1))
        self.not_belongs.clicked.connect(lambda: self.mark_selected(-1))
        self.unmark.clicked.connect(lambda: self.mark_selected(None))
        self.freeze_button.clicked.connect(self.ask_to_freeze)

    # -- membership --------------------------------------------------------------------------

    def _members(self) -> tuple[Membership, dict[int, int], list[tuple[int, str, Any]]]:
        with _LOCK:
            members = self.album.members()
        examples = self.store.examples(self.album.album_id)
        shown = members.photo_ids[:MAX_SHOWN]
        rows = {r["id"]: r["path"] for r in self.store.photos_by_id(shown)}
        thumbs = [(p, rows.get(p, ""), self.store.thumbnail(p)) for p in shown]
        return members, examples, thumbs

    def refresh(self) -> None:
        self._loads += 1
        number = self._loads

        def done(result: tuple[Membership, dict[int, int], list[tuple[int, str, Any]]]) -> None:
            if number == self._loads and shiboken6.isValid(self):
                self._show(*result)

        run_task(self._members, on_done=done, on_failed=self._failed)

    @property
    def loading(self) -> bool:
        return self.membership is None

    def _failed(self, message: str) -> None:
        if shiboken6.isValid(self):
            self.summary.setText(f"Couldn't find its photos: {message}")

    def _show(
        self, members: Membership, examples: dict[int, int], thumbs: list[tuple[int, str, Any]]
    ) -> None:
        self.membership = members
        self.examples = examples
        chosen = {it.data(PhotoRole) for it in self.photos.selectedItems()}
        self.photos.clear()
        for photo_id, path, jpeg in thumbs:
            mark = examples.get(photo_id)
            prefix = {1: f"{THUMBS_UP} ", -1: f"{THUMBS_DOWN} "}.get(mark or 0, "")
            item = QListWidgetItem(prefix + os.path.basename(path))
            item.setData(PhotoRole, photo_id)
            item.setToolTip(path)
            pixmap = QPixmap()
            if jpeg and pixmap.loadFromData(jpeg):
                item.setIcon(QIcon(pixmap))
            self.photos.addItem(item)
            item.setSelected(photo_id in chosen)
        n = len(members.photo_ids)
        how = (
            "learned from your 👍 and 👎"
            if members.learned
            else "the search's strong matches; select photos and press 👍 or 👎 to teach it"
        )
        self.summary.setText(
            f"{n:,} photo{'s' if n != 1 else ''} in this album (“{self.album.query.text}”: {how})."
        )

    # -- teaching, freezing ----------------------------------------------------------------

    def mark(self, photo_ids: list[int], label: int | None) -> None:
        """👍 (+1), 👎 (-1) or unmark (None), then the album re-ranks."""
        if not photo_ids:
            return
        self.summary.setText("Learning from your examples…")

        def work() -> None:
            with _LOCK:
                self.album.mark(photo_ids, label)

        run_task(work, on_done=lambda _: self._marked(), on_failed=self._failed)

    def _marked(self) -> None:
        if shiboken6.isValid(self):
            self.refresh()
            self.marked.emit()

    def mark_selected(self, label: int | None) -> None:
        self.mark([int(it.data(PhotoRole)) for it in self.photos.selectedItems()], label)

    def ask_to_freeze(self) -> None:
        dialog = name_dialog(
            self, self, "Freeze into Album",
            "A normal album of the photos in this smart album now, named:",
            f"{self.album.name} (frozen)",
        )  # fmt: skip
        dialog.textValueSelected.connect(self.freeze)
        dialog.open()

    def freeze(self, name: str) -> None:
        def work() -> int:
            with _LOCK:
                return self.album.freeze(name.strip() or None)

        def done(album_id: int) -> None:
            if shiboken6.isValid(self):
                self.summary.setText(f"Frozen into the album “{name.strip()}”.")
                self.frozen.emit(album_id)

        run_task(work, on_done=done, on_failed=self._failed)


class SmartAlbums(QObject):
    """Saves the search bar's search as a smart album, keeps the sidebar's counts, and opens a
    smart album's window when it is chosen."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.store = window.store
        self.collections = window.collections
        self.embedder: Any = None
        self.views: dict[int, SmartAlbumView] = {}
        self.name_dialog: QInputDialog | None = None
        window.services.loader.loaded.connect(self._on_model)
        window.sidebar.selectionChanged.connect(self._on_selection)
        self.save_action = QAction("Save Search as Smart &Album…", window)
        self.save_action.setToolTip("Keep this search in the sidebar; it learns from examples")
        self.save_action.triggered.connect(self.ask_to_save)
        for act in window.menuBar().actions():
            if act.menu() is not None and act.text().replace("&", "") == "Edit":
                act.menu().addAction(self.save_action)
                break

    def _on_model(self, embedder: Any) -> None:
        self.embedder = embedder
        _embedders[id(self.store)] = embedder
        self.collections.refresh()  # now the smart albums can be counted

    def _searcher(self) -> Searcher | None:
        return shared_searcher(self.store)

    def _on_selection(self, selection: Any) -> None:
        if selection.kind == SMART and selection.key.startswith("smart:"):
            self.open(int(selection.key.split(":", 1)[1]))

    # -- saving --------------------------------------------------------------------------

    def current_query(self) -> SmartQuery:
        query = self.window.current_query()
        filters = {"folder_id": query.folder_id, "date_from": query.date_from,
                   "date_to": query.date_to, "favourites": query.favourites}  # fmt: skip
        return SmartQuery(query.text, {k: v for k, v in filters.items() if v})

    def ask_to_save(self) -> None:
        query = self.current_query()
        if not query.text:
            self.window.show_message("Type a search first, then save it as a smart album.")
            return
        dialog = name_dialog(
            self, self.window, "Save Search as Smart Album",
            f"A smart album of the photos matching “{query.text}”, named:", query.text,
        )  # fmt: skip
        dialog.textValueSelected.connect(lambda name: self.save(name, query))
        dialog.open()

    def save(self, name: str, query: SmartQuery) -> None:
        searcher = self._searcher()
        if searcher is None:
            self.window.show_message("The model is still loading: try again in a moment.")
            return

        def done(album: SmartAlbum) -> None:
            self.window.show_message(f"Saved the smart album “{album.name}”.")
            self.collections.refresh(select=f"smart:{album.album_id}")

        def work() -> SmartAlbum:
            with _LOCK:
                return SmartAlbum.create(searcher, name, query)

        run_task(work, on_done=done, on_failed=self.window.show_error)

    # -- opening -------------------------------------------------------------------------

    def open(self, album_id: int) -> SmartAlbumView | None:
        searcher = self._searcher()
        if searcher is None:
            return None  # the model is still loading: the album opens once it is there
        view = self.views.get(album_id)
        if view is None or not shiboken6.isValid(view):
            try:
                album = SmartAlbum(searcher, album_id)
            except PhotoclipError as exc:
                self.window.show_error(str(exc))
                return None
            view = SmartAlbumView(album, self.window)
            view.frozen.connect(lambda new_id: self.collections.refresh())
            view.marked.connect(lambda: self.collections.refresh())
            self.views[album_id] = view
        view.show()
        view.raise_()
        view.refresh()
        return view


def install(window: Any) -> SmartAlbums:
    register()
    return SmartAlbums(window)

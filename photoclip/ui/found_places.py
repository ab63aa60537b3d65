"""The sidebar's "Found for you" places, Duplicates and Things, and the windows they open: a
places.py source for the section, and the wiring that opens a window when one is chosen.
The window composes it with one call (``install``); it needs the sidebar's selection signal,
the store, and the model as the loader hands it over."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from .. import places as pl
from ..duplicates import Duplicates

SECTION = "Found for you"
DUPLICATES, THINGS = "duplicates", "things"
_registered = False


def _places(store: Any) -> list[pl.Place]:
    """Duplicates (counted from the last check: photos in groups not yet decided about) and
    Things (not counted here: that needs the model's vectors of every thing)."""
    copies: int | None = None
    model = store.get_setting("duplicates.model")
    if model is not None:
        groups = Duplicates(store, int(model), 0).groups()
        copies = sum(len(g.photo_ids) for g in groups)
    return [
        pl.Place("duplicates", DUPLICATES, "Duplicates", SECTION, copies, "photos",
                 tooltip="Copies of the same photo, and similar shots, with a keeper for each"),
        pl.Place("things", THINGS, "Things", SECTION, None, "album",
                 tooltip="What is in your photos, found without any tags"),
    ]  # fmt: skip


def register() -> None:
    global _registered
    if not _registered:
        pl.register_source(pl.FunctionSource(SECTION, _places))
        _registered = True


class FoundPlaces(QObject):
    """Opens the Duplicates or the Things window when its place is chosen in the sidebar."""

    def __init__(
        self, sidebar: Any, store: Any, loader: Any, parent: QWidget, trash: Any = None
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.trash = trash
        self.window = parent
        self.embedder: Any = None
        self._views: dict[str, QWidget] = {}
        loader.loaded.connect(self._on_model)
        sidebar.selectionChanged.connect(self._on_selection)

    def _on_model(self, embedder: Any) -> None:
        self.embedder = embedder

    def _on_selection(self, selection: Any) -> None:
        if selection.kind in (DUPLICATES, THINGS):
            self.open(selection.kind)

    def open(self, kind: str) -> QWidget | None:
        if self.embedder is None:
            return None  # the model is still loading: the place opens once it is there
        view = self._views.get(kind)
        if view is None:
            if kind == DUPLICATES:
                from .duplicates_view import DuplicatesView

                identity = self.embedder.identity
                finder = Duplicates(self.store, self.store.model_id(identity), identity.dim)
                view = DuplicatesView(finder, self.window, self.trash)
            else:
                from ..search import Searcher
                from ..things import Things
                from .things_view import ThingsView

                view = ThingsView(Things(Searcher(self.store, self.embedder)), self.window)
            self._views[kind] = view
        view.show()
        view.raise_()
        view.refresh()  # type: ignore[attr-defined]
        return view


def install(
    sidebar: Any, store: Any, loader: Any, parent: QWidget, trash: Any = None
) -> FoundPlaces:
    """``trash``: the app's Move to Trash (ui.trash.TrashController), reused for copies."""
    register()
    return FoundPlaces(sidebar, store, loader, parent, trash)

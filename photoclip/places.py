"""The places in the sidebar, as one pattern: All photos, Favourites, each folder, each album,
Problems (and from their own modules: smart albums, things, duplicates). A place names itself,
counts its photos and says which photos it holds, as a Scope the store and the search take.

Adding a kind of place adds a source here or in its own module (``register_source``), not
window code: the sidebar shows what the sources give, section by section."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .store import Album, Folder, Store

# Kinds of place (Place.kind); sources elsewhere add their own ("smart", "thing", ...).
ALL, FAVOURITES, FOLDER, ALBUM, PROBLEMS = "all", "favourites", "folder", "album", "problems"
# Sections of the sidebar, top to bottom; a source may name another (it goes after these).
LIBRARY, FOLDERS, ALBUMS = "Library", "Folders", "Albums"
SECTIONS = [LIBRARY, FOLDERS, ALBUMS]


@dataclass(frozen=True)
class Scope:
    """Which photos a place holds, in the words of Store.list_photo_ids / photo_page /
    count_photos and search.Filters (any combination narrows: an album's photos in a folder)."""

    folder_id: int | None = None
    album_id: int | None = None
    favourites: bool = False

    def filters(self) -> dict[str, Any]:
        return {"folder_id": self.folder_id, "album_id": self.album_id,
                "favourites": self.favourites}  # fmt: skip


@dataclass(frozen=True)
class Place:
    """One entry of the sidebar. ``key`` is stable and unique ("album:7"): what the sidebar
    keeps selected across refreshes."""

    key: str
    kind: str
    name: str
    section: str = LIBRARY
    count: int | None = None  # photos in it; None when not counted
    icon: str = ""  # a name the UI maps to an icon: photos, heart, folder, album, warning, ...
    scope: Scope = field(default_factory=Scope)
    tooltip: str = ""
    path: str = ""  # a folder's path
    muted: bool = False  # shown greyed (a folder that is missing)
    editable: bool = False  # the user may rename and delete it (an album)
    accepts_photos: bool = False  # photos dropped on it are added to it (an album)

    @property
    def folder_id(self) -> int | None:
        return self.scope.folder_id

    @property
    def album_id(self) -> int | None:
        return self.scope.album_id

    def photo_ids(self, store: Store, *, newest_first: bool = True) -> list[int]:
        """The photos it holds, newest first."""
        return store.list_photo_ids(newest_first=newest_first, **self.scope.filters())


ALL_PHOTOS = Place("all", ALL, "All photos", icon="photos")
PROBLEMS_PLACE = Place(
    "problems",
    PROBLEMS,
    "Problems",
    icon="warning",
    tooltip="Files that couldn't be indexed, and why",
)


def library_places(total: int, favourites: int) -> list[Place]:
    return [
        Place("all", ALL, "All photos", count=total, icon="photos"),
        Place(
            "favourites",
            FAVOURITES,
            "Favourites",
            count=favourites,
            icon="heart",
            scope=Scope(favourites=True),
            tooltip="Photos you marked with a heart (select photos and press Ctrl+D)",
        ),
    ]


def folder_places(folders: Sequence[Folder]) -> list[Place]:
    places = []
    for f in folders:
        name = os.path.basename(f.path.rstrip(os.sep)) or f.path
        tip = f"{f.path}\n{f.photo_count:,} photo{'s' if f.photo_count != 1 else ''}"
        if f.problem_count:
            tip += f", {f.problem_count:,} problem{'s' if f.problem_count != 1 else ''}"
        if f.missing:
            tip += ". Missing (unplugged?): its photos stay in the library until it's back"
        places.append(
            Place(
                f"folder:{f.id}",
                FOLDER,
                name,
                FOLDERS,
                f.photo_count,
                "folder-missing" if f.missing else "folder",
                Scope(folder_id=f.id),
                tip if f.missing else f.path,
                f.path,
                muted=f.missing,
            )
        )
    return places


def album_places(albums: Sequence[Album]) -> list[Place]:
    return [
        Place(
            f"album:{a.id}",
            ALBUM,
            a.name,
            ALBUMS,
            a.photo_count,
            "album",
            Scope(album_id=a.id),
            f"Album “{a.name}”: {a.photo_count:,} photos",
            editable=True,
            accepts_photos=True,
        )
        for a in albums
        if a.kind == "album"
    ]


class PlaceSource(Protocol):
    """Gives the places of one section; ``places`` runs off the GUI thread."""

    @property
    def section(self) -> str: ...

    def places(self, store: Store) -> list[Place]: ...


@dataclass(frozen=True)
class FunctionSource:
    section: str
    fn: Callable[[Store], list[Place]]

    def places(self, store: Store) -> list[Place]:
        return self.fn(store)


def _albums(store: Store) -> list[Place]:
    return album_places(store.albums(kind="album"))


def _library(store: Store) -> list[Place]:
    return library_places(store.count_photos(), len(store.favourite_ids()))


# Folders are counted with the library's summary (LibraryController), so they have no source
# here; every other section does.
_SOURCES: list[PlaceSource] = [FunctionSource(LIBRARY, _library), FunctionSource(ALBUMS, _albums)]


def register_source(source: PlaceSource) -> None:
    """Add a section of places (smart albums, things, duplicates): the sidebar shows it."""
    if source.section not in SECTIONS:
        SECTIONS.append(source.section)
    _SOURCES.append(source)


def sources() -> list[PlaceSource]:
    return list(_SOURCES)


def collect(store: Store) -> dict[str, list[Place]]:
    """Every source's places, by section (call it off the GUI thread)."""
    out: dict[str, list[Place]] = {}
    for source in _SOURCES:
        out.setdefault(source.section, []).extend(source.places(store))
    return out

"""What Undo needs after photos went to the system Trash: where each file came from and went,
the albums it was in and whether it was a favourite; putting a file back; and giving a photo
back its albums and heart once the library has found it again.

The move itself is the UI's (QFile.moveToTrash); the library's rows go only when a rescan finds
the files gone, as for any file deleted outside photoclip."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import PhotoclipError

if TYPE_CHECKING:
    from .store import Store


class TrashError(PhotoclipError):
    """A file that can't be put back where it was."""


@dataclass(frozen=True)
class TrashedPhoto:
    photo_id: int  # its id when it was moved (a rescan may have forgotten it since)
    original: str
    in_trash: str  # where the system Trash keeps it
    album_ids: tuple[int, ...] = ()
    favourite: bool = False


@dataclass(frozen=True)
class Keepsake:
    """A photo's place in what the user collected, taken before it goes to the Trash."""

    photo_id: int
    path: str
    album_ids: tuple[int, ...]
    favourite: bool


def keepsakes(store: Store, photo_ids: Sequence[int]) -> list[Keepsake]:
    """Albums and heart of each photo (ids the library doesn't know are left out)."""
    favourites = store.favourite_ids()
    out = []
    for row in store.photos_by_id(photo_ids):
        pid = int(row["id"])
        albums = tuple(a.id for a in store.albums_of_photo(pid))
        out.append(Keepsake(pid, row["path"], albums, pid in favourites))
    return out


def restore_file(item: TrashedPhoto) -> None:
    """Move the file back from the Trash to where it was; never over another file."""
    name = os.path.basename(item.original)
    folder = os.path.dirname(item.original)
    if not os.path.lexists(item.in_trash):
        raise TrashError(
            f"{name} is no longer in the Trash (emptied, or restored already), so it can't "
            "be put back."
        )
    if os.path.lexists(item.original):
        raise TrashError(
            f"{name} can't go back to {folder}: a file of that name is there now. "
            "It is still in the Trash."
        )
    try:
        os.makedirs(folder, exist_ok=True)
        try:
            os.rename(item.in_trash, item.original)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            shutil.move(item.in_trash, item.original)  # the Trash of another disk
    except OSError as exc:
        raise TrashError(
            f"Couldn't put {name} back in {folder}: {exc.strerror or exc}. "
            "It is still in the Trash."
        ) from exc
    _forget_trash_info(item.in_trash)


def _forget_trash_info(in_trash: str) -> None:
    """The freedesktop Trash keeps "info/NAME.trashinfo" beside "files/NAME": remove it, so the
    Trash doesn't list a file that isn't there."""
    files = os.path.dirname(in_trash)
    if os.path.basename(files) != "files":
        return
    info = os.path.join(os.path.dirname(files), "info", os.path.basename(in_trash) + ".trashinfo")
    with contextlib.suppress(OSError):
        os.remove(info)


def give_back(store: Store, items: Iterable[TrashedPhoto]) -> list[TrashedPhoto]:
    """Put each restored photo back in its albums and favourites, once the library has it
    again (the same row if no rescan forgot it, else the row a rescan made). Returns the ones
    the library doesn't have yet (to try again after the next scan)."""
    waiting = []
    for item in items:
        pid = store.photo_id_for_path(item.original)
        if pid is None or (store.photo(pid) or {}).get("status") != "indexed":
            waiting.append(item)
            continue
        for album_id in item.album_ids:
            if store.album(album_id) is not None:
                store.add_to_album(album_id, [pid])
        if item.favourite:
            store.set_favourite([pid])
    return waiting

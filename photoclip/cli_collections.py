"""The command line for what the user collects: ``photoclip album create|rename|delete|add|
remove|list|show|export``, ``photoclip favorite [--remove] PATH…`` and ``photoclip favorites``.

Registered by cli.py (``add_parsers``, ``COMMANDS``, ``FUNCS``); none of these needs the model."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import Any

from .errors import AlbumError, PhotoclipError

COMMANDS = ("album", "favorite", "favorites")


def _library_option(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: given before the sub-command ("album --library X list") it stays as given.
    parser.add_argument(
        "--library", metavar="PATH", default=argparse.SUPPRESS,
        help="library folder or .db file",
    )  # fmt: skip


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    album = sub.add_parser(
        "album", parents=[common], help="make albums and put photos in them",
        description="Albums live in the library: your photo folders are never changed.",
    )  # fmt: skip
    verbs = album.add_subparsers(dest="album_command", metavar="ACTION", required=True)
    for name, helptext, args in (
        ("create", "make an empty album", ["name"]),
        ("rename", "give an album a new name", ["name", "new_name"]),
        ("delete", "forget an album (its photos stay in the library and on disk)", ["name"]),
        ("add", "put photos (files, or folders of indexed photos) in an album", ["name"]),
        ("remove", "take photos out of an album (not out of the library)", ["name"]),
        ("list", "albums and how many photos each holds", []),
        ("show", "the photos in an album, newest first", ["name"]),
        ("export", "copy an album's original files to a folder", ["name", "folder"]),
    ):
        verb = verbs.add_parser(name, help=helptext, description=helptext)
        _library_option(verb)
        for arg in args:
            verb.add_argument(arg, metavar=arg.upper())
        if name in ("add", "remove"):
            verb.add_argument("paths", nargs="+", metavar="PATH")
        if name in ("list", "show"):
            verb.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "export":
            verb.add_argument(
                "--structure", choices=["flat", "folders", "date"], default="flat",
                help="flat (default), folders (as in the library) or date (YYYY/YYYY-MM)",
            )  # fmt: skip

    fav = sub.add_parser(
        "favorite", parents=[common], help="mark photos as favourites (or --remove the mark)"
    )
    fav.add_argument("paths", nargs="+", metavar="PATH", help="photo files, or folders")
    fav.add_argument("--remove", action="store_true", help="unmark them")
    favs = sub.add_parser("favorites", parents=[common], help="list your favourite photos")
    favs.add_argument("--json", action="store_true", help="machine-readable output")


def _store(args: argparse.Namespace) -> Any:
    from .cli import open_library

    return open_library(args)


def _album(store: Any, name: str) -> Any:
    album = store.album_named(name)
    if album is None:
        known = ", ".join(a.name for a in store.albums(kind="album")) or "none yet"
        raise AlbumError(f"There is no album called “{name}” (albums: {known}).")
    return album


def album_id(store: Any, name: str) -> int:
    """The id of the album called ``name`` (search --album); AlbumError naming the albums
    there are when there is none."""
    return int(_album(store, name).id)


def _photo_ids(store: Any, paths: list[str]) -> list[int]:
    ids, unknown = store.photo_ids_at(paths)
    for path in unknown:
        print(
            f"photoclip: {path} isn't an indexed photo in this library (index its folder "
            "first: photoclip index FOLDER); skipped.",
            file=sys.stderr,
        )
    if not ids:
        raise PhotoclipError("None of those paths is an indexed photo in this library.")
    return list(ids)


def cmd_album(args: argparse.Namespace) -> int:
    store = _store(args)
    verb = args.album_command
    if verb == "create":
        album_id = store.create_album(args.name)
        print(f"Made the album “{store.album(album_id).name}”.")
    elif verb == "rename":
        album = _album(store, args.name)
        store.rename_album(album.id, args.new_name)
        print(f"Renamed “{album.name}” to “{store.album(album.id).name}”.")
    elif verb == "delete":
        album = _album(store, args.name)
        store.delete_album(album.id)
        print(
            f"Deleted the album “{album.name}”; its {album.photo_count} photos stay in the "
            "library and on disk."
        )
    elif verb in ("add", "remove"):
        album = _album(store, args.name)
        ids = _photo_ids(store, args.paths)
        if verb == "add":
            n = store.add_to_album(album.id, ids)
            already = f" ({len(ids) - n} already in it)" if n < len(ids) else ""
            print(f"Added {_photos(n)} to “{album.name}”{already}.")
        else:
            n = store.remove_from_album(album.id, ids)
            print(f"Took {_photos(n)} out of “{album.name}”; they stay in the library.")
    elif verb == "list":
        albums = store.albums(kind="album")
        if args.json:
            print(json.dumps([{"name": a.name, "photos": a.photo_count} for a in albums], indent=2))
        elif not albums:
            print("No albums yet. Make one with: photoclip album create NAME")
        for a in [] if args.json else albums:
            print(f"{a.name}  ({_photos(a.photo_count)})")
    elif verb == "show":
        return _print_photos(store, store.album_photo_ids(_album(store, args.name).id), args.json)
    elif verb == "export":
        return _export(store, _album(store, args.name), args)
    return 0


def _export(store: Any, album: Any, args: argparse.Namespace) -> int:
    from .export import export, items_for

    items = items_for(store, store.album_photo_ids(album.id))
    if not items:
        print(f"The album “{album.name}” is empty: nothing to copy.")
        return 0
    stop = threading.Event()
    try:
        report = export(items, args.folder, structure=args.structure, stop=stop)
    except KeyboardInterrupt:
        stop.set()
        raise
    for problem in report.problems:
        print(f"photoclip: {problem.reason}", file=sys.stderr)
    print(report.summary())
    return 1 if report.problems else 0


def cmd_favorite(args: argparse.Namespace) -> int:
    store = _store(args)
    ids = _photo_ids(store, args.paths)
    n = store.set_favourite(ids, not args.remove)
    if args.remove:
        print(f"Unmarked {_photos(n)} as favourites.")
    else:
        already = f" ({len(ids) - n} already were)" if n < len(ids) else ""
        print(f"Marked {_photos(n)} as favourites{already}.")
    return 0


def cmd_favorites(args: argparse.Namespace) -> int:
    store = _store(args)
    return _print_photos(store, store.favourite_photo_ids(), args.json)


def _print_photos(store: Any, ids: list[int], as_json: bool) -> int:
    rows = store.photos_by_id(ids)
    if as_json:
        print(json.dumps([{"path": r["path"], "taken_at": r["taken_at"]} for r in rows], indent=2))
        return 0
    for r in rows:
        print(r["path"])
    if not rows:
        print("No photos.", file=sys.stderr)
    return 0


def _photos(n: int) -> str:
    return f"{n:,} photo{'s' if n != 1 else ''}"


FUNCS = {"album": cmd_album, "favorite": cmd_favorite, "favorites": cmd_favorites}

"""The command line for smart albums: ``photoclip smart create NAME QUERY``, ``list``, ``show
NAME`` (its photos, best first), ``mark NAME --yes PATH… --no PATH…`` (examples it learns
from), ``freeze NAME [NEW_NAME]`` (a plain album of its photos as they are now).

Registered by cli.py (``add_parsers``, ``COMMANDS``, ``FUNCS``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .errors import AlbumError

COMMANDS = ("smart",)


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    smart = sub.add_parser(
        "smart", parents=[common], help="smart albums: saved searches that learn from examples",
        description="A smart album holds the photos a search finds, kept up to date; mark "
        "photos as belonging or not and it learns what you mean.",
    )  # fmt: skip
    verbs = smart.add_subparsers(dest="smart_command", metavar="ACTION", required=True)
    create = verbs.add_parser("create", help="save a search as a smart album")
    create.add_argument("name", metavar="NAME")
    create.add_argument("query", metavar="QUERY", help="what to search for, as in search")
    verbs.add_parser("list", help="smart albums and how many photos each holds").add_argument(
        "--json", action="store_true", help="machine-readable output"
    )
    show = verbs.add_parser("show", help="a smart album's photos, best first")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    mark = verbs.add_parser("mark", help="mark photos as belonging (--yes) or not (--no)")
    mark.add_argument("name", metavar="NAME")
    mark.add_argument("--yes", nargs="+", default=[], metavar="PATH", help="photos that belong")
    mark.add_argument("--no", nargs="+", default=[], metavar="PATH", help="photos that don't")
    mark.add_argument("--clear", nargs="+", default=[], metavar="PATH", help="unmark photos")
    freeze = verbs.add_parser("freeze", help="make a plain album of its photos as they are now")
    freeze.add_argument("name", metavar="NAME")
    freeze.add_argument("new_name", nargs="?", metavar="NEW_NAME")


def _album(searcher: Any, name: str) -> Any:
    from .smart_albums import SmartAlbum

    album = searcher.store.album_named(name)
    if album is None or album.kind != "smart":
        known = ", ".join(a.name for a in searcher.store.albums(kind="smart")) or "none yet"
        raise AlbumError(f"There is no smart album called “{name}” (smart albums: {known}).")
    return SmartAlbum(searcher, album.id)


def cmd_smart(args: argparse.Namespace) -> int:
    from .cli import model_for, model_key, open_library
    from .search import Searcher
    from .smart_albums import SmartAlbum, SmartQuery

    store = open_library(args)
    searcher = Searcher(store, model_for(args, store, model_key(args, store)))
    verb = args.smart_command
    if verb == "create":
        album = SmartAlbum.create(searcher, args.name, SmartQuery(args.query))
        count = len(album.members().photo_ids)
        print(f"Made the smart album “{album.name}”: {count} photo{'s' if count != 1 else ''}.")
    elif verb == "list":
        out = []
        for row in store.albums(kind="smart"):
            album = SmartAlbum(searcher, row.id)
            members = album.members()
            out.append({"name": album.name, "query": album.query.text,
                        "photos": len(members.photo_ids), "learned": members.learned})  # fmt: skip
        if args.json:
            json.dump(out, sys.stdout, indent=2)
            print()
        elif not out:
            print('No smart albums yet. Try: photoclip smart create Beach "a beach"')
        for a in [] if args.json else out:
            how = ", learned from your examples" if a["learned"] else ""
            print(f"{a['photos']:>7,}  {a['name']}  (“{a['query']}”{how})")
    elif verb == "show":
        album = _album(searcher, args.name)
        rows = store.photos_by_id(album.members().photo_ids)
        if args.json:
            json.dump([{"path": r["path"], "taken_at": r["taken_at"]} for r in rows], sys.stdout,
                      indent=2)  # fmt: skip
            print()
        for r in [] if args.json else rows:
            print(r["path"])
    elif verb == "mark":
        album = _album(searcher, args.name)
        for paths, label in ((args.yes, 1), (args.no, -1), (args.clear, None)):
            ids, unknown = store.photo_ids_at(paths)
            for path in unknown:
                print(f"photoclip: {path} isn't an indexed photo in this library.", file=sys.stderr)
            album.mark(ids, label)
        members = album.members()
        print(f"“{album.name}” now holds {len(members.photo_ids)} photos"
              f"{' (learned from your examples)' if members.learned else ''}.")  # fmt: skip
    elif verb == "freeze":
        album = _album(searcher, args.name)
        new_id = album.freeze(args.new_name)
        frozen = store.album(new_id)
        assert frozen is not None
        print(f"Made the album “{frozen.name}” with {frozen.photo_count} photos.")
    return 0


FUNCS = {"smart": cmd_smart}

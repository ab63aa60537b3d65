"""The command line for things found without tags: ``photoclip things`` lists the things in the
library with how many photos show each, ``photoclip things THING`` lists its photos, and
``--add PHRASE`` / ``--remove NAME`` manage the user's own things.

Registered by cli.py (``add_parsers``, ``COMMANDS``, ``FUNCS``). The model is needed only to
embed a thing's phrase the first time; after that the library remembers it."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .errors import PhotoclipError

COMMANDS = ("things",)


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "things", parents=[common],
        help="what is in your photos (dogs, beaches, documents…), found without tags",
        description="Things photoclip recognises in your photos by comparing them with "
        "phrases, with no tagging. A thing lists only photos it is clearly about.",
    )  # fmt: skip
    p.add_argument("thing", nargs="?", metavar="THING", help="list this thing's photos")
    p.add_argument("--all", action="store_true", help="also things with no photos")
    p.add_argument("--add", metavar="PHRASE", help='add a thing of your own ("my red bike")')
    p.add_argument("--remove", metavar="NAME", help="forget a thing you added")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_things(args: argparse.Namespace) -> int:
    from .cli import model_for, model_key, open_library
    from .search import Searcher
    from .things import Things

    store = open_library(args)
    embedder = model_for(args, store, model_key(args, store))
    things = Things(Searcher(store, embedder))
    if args.remove:
        if not things.remove(args.remove):
            raise PhotoclipError(
                f"You haven't added a thing called “{args.remove}” (only things you added "
                f"can be removed)."
            )
        print(f"Forgot the thing “{args.remove}”.")
        return 0
    if args.add:
        added = things.add(args.add)
        print(f"Added the thing “{added.name}”.", file=sys.stderr if args.json else sys.stdout)
    if not args.json and not args.add:
        print("Finding things…", file=sys.stderr)
    labels = things.labels()
    assert labels is not None  # not stoppable here
    if args.thing or args.add:
        name = args.thing or args.add
        thing = things.thing(name)
        if thing is None:
            raise PhotoclipError(
                f"There is no thing called “{name}”. Run 'photoclip things --all' to see them, "
                f"or add it with --add."
            )
        rows = store.photos_by_id(labels.photos[thing.name].tolist())
        if args.json:
            json.dump({"thing": thing.name, "phrase": thing.phrase,
                       "photos": [r["path"] for r in rows]}, sys.stdout, indent=2)  # fmt: skip
            print()
        elif not rows:
            print(f"No photos of {thing.name}.")
        else:
            for r in rows:
                print(r["path"])
        return 0
    counts = labels.counts()
    listed = [t for t in things.things() if args.all or counts.get(t.name)]
    listed.sort(key=lambda t: (-counts.get(t.name, 0), t.name.lower()))
    if args.json:
        json.dump([{"thing": t.name, "phrase": t.phrase, "photos": counts.get(t.name, 0),
                    "yours": t.user} for t in listed], sys.stdout, indent=2)  # fmt: skip
        print()
        return 0
    if not listed:
        print("No things found in these photos.")
        return 0
    for t in listed:
        mine = "  (yours)" if t.user else ""
        print(f"{counts.get(t.name, 0):>7,}  {t.name}{mine}")
    return 0


FUNCS = {"things": cmd_things}

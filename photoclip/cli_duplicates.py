"""The command line for copies in the library: ``photoclip duplicates`` lists the groups of
each kind with a suggested keeper (checking photos indexed since the last look first), and
resolves one: ``--keep-all N``, ``--hide-rest N`` (hidden from search, files untouched) or
``--reset N`` (forget what was decided).

Registered by cli.py (``add_parsers``, ``COMMANDS``, ``FUNCS``). Needs the model's identity,
not the model itself: the vectors are in the library."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from typing import Any

from .errors import PhotoclipError

COMMANDS = ("duplicates",)


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    dup = sub.add_parser(
        "duplicates", parents=[common],
        help="exact copies, the same photo saved again, and similar shots",
        description="Groups of copies in the library, by kind, each with a suggested keeper "
        "(largest, original format, earliest). Photo files are never changed or deleted.",
    )  # fmt: skip
    dup.add_argument(
        "--kind", choices=["exact", "same", "similar"], action="append",
        help="only groups of this kind (repeatable)",
    )  # fmt: skip
    dup.add_argument("--all", action="store_true", help="also groups already decided about")
    dup.add_argument("--rescan", action="store_true", help="check the whole library again")
    dup.add_argument("--json", action="store_true", help="machine-readable output")
    act = dup.add_mutually_exclusive_group()
    act.add_argument("--keep-all", type=int, metavar="N", help="keep every photo of group N")
    act.add_argument(
        "--hide-rest", type=int, metavar="N",
        help="keep group N's suggested keeper and hide the others from search",
    )  # fmt: skip
    act.add_argument("--reset", type=int, metavar="N", help="forget what was decided for group N")


def check_for_copies(store: Any, embedder: Any, stop: threading.Event) -> None:
    """After ``photoclip index``: the new photos checked for copies (duplicates.py)."""
    from .duplicates import check_for_copies

    check_for_copies(store, embedder, stop)


def cmd_duplicates(args: argparse.Namespace) -> int:
    from .cli import model_for, model_key, open_library
    from .duplicates import KIND_NAMES, Duplicates

    store = open_library(args)
    key = model_key(args, store)
    identity = model_for(args, store, key).identity
    finder = Duplicates(store, store.model_id(identity), identity.dim)
    stop = threading.Event()
    if args.rescan or finder.pending():
        if not args.json:
            print("Checking for copies…", file=sys.stderr)
        try:
            finder.scan(full=args.rescan, stop=stop)
        except KeyboardInterrupt:
            stop.set()
            raise
    kinds = args.kind or ["exact", "same", "similar"]
    resolving = args.keep_all or args.hide_rest or args.reset
    groups = [
        g for g in finder.groups(include_resolved=args.all or bool(resolving)) if g.kind in kinds
    ]
    if resolving:
        number = int(resolving)
        if not 1 <= number <= len(groups):
            raise PhotoclipError(
                f"There is no group {number}: run 'photoclip duplicates' to see the groups "
                f"and their numbers."
            )
        group = groups[number - 1]
        if args.keep_all:
            finder.keep_all(group)
            print(f"Kept all {len(group.photo_ids)} photos of group {number}.")
        elif args.hide_rest:
            finder.hide_rest(group)
            print(f"Group {number}: kept one, hid {len(group.rest)} from search (the files "
                  f"are untouched; --reset {number} shows them again).")  # fmt: skip
        else:
            finder.undo({pid: None for pid in group.photo_ids})
            print(f"Group {number}: nothing decided any more.")
        return 0
    files = {f.id: f for f in store.photo_files([p for g in groups for p in g.photo_ids])}
    if args.json:
        out = [
            {
                "group": n,
                "kind": g.kind,
                "keeper": files[g.keeper].path,
                "photos": [
                    {
                        "path": files[p].path,
                        "width": files[p].width,
                        "height": files[p].height,
                        "size": files[p].size,
                        "taken_at": files[p].taken_at,
                        "decided": g.marks.get(p),
                    }
                    for p in g.photo_ids
                ],
            }
            for n, g in enumerate(groups, 1)
        ]
        json.dump(out, sys.stdout, indent=2)
        print()
        return 0
    if not groups:
        print("No copies found." if not args.all else "No groups of copies.")
        return 0
    shown = None
    for n, g in enumerate(groups, 1):
        if g.kind != shown:
            count = sum(1 for x in groups if x.kind == g.kind)
            print(f"\n{KIND_NAMES[g.kind]} ({count} group{'s' if count != 1 else ''})")
            shown = g.kind
        print(f"  {n}. {len(g.photo_ids)} photos")
        for p in g.photo_ids:
            f = files[p]
            note = "  keep" if p == g.keeper else ""
            if p in g.marks:
                note += f"  [{g.marks[p]}]"
            size = f"{f.width}×{f.height}" if f.width and f.height else "?"
            print(f"     {os.path.basename(f.path)}  {size}  {f.taken_at or ''}{note}")
            print(f"       {f.path}")
    print("\nResolve a group with --keep-all N or --hide-rest N (hidden photos stay on disk).")
    return 0


FUNCS = {"duplicates": cmd_duplicates}

"""The command line: ``photoclip index|search|similar|status|problems|folders|models``.

A composition root like ``app.py``: it builds the store, the embedder and the indexer, and is
the only core code that prints."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, TextIO

from . import __version__, cli_collections, cli_duplicates, cli_smart_albums, cli_things
from .config import MODEL_ENV, Resolver
from .errors import PhotoclipError
from .models import DEFAULT_MODEL, MODELS, get_spec
from .paths import LIBRARY_ENV

COMMANDS = (
    "index", "search", "similar", "status", "problems", "folders", "remove", "models",
    "rebuild", "install-desktop", "uninstall-desktop", *cli_collections.COMMANDS,
    *cli_duplicates.COMMANDS, *cli_things.COMMANDS, *cli_smart_albums.COMMANDS,
)  # fmt: skip
MODEL_SETTING = "model"
# The model a switch in the app is heading for, until its vectors cover the library.
PENDING_MODEL_SETTING = "pending_model"


def _date(text: str) -> str:
    """A --from/--to date, checked ("2024-6-1" would compare as text, after "2024-10-01")."""
    from datetime import date

    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} isn't a date photoclip understands. Write it as YYYY-MM-DD, "
            "for example 2024-06-01."
        ) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="photoclip",
        description="Find any photo by describing it. Run without a command to open the app.",
    )
    p.add_argument("--version", action="version", version=f"photoclip {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--library", metavar="PATH",
        help=f"library folder or .db file (default: ${LIBRARY_ENV}, else the one chosen in "
        "Settings, else the OS data folder)",
    )  # fmt: skip
    common.add_argument(
        "--model", choices=sorted(MODELS),
        help=f"CLIP model (default: ${MODEL_ENV}, else the library's model, else "
        f"{DEFAULT_MODEL})",
    )  # fmt: skip
    common.add_argument("--weights", metavar="FILE", help="use this local weights file")
    common.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    common.add_argument(
        "--precision", default="auto",  # precision.PRECISIONS (not imported: numpy, slow)
        choices=["auto", "fp32", "bf16", "int8", "onnx-int8", "fp16"],
        help="numeric precision of the model (default: auto, the fastest that keeps fp32's "
        "results, measured once on this machine)",
    )  # fmt: skip
    common.add_argument("--threads", type=int, help="CPU threads for the model")
    common.add_argument(
        "--offline", action="store_true", help="never download a model; fail if it isn't cached"
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    ix = sub.add_parser("index", parents=[common], help="add folders and index new photos")
    ix.add_argument("paths", nargs="*", metavar="PATH", help="folders (default: all library "
                    "folders)")  # fmt: skip
    ix.add_argument("--batch-size", type=int, default=16)
    ix.add_argument("--retry-failed", action="store_true", help="try failed files again")

    filters = argparse.ArgumentParser(add_help=False)
    filters.add_argument("-n", "--limit", type=int, default=20, help="results per page")
    filters.add_argument("--page", type=int, default=1, help="page of results (from 1)")
    filters.add_argument("--folder", help="only photos in this library folder")
    filters.add_argument("--album", metavar="NAME", help="only photos in this album")
    filters.add_argument("--favorites", action="store_true", help="only favourite photos")
    filters.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", type=_date)
    filters.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", type=_date)
    filters.add_argument("--type", dest="formats", action="append", metavar="FORMAT",
                         help="jpeg, png, heif, webp, gif, tiff, bmp (repeatable)")  # fmt: skip
    filters.add_argument("--by-date", action="store_true", help="strong matches newest first")
    filters.add_argument("--json", action="store_true", help="machine-readable output")

    se = sub.add_parser(
        "search",
        parents=[common, filters],
        help="find photos by description",
        description="Query algebra: 'beach - people + ./ref.jpg', '2:sunset'.",
    )
    se.add_argument("query", nargs="+", help="what to look for")
    si = sub.add_parser("similar", parents=[common, filters], help="photos like this one")
    si.add_argument("path", help="an image file, in the library or not")

    st = sub.add_parser("status", parents=[common], help="library, model and counts")
    st.add_argument("--json", action="store_true")
    pr = sub.add_parser("problems", parents=[common], help="files that couldn't be indexed")
    pr.add_argument("--json", action="store_true")
    sub.add_parser("folders", parents=[common], help="list library folders")
    rm = sub.add_parser(
        "remove", parents=[common], help="forget a folder (the photos on disk are never touched)"
    )
    rm.add_argument("path")
    sub.add_parser("models", parents=[common], help="list the models photoclip offers")
    sub.add_parser(
        "rebuild", parents=[common],
        help="move a damaged library aside (kept as it is) and start a new one with its folders",
    )  # fmt: skip
    sub.add_parser("install-desktop", help="add photoclip to this user's app menu (Linux)")
    sub.add_parser("uninstall-desktop", help="remove what install-desktop added")
    cli_collections.add_parsers(sub, common)
    cli_duplicates.add_parsers(sub, common)
    cli_things.add_parsers(sub, common)
    cli_smart_albums.add_parsers(sub, common)
    return p


# Options that take a value, so that the word after them is never taken for the command.
_VALUE_OPTIONS = frozenset({"--library", "--model", "--weights", "--device", "--precision",
                            "--threads"})  # fmt: skip


def command_position(argv: Sequence[str]) -> int | None:
    """Where the command is in ``argv``: first, or after options such as ``--model X``."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in COMMANDS:
            return i
        if word == "--" or not word.startswith("-"):
            return None  # a folder or other word before any command: not a command line
        i += 2 if word in _VALUE_OPTIONS else 1
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    at = command_position(argv)
    if at:  # "photoclip --model m search …": the options go after the command
        argv = [argv[at], *argv[:at], *argv[at + 1 :]]
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help()
        return 2
    try:
        return int(_COMMAND_FUNCS[args.command](args) or 0)
    except PhotoclipError as exc:
        print(f"photoclip: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# -- composition ---------------------------------------------------------------------------


def resolver(args: argparse.Namespace) -> Resolver:
    """The settings resolver the app uses too (flag > environment > settings file > library >
    default), read once per command."""
    found = getattr(args, "_resolver", None)
    if found is None:
        found = args._resolver = Resolver()
    return found


def open_library(args: argparse.Namespace) -> Any:
    from .store import Store

    return Store(resolver(args).library(args.library).value)


def model_key(args: argparse.Namespace, store: Any) -> str:
    return resolver(args).model(args.model, store.get_setting(MODEL_SETTING)).value


def weights_for(args: argparse.Namespace, key: str) -> str | None:
    return resolver(args).weights(key, args.weights).value


def load_model(args: argparse.Namespace, key: str) -> Any:
    from .embedder import load_embedder

    spec = get_spec(key)
    bar = _Bar(sys.stderr, f"Downloading the {key} model ({spec.download_mb:,} MB, once)")
    try:
        emb = load_embedder(
            key, weights=weights_for(args, key), device=args.device, precision=args.precision,
            threads=resolver(args).threads(args.threads).value or None,
            allow_download=not args.offline, progress=bar.update_bytes,
        )  # fmt: skip
    finally:
        bar.finish()
    return emb


def model_for(args: argparse.Namespace, store: Any, key: str) -> Any:
    """The model ``key`` for this library. When the library has already seen the very weights
    file it names (same path, size and mtime), the model's identity is known, so it loads only
    once a photo or a phrase needs embedding: a rescan with nothing new starts in a blink."""
    from .embedder import (
        deferred_from_profile,
        locate_weights,
        machine_profile,
        profile_of,
        profile_setting,
    )

    spec = get_spec(key)
    path = locate_weights(spec, weights_for(args, key))
    if path is None:
        return load_model(args, key)  # explains what is missing, or downloads it
    profile_key = profile_setting(key, path)
    # ...or, for a library new to it, when this computer has loaded that file before.
    in_library = store.get_setting(profile_key)
    saved = in_library or machine_profile(key, path)
    deferred = None
    if saved:
        deferred = deferred_from_profile(
            spec, saved, lambda: load_model(args, key),
            device=args.device, precision=args.precision, threads=args.threads,
        )  # fmt: skip
    if deferred is not None:
        if not in_library:
            store.set_setting(profile_key, saved)
        return deferred
    embedder = load_model(args, key)
    store.set_setting(profile_key, profile_of(embedder))
    return embedder


# -- commands ------------------------------------------------------------------------------


def cmd_index(args: argparse.Namespace) -> int:
    from .indexer import Indexer
    from .recovery import remember_folders
    from .search import Searcher

    store = open_library(args)
    for path in args.paths:
        if not os.path.isdir(path):
            raise PhotoclipError(f"{path} isn't a folder. Give photoclip folders to index.")
    if not args.paths and not store.folders():
        raise PhotoclipError("The library has no folders yet. Try: photoclip index ~/Pictures")
    key = model_key(args, store)
    embedder = model_for(args, store, key)
    store.set_setting(MODEL_SETTING, key)
    indexer = Indexer(store, embedder, batch_size=args.batch_size, retry_failed=args.retry_failed)
    stop = threading.Event()
    bar = _Bar(sys.stderr, "Indexing")

    def on_sigterm(signum: int, frame: Any) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        report = indexer.run(args.paths or None, add=True, on_progress=bar.update, stop=stop)
        if getattr(embedder, "loaded", True) and not stop.is_set():
            # The model is in memory anyway: ready what the first search would wait for.
            Searcher(store, embedder).prepare(stop)
        if not stop.is_set():
            cli_duplicates.check_for_copies(store, embedder, stop)
    except KeyboardInterrupt:
        stop.set()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        bar.finish()
        remember_folders(store)  # what a rebuild would start from (folders may be new)
    rate = report.indexed / report.elapsed_s if report.elapsed_s else 0.0
    parts = [
        f"{report.indexed} indexed", f"{report.failed} couldn't be read",
        f"{report.unchanged} unchanged", f"{report.moved} moved", f"{report.removed} removed",
    ]  # fmt: skip
    if report.deferred:
        parts.append(f"{report.deferred} to try again (read errors)")
    if report.kept:
        parts.append(f"{report.kept} kept (not where the scan could look)")
    print(f"{', '.join(parts)} in {report.elapsed_s:.1f} s ({rate:.1f} photos/s).")
    for folder in report.missing_folders:
        print(
            f"Missing: {folder} (unplugged, empty or unreadable): its photos stay in the "
            "library until it is back.",
            file=sys.stderr,
        )
    if report.failed or report.deferred or report.kept:
        print("See which files and why with: photoclip problems", file=sys.stderr)
    return 130 if report.cancelled else 0


def _filters(args: argparse.Namespace, store: Any) -> Any:
    from .search import Filters

    folder_id = None
    if args.folder:
        wanted = os.path.abspath(args.folder)
        match = [f for f in store.folders() if f.path == wanted]
        if not match:
            raise PhotoclipError(f"{args.folder} isn't a library folder (see: photoclip folders).")
        folder_id = match[0].id
    formats = tuple(_FORMAT_NAMES.get(f.lower(), f.upper()) for f in args.formats or ()) or None
    album_id = cli_collections.album_id(store, args.album) if args.album else None
    return Filters(folder_id, args.date_from, args.date_to, formats, album_id, args.favorites)


_FORMAT_NAMES = {"jpg": "JPEG", "jpeg": "JPEG", "tif": "TIFF", "heic": "HEIF", "heif": "HEIF"}


def _searcher(args: argparse.Namespace) -> Any:
    from .search import Searcher
    from .serving import serving_embedder

    store = open_library(args)
    embedder = model_for(args, store, model_key(args, store))
    # A library being re-embedded for a new preprocessing searches its older vectors meanwhile.
    searcher = Searcher(store, serving_embedder(store, embedder))
    if searcher.store.vector_count(searcher.model_id) == 0:
        raise PhotoclipError(
            f"Nothing is indexed with the {embedder.spec.key} model yet. "
            "Index some photos first: photoclip index ~/Pictures"
        )
    return searcher


def cmd_search(args: argparse.Namespace) -> int:
    searcher = _searcher(args)
    query = " ".join(args.query)
    started = time.perf_counter()
    result = searcher.search(query, **_page(args, searcher.store))
    _print_result(args, query, result, time.perf_counter() - started)
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    searcher = _searcher(args)
    started = time.perf_counter()
    result = searcher.similar(args.path, **_page(args, searcher.store))
    _print_result(args, f"similar to {args.path}", result, time.perf_counter() - started)
    return 0


def _page(args: argparse.Namespace, store: Any) -> dict[str, Any]:
    if args.limit < 1 or args.page < 1:
        raise PhotoclipError("--limit and --page must be 1 or more.")
    return {
        "limit": args.limit,
        "offset": (args.page - 1) * args.limit,
        "filters": _filters(args, store),
        "sort_by_date": args.by_date,
    }


def _print_result(args: argparse.Namespace, query: str, result: Any, seconds: float) -> None:
    if args.json:
        print(json.dumps({
            "query": query,
            "total": result.total,
            "strong_count": result.strong_count,
            # null when no photo is a match (JSON has no infinity)
            "threshold": round(t, 6) if (t := result.threshold) < float("inf") else None,
            "offset": result.offset,
            "results": [
                {"path": h.path, "score": round(h.score, 6), "strong": h.strong,
                 "taken_at": h.taken_at}
                for h in result.hits
            ],
        }, indent=2))  # fmt: skip
        return
    shown_split = False
    for hit in result.hits:
        if not hit.strong and not shown_split:
            if hit is not result.hits[0]:
                print("── weaker matches ──")
            shown_split = True
        print(f"{hit.score:.3f}  {hit.path}")
    last = result.offset + len(result.hits)
    first, ms = result.offset + 1 if result.hits else 0, f"{seconds * 1000:.0f} ms"
    if result.strong_count:
        s = "es" if result.strong_count != 1 else ""
        print(f"{result.strong_count} strong match{s} (score ≥ {result.threshold:.3f}) "
              f"among {result.total} photos; showing {first}–{last} in {ms}.",
              file=sys.stderr)  # fmt: skip
    elif result.hits:
        print(f"No good matches — showing the closest photos, {first}–{last} of "
              f"{result.total}, in {ms}.", file=sys.stderr)  # fmt: skip
    elif result.total:
        print(f"No photos on this page: {result.total} photos ranked, in {ms}.", file=sys.stderr)
    else:
        print(f"No photos to search (none indexed, or none left by the filters), in {ms}.",
              file=sys.stderr)  # fmt: skip
    if last < result.total:
        print(f"More: --page {args.page + 1}", file=sys.stderr)


def cmd_status(args: argparse.Namespace) -> int:
    """The library, model and weights in use, where each choice came from, and counts."""
    settings = resolver(args)
    library = settings.library(args.library)
    store = open_library(args)
    model = settings.model(args.model, store.get_setting(MODEL_SETTING))
    weights = settings.weights(model.value, args.weights)
    counts = store.counts()
    info: dict[str, Any] = {
        "library": str(store.path),
        "library_from": library.source,
        "model": model.value,
        "model_from": model.source,
        "weights": weights.value,
        "weights_from": weights.source,
        "settings_file": str(settings.path),
        "schema_version": store.schema_version,
        **counts,
    }
    pending = store.get_setting(PENDING_MODEL_SETTING)
    if pending and pending != model.value:
        info["switching_to"] = pending  # the app is re-embedding the library with it
    info["precision"] = _precision_status(args, store, model.value)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    # Text: each choice with where it came from, on one line.
    shown = {k: v for k, v in info.items() if not k.endswith("_from")}
    shown["library"] = f"{store.path}  (from {library.source})"
    shown["model"] = f"{model.value}  (from {model.source})"
    shown["weights"] = f"{weights.value or 'the model’s usual place'}  (from {weights.source})"
    labels = {k: k.replace("_", " ").capitalize() + ":" for k in shown}
    width = max(map(len, labels.values()))
    for k, v in shown.items():
        print(f"{labels[k]:{width}} {v}")
    return 0


def _precision_status(args: argparse.Namespace, store: Any, key: str) -> str:
    """The precision the model runs at on this machine and why, without loading it."""
    from .embedder import known_identity
    from .precision import cached_choice

    if args.precision != "auto":
        return f"{args.precision} (your choice)"
    identity = known_identity(get_spec(key), weights_for(args, key), store.get_setting)
    if identity is None:  # this library hasn't loaded these weights: perhaps another has
        from .precision import describe_for

        return describe_for(key, weights_for(args, key))
    for device in ("cpu", "cuda", "mps"):
        choice = cached_choice(identity.weights_sha256, device)
        if choice is not None:
            return choice.describe()
    return "measured when the model first loads on this machine"


def cmd_problems(args: argparse.Namespace) -> int:
    store = open_library(args)
    problems = store.problems()
    if args.json:
        print(json.dumps([{"path": p.path, "reason": p.reason} for p in problems], indent=2))
        return 0
    if not problems:
        print("No problems: every photo file was indexed.")
    for p in problems:
        print(f"{p.path}\n    {p.reason}")
    return 0


def cmd_folders(args: argparse.Namespace) -> int:
    store = open_library(args)
    folders = store.folders()
    if not folders:
        print("No folders yet. Add one with: photoclip index ~/Pictures")
    for f in folders:
        plural = "s" if f.problem_count != 1 else ""
        extra = f", {f.problem_count} problem{plural}" if f.problem_count else ""
        if f.missing:
            extra += "; missing (unplugged or unreadable), its photos are kept"
        print(f"{f.path}  ({f.photo_count} photos{extra})")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from .recovery import remember_folders

    store = open_library(args)
    with store.writer_lock():
        n = store.remove_folder(args.path)
    remember_folders(store)
    print(f"Forgot {n} photos from {os.path.abspath(args.path)}; the files were not touched.")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    for spec in MODELS.values():
        mark = "*" if spec.key == DEFAULT_MODEL else " "
        size = f"{spec.download_mb} MB" if spec.download_mb else "bundled"
        print(f"{mark} {spec.key:16} {size:>8}  {spec.summary} Quality: {spec.quality}.")
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    """A damaged library is moved aside, never deleted; the new one has the same folders."""
    from .errors import DamagedLibraryError
    from .recovery import rebuild
    from .store import Store

    db_path = resolver(args).library(args.library).value
    if not db_path.exists():
        print(f"There is no library at {db_path}: nothing to rebuild.")
        return 0
    try:
        Store(db_path).close()
    except DamagedLibraryError:
        done = rebuild(db_path)
        done.store.close()
        print(done.summary())
        if done.folders:
            print("Index them again with: photoclip index")
        return 0
    print(f"The library {db_path} isn't damaged: nothing to rebuild.")
    return 0


def cmd_install_desktop(args: argparse.Namespace) -> int:
    from .desktop import install

    done = install()
    print(f"Added photoclip to the app menu ({len(done.files)} files; list in {done.manifest}).")
    print(f"It runs: {' '.join(done.command)}")
    return 0


def cmd_uninstall_desktop(args: argparse.Namespace) -> int:
    from .desktop import uninstall

    done = uninstall()
    if not done.files:
        print("photoclip wasn't in the app menu: nothing to remove.")
    else:
        print(f"Removed photoclip from the app menu ({len(done.files)} files).")
    return 0


_COMMAND_FUNCS = {
    "index": cmd_index, "search": cmd_search, "similar": cmd_similar, "status": cmd_status,
    "problems": cmd_problems, "folders": cmd_folders, "remove": cmd_remove, "models": cmd_models,
    "rebuild": cmd_rebuild,
    "install-desktop": cmd_install_desktop, "uninstall-desktop": cmd_uninstall_desktop,
    **cli_collections.FUNCS,
    **cli_duplicates.FUNCS,
    **cli_things.FUNCS,
    **cli_smart_albums.FUNCS,
}  # fmt: skip


class _Bar:
    """A one-line progress bar on a terminal; occasional plain lines otherwise."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.tty = stream.isatty()
        self.last = 0.0
        self.active = False
        self.meter: Any = None  # download.Throughput, while bytes are counted

    def _emit(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < (0.1 if self.tty else 5.0):
            return
        self.last = now
        self.active = True
        if self.tty:
            self.stream.write("\r\033[K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def update(self, p: Any) -> None:
        if p.phase == "scanning":
            self._emit(f"Scanning… {p.scanned:,} photos found")
        elif p.phase == "indexing" and p.total:
            frac = p.done / p.total
            width = 30
            filled = int(frac * width)
            eta = f" · about {_duration(p.eta_s)} left" if p.eta_s else ""
            rate = f" · {p.rate:.1f} photos/s" if p.rate else ""
            self._emit(
                f"{self.label} [{'█' * filled}{' ' * (width - filled)}] {p.done:,}/{p.total:,}"
                f"{rate}{eta}",
                force=p.done == p.total,
            )

    def update_bytes(self, done: int, total: int) -> None:
        from .throughput import Throughput, describe

        if self.meter is None:
            self.meter = Throughput()
        self.meter.update(done)
        self._emit(f"{self.label}: {describe(done, total, self.meter)}", force=done == total)

    def finish(self) -> None:
        if self.active and self.tty:
            self.stream.write("\n")
            self.stream.flush()
        self.active = False


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"

"""Library changes the window asks for, written to run in the task pool (never on the GUI
thread): the sidebar's summary, adding and removing folders."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import LibraryBusyError

if TYPE_CHECKING:
    from ..store import Store

REMOVE_WAIT_S = 60.0


@dataclass(frozen=True)
class Summary:
    folders: list[Any]  # store.Folder
    indexed: int
    problems: int


def summary(store: Store) -> Summary:
    counts = store.counts()
    return Summary(store.folders(), counts["indexed"], counts["problems"])


def add_folders(store: Store, paths: list[str]) -> list[tuple[str, bool]]:
    """Add each folder; (path, True) for those that weren't covered by the library yet."""
    known = {f.id for f in store.folders()}
    out = []
    for path in paths:
        folder_id = store.add_folder(path)
        out.append((path, folder_id not in known))
        known.add(folder_id)
    return out


def remove_folder(store: Store, folder_id: int) -> int:
    """Forget a folder (files untouched), once the indexer has let go of the library."""
    deadline = time.monotonic() + REMOVE_WAIT_S
    while True:
        try:
            with store.writer_lock():
                return store.remove_folder(folder_id)
        except LibraryBusyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)  # the indexer is finishing its batch after a cancel


def use_model_threads(threads: int) -> None:
    """Let the model use ``threads`` CPU threads (0: all) when called from *this* thread.

    torch's intra-op thread count belongs to the calling thread (OpenMP), so each worker
    thread that runs the model sets it for itself."""
    from ..embedder import default_threads, set_model_threads

    set_model_threads(threads)  # the model applies it itself in whichever thread runs it
    torch = sys.modules.get("torch")
    if torch is None:
        return  # no model loaded yet (a search answered by the text tower): nothing to set
    wanted = threads or default_threads()
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)

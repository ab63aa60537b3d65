"""The one long-lived indexing worker: runs ``Indexer.run`` in its own thread and turns the
core's callbacks into Qt signals. Cancellation and pause are the core's own Events."""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot

from ..errors import PhotoclipError

if TYPE_CHECKING:
    from ..embedder import Embedder
    from ..store import Store

log = logging.getLogger(__name__)


@dataclass
class _Request:
    folders: set[str] | None  # None: every library folder
    retry_failed: bool = False


class IndexWorker(QObject):
    """Call ``request()``/``cancel()`` from the GUI thread; indexing happens in the thread the
    worker was moved to. Requests made while a run is going are merged and run next."""

    started = Signal(object)  # list of folders, or None for the whole library
    progress = Signal(object)  # indexer.Progress
    batchIndexed = Signal(list)  # [{"id", "path", "taken_at", "folder_id"}] of new photos
    finished = Signal(object)  # indexer.IndexReport
    failed = Signal(str)
    upToDate = Signal(object)  # Embedder: a whole-library run with it ended, not cancelled
    idle = Signal()  # nothing left to do
    pausedChanged = Signal(bool)
    _wake = Signal()

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.stop = threading.Event()
        self.pause = threading.Event()
        self._lock = threading.Lock()
        self._pending: _Request | None = None
        self._embedder: Embedder | None = None
        self._shutting_down = False
        self._running = False
        self.threads = 0  # CPU threads for the model (0: all), set from Settings
        self._wake.connect(self._drain)

    # -- GUI-thread API --------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    @property
    def paused(self) -> bool:
        return self.pause.is_set()

    def set_paused(self, paused: bool) -> None:
        """Pause or resume indexing (from any thread). This is the one pause state, and it
        lasts until the user resumes: across runs, through Cancel and folder removals. A
        pause is the user's decision to have the computer to themselves, not a property of
        one run; the status bar shows it whenever indexing is under way."""
        if paused == self.pause.is_set():
            return
        if paused:
            self.pause.set()
        else:
            self.pause.clear()
        self.pausedChanged.emit(paused)

    def request(self, folders: list[str] | None = None, *, retry_failed: bool = False) -> None:
        """Index these folders (added to the library first), or all folders."""
        with self._lock:
            if self._shutting_down:
                return
            pending = self._pending
            if pending is None:
                self._pending = _Request(None if folders is None else set(folders), retry_failed)
            else:
                if folders is None or pending.folders is None:
                    pending.folders = None
                else:
                    pending.folders |= set(folders)
                pending.retry_failed |= retry_failed
        self._wake.emit()

    def set_embedder(self, embedder: Embedder) -> None:
        """Use a (new) model: a run with the old one stops, then everything is brought up to
        date with the new one (photos without its vectors are re-embedded)."""
        with self._lock:
            replacing = self._embedder is not None
            self._embedder = embedder
        if replacing:
            self.stop.set()
        self.request(None)

    def forget_folder(self, folder: str) -> None:
        """``folder`` is leaving the library: drop it (and folders inside it) from the queued
        request, so that a run queued for it can't bring it back."""
        inside = folder.rstrip(os.sep) + os.sep
        with self._lock:
            pending = self._pending
            if pending is None or pending.folders is None:
                return  # the whole library: the core indexes only the folders it still has
            pending.folders = {
                f for f in pending.folders if f != folder and not f.startswith(inside)
            }
            if not pending.folders:
                self._pending = None

    def cancel(self) -> None:
        """Stop the current run and forget queued requests (a pause stays: see set_paused)."""
        with self._lock:
            self._pending = None
        self.stop.set()

    def shutdown(self) -> None:
        with self._lock:
            self._shutting_down = True
            self._pending = None
        self.pause.clear()
        self.stop.set()

    # -- worker thread ---------------------------------------------------------------------

    @Slot()
    def _drain(self) -> None:
        while True:
            with self._lock:
                if self._shutting_down or self._pending is None or self._embedder is None:
                    return
                job, self._pending = self._pending, None
                embedder = self._embedder
                self.stop.clear()
            self._run(job, embedder)
            with self._lock:
                if self._pending is None:
                    break
        self.idle.emit()

    def _run(self, job: _Request, embedder: Embedder) -> None:
        from ..indexer import Indexer
        from .library_ops import use_model_threads

        use_model_threads(self.threads)
        folders = sorted(job.folders) if job.folders is not None else None
        self._running = True
        self.started.emit(folders)
        # The core checks the pause between batches; a run that begins paused must not
        # scan or index a first batch either.
        while self.pause.is_set() and not self.stop.is_set():
            self.stop.wait(0.1)
        try:
            indexer = Indexer(self.store, embedder, retry_failed=job.retry_failed)
            report = indexer.run(
                folders,
                # The core reuses one Progress object; a queued signal needs a snapshot.
                on_progress=lambda p: self.progress.emit(dataclasses.replace(p)),
                on_batch=self._on_batch,
                stop=self.stop,
                pause=self.pause,
            )
        except PhotoclipError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug: say so, keep the app running
            log.error("Indexing failed:\n%s", traceback.format_exc())
            self.failed.emit(f"Indexing stopped because of an unexpected error: {exc}.")
        else:
            self.finished.emit(report)
            if folders is None and not report.cancelled:
                self.upToDate.emit(embedder)
            self._prepare_search(embedder)
        finally:
            self._running = False

    def _prepare_search(self, embedder: Embedder) -> None:
        """While the model is at hand in this thread: ready what telling a strong match
        needs, so the first search doesn't wait for it, and check the new photos for copies
        (stops with the worker)."""
        from ..duplicates import check_for_copies
        from ..search import Searcher

        try:
            Searcher(self.store, embedder).prepare(self.stop)
        except PhotoclipError as exc:  # a busy library, say: the first search does it
            log.info("Search not prepared: %s", exc)
        check_for_copies(self.store, embedder, self.stop)

    def _on_batch(self, photo_ids: list[int]) -> None:
        rows: list[dict[str, Any]] = [
            {k: r[k] for k in ("id", "path", "taken_at", "folder_id")}
            for r in self.store.photos_by_id(photo_ids)
        ]
        self.batchIndexed.emit(rows)

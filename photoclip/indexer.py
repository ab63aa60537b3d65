"""Brings the library up to date with the folders on disk: scan, re-link moved files, forget
deleted ones, then decode and embed new and changed photos in a pipeline, committing per batch.

Reports through plain callbacks and stops on a ``threading.Event``; it never prints."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .embedder import AnyEmbedder, default_threads, model_threads
from .errors import ModelUnavailableError
from .imaging import DecodedPhoto, FileReadError, PhotoError, decode_photo, file_time
from .preprocess import CENTRE, EXTRA_VIEWS, needs_extra_views
from .presence import judge
from .scanner import FileEntry, ScanOutcome, describe_os_error, fingerprint, walk
from .store import FolderState, KnownFile, Store

log = logging.getLogger(__name__)

# Said of a file that couldn't be read for a reason that may pass (an I/O error, a drive that
# went away, no permission yet): nothing about it is written but this note.
RETRY_NOTE = " photoclip will try it again on the next scan."


@dataclass
class Progress:
    phase: str  # "scanning", "indexing" or "done"
    scanned: int = 0  # photo files seen so far while scanning
    total: int = 0  # photos to decode and embed in this run
    done: int = 0  # of those, finished (indexed + failed)
    indexed: int = 0
    failed: int = 0
    rate: float = 0.0  # photos per second, recent
    eta_s: float | None = None
    current: str = ""


@dataclass
class IndexReport:
    scanned: int = 0
    unchanged: int = 0
    new: int = 0
    changed: int = 0
    moved: int = 0
    removed: int = 0
    indexed: int = 0
    failed: int = 0  # files whose bytes aren't a photo photoclip can read (lasting)
    deferred: int = 0  # files that couldn't be read this time (I/O errors): retried next scan
    kept: int = 0  # photos not found where the scan couldn't look, kept in the library
    cancelled: bool = False
    elapsed_s: float = 0.0
    missing_folders: list[str] = field(default_factory=list)


@dataclass
class _Job:
    entry: FileEntry
    folder_id: int


@dataclass
class _Prepared:
    job: _Job
    fingerprint: str | None = None
    photo: DecodedPhoto | None = None
    tensor: Any = None
    extras: Any = None  # the extra views' tensor (preprocess.extra_view_boxes), or None
    error: str | None = None
    transient: bool = False  # the error may pass: write nothing but a note, retry next scan


_Embedded = tuple[_Prepared, Any]  # a photo and its vectors (None: the model failed on it)
ProgressCallback = Callable[[Progress], None]
BatchCallback = Callable[[list[int]], None]


class _RateMeter:
    """Photos per second over roughly the last ``window`` seconds."""

    def __init__(self, window: float = 10.0) -> None:
        self.window = window
        self.samples: deque[tuple[float, int]] = deque()

    def add(self, count: int) -> float:
        now = time.monotonic()
        self.samples.append((now, count))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
            self.samples.popleft()
        if len(self.samples) < 2:
            return 0.0
        span = now - self.samples[0][0]
        return (count - self.samples[0][1]) / span if span > 0 else 0.0


class Indexer:
    def __init__(
        self,
        store: Store,
        embedder: AnyEmbedder,
        *,
        batch_size: int = 16,
        decode_workers: int | None = None,
        retry_failed: bool = False,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.batch_size = batch_size
        self.decode_workers = decode_workers or max(2, min(4, os.cpu_count() or 2))
        self.retry_failed = retry_failed
        self.model_size = embedder.image_size
        # Extra views are of the centre square's way (preprocess.extra_view_boxes).
        self.views = embedder.identity.preprocess == CENTRE
        self._model_ready = threading.Event()  # set once the model has loaded, in _process

    # -- public ----------------------------------------------------------------------------

    def run(
        self,
        folders: Iterable[str] | None = None,
        *,
        add: bool = False,
        on_progress: ProgressCallback | None = None,
        on_batch: BatchCallback | None = None,
        stop: threading.Event | None = None,
        pause: threading.Event | None = None,
    ) -> IndexReport:
        """Index the given library folders, or all of them. With ``add``, folders not yet in
        the library are added first; without it they are ignored, so a late request for a
        folder the user has removed never brings it back."""
        stop = stop or threading.Event()
        started = time.monotonic()
        report = IndexReport()
        notify = on_progress or (lambda p: None)
        with self.store.writer_lock():
            targets = self._targets(folders, add)
            model_id = self.store.model_id(self.embedder.identity)
            jobs = self._plan(targets, model_id, report, notify, stop)
            if not stop.is_set():
                self._process(jobs, model_id, report, notify, on_batch, stop, pause)
        report.cancelled = stop.is_set()
        report.elapsed_s = time.monotonic() - started
        done = report.indexed + report.failed + report.deferred
        notify(
            Progress(
                "done",
                scanned=report.scanned,
                total=len(jobs) if not report.cancelled else done,
                done=done,
                indexed=report.indexed,
                failed=report.failed + report.deferred,
            )
        )
        return report

    def _targets(self, folders: Iterable[str] | None, add: bool) -> list[tuple[int, str]]:
        if folders is not None:
            ids = set()
            for path in folders:
                if add:
                    ids.add(self.store.add_folder(path))
                elif (fid := self.store.folder_id_for(path)) is not None:
                    ids.add(fid)
        return [(f.id, f.path) for f in self.store.folders() if folders is None or f.id in ids]

    # -- planning: what changed on disk ----------------------------------------------------

    def _plan(
        self,
        targets: list[tuple[int, str]],
        model_id: int,
        report: IndexReport,
        notify: ProgressCallback,
        stop: threading.Event,
    ) -> list[_Job]:
        jobs: list[_Job] = []
        new_jobs: list[_Job] = []
        vanished: dict[int, KnownFile] = {}  # photo id -> row, for files no longer where stored
        all_roots = [f.path for f in self.store.folders()]
        seen_dirs: set[tuple[int, int]] = set()
        seen_files: set[tuple[int, int]] = set()
        for folder_id, root in targets:
            known = self.store.known_files(folder_id)
            needs_vector = self.store.photo_ids_without_vector(model_id, folder_id)
            if self.views:
                needs_vector |= self.store.photo_ids_without_views(model_id, folder_id)
            previous = self.store.folder_state(folder_id)
            problems: list[tuple[str, str]] = []
            seen: set[str] = set()
            outcome = ScanOutcome()

            def record(path: str, reason: str, found: list[tuple[str, str]] = problems) -> None:
                found.append((path, reason))

            for entry in walk(
                root, stop=stop, on_error=record, outcome=outcome,
                other_roots=[r for r in all_roots if r != root],
                seen_dirs=seen_dirs, seen_files=seen_files,
            ):  # fmt: skip
                seen.add(entry.path)
                report.scanned += 1
                if report.scanned % 500 == 0:
                    notify(Progress("scanning", scanned=report.scanned, current=entry.path))
                row = known.get(entry.path)
                job = _Job(entry, folder_id)
                if row is None:
                    new_jobs.append(job)
                elif row.size != entry.size or row.mtime_ns != entry.mtime_ns:
                    report.changed += 1
                    jobs.append(job)
                elif row.id in needs_vector or (self.retry_failed and row.status == "error"):
                    jobs.append(job)
                else:
                    report.unchanged += 1
            if stop.is_set():
                return []  # a partial scan must not be mistaken for deletions
            not_seen = {path: row for path, row in known.items() if path not in seen}

            def listed(path: str, seen: set[str] = seen) -> bool:
                return path in seen or self.store.photo_id_for_path(path) is not None

            verdict = judge(root, outcome, previous, known, not_seen, listed)
            if verdict.missing:
                report.missing_folders.append(root)
            report.kept += verdict.kept
            vanished.update((row.id, row) for row in verdict.gone.values())
            self._record_scan_problems(folder_id, problems + verdict.problems, verdict.state)
        new_jobs = self._relink_moved(new_jobs, vanished, report)
        report.new = len(new_jobs)
        if vanished:
            with self.store.transaction() as conn:
                self.store.delete_photos(conn, vanished)
            report.removed = len(vanished)
        return jobs + new_jobs

    def _relink_moved(
        self, new_jobs: list[_Job], vanished: dict[int, KnownFile], report: IndexReport
    ) -> list[_Job]:
        """A new path whose content matches a vanished row is that photo, moved or renamed:
        update its path and keep its vector and thumbnail."""
        by_size: dict[int, list[KnownFile]] = {}
        for row in vanished.values():
            if row.fingerprint and row.status == "indexed":
                by_size.setdefault(row.size, []).append(row)
        if not by_size:
            return new_jobs
        remaining: list[_Job] = []
        relinks: list[tuple[_Job, KnownFile]] = []
        for job in new_jobs:
            candidates = by_size.get(job.entry.size)
            if candidates:
                try:
                    fp = fingerprint(job.entry.path, job.entry.size)
                except OSError:
                    fp = None
                match = next((r for r in candidates if r.fingerprint == fp), None)
                if match is not None:
                    candidates.remove(match)
                    relinks.append((job, match))
                    continue
            remaining.append(job)
        if relinks:
            with self.store.transaction() as conn:
                for job, row in relinks:
                    e = job.entry
                    folder_id = self.store.live_folder_id(conn, job.folder_id, e.path)
                    if folder_id is None:
                        continue  # the folder was removed meanwhile: leave the row alone
                    conn.execute(
                        "UPDATE photos SET path = ?, folder_id = ?, size = ?, mtime_ns = ? "
                        "WHERE id = ?",
                        (e.path, folder_id, e.size, e.mtime_ns, row.id),
                    )
                    del vanished[row.id]
                    report.moved += 1
        return remaining

    def _record_scan_problems(
        self, folder_id: int, problems: list[tuple[str, str]], state: FolderState | None = None
    ) -> None:
        now = time.time()
        with self.store.transaction() as conn:
            if not conn.execute("SELECT 1 FROM folders WHERE id = ?", (folder_id,)).fetchone():
                return  # removed (or absorbed) while we scanned it
            conn.execute("DELETE FROM scan_problems WHERE folder_id = ?", (folder_id,))
            conn.executemany(
                "INSERT OR REPLACE INTO scan_problems (path, folder_id, reason, seen_at) "
                "VALUES (?, ?, ?, ?)",
                [(p, folder_id, r, now) for p, r in problems],
            )
            if state is not None:
                self.store.save_folder_state(conn, folder_id, state)

    # -- processing: decode, embed, store --------------------------------------------------

    def _prepare(self, job: _Job) -> _Prepared:
        """Runs in the decode pool: everything up to the model's input tensor (that last
        step waits for the model: until it has loaded, ``_process`` takes it)."""
        out = _Prepared(job)
        with _failures(out):
            out.fingerprint = fingerprint(job.entry.path, job.entry.size)
            out.photo = decode_photo(job.entry.path, self.model_size, centre=self.views)
        if out.error is None and self._model_ready.is_set():
            self._model_input(out)
        return out

    def _model_input(self, out: _Prepared) -> None:
        """The decoded photo made the model's input (its tensor, and its extra views')."""
        assert out.photo is not None
        with _failures(out):
            out.tensor = self.embedder.preprocess(out.photo.image)
            out.extras = self.embedder.extra_views(out.photo.image)
            out.photo.image = None  # type: ignore[assignment]  # free it early

    def _process(
        self,
        jobs: list[_Job],
        model_id: int,
        report: IndexReport,
        notify: ProgressCallback,
        on_batch: BatchCallback | None,
        stop: threading.Event,
        pause: threading.Event | None,
    ) -> None:
        total = len(jobs)
        progress = Progress("indexing", scanned=report.scanned, total=total)
        notify(progress)
        if not jobs:
            return
        meter = _RateMeter()
        meter.add(0)
        # As many threads as the model may use: where it runs batches side by side, the pool
        # runs them too, each on one of its threads between decoding photos.
        threads = model_threads(self.embedder.threads or default_threads())
        workers = max(self.decode_workers, threads)
        lookahead = max(self.batch_size * 2, workers * 2)
        pending: deque[Future[_Prepared]] = deque()
        embedding: deque[tuple[list[_Prepared], Future[list[_Embedded]]]] = deque()
        queue = iter(jobs)
        batch: list[_Prepared] = []
        side_by_side = 1  # batches embedded at once in the pool (1: here, on all threads)
        size = self.batch_size
        self._model_ready.clear()

        def write(done: list[_Prepared], embedded: list[_Embedded]) -> None:
            self._write_batch(done, embedded, model_id, report, on_batch)
            progress.done = report.indexed + report.failed + report.deferred
            progress.indexed = report.indexed
            progress.failed = report.failed + report.deferred
            progress.current = done[-1].job.entry.path
            progress.rate = meter.add(progress.done)
            left = total - progress.done
            progress.eta_s = left / progress.rate if progress.rate > 0 else None
            notify(progress)

        with ThreadPoolExecutor(workers, thread_name_prefix="decode") as pool:
            try:
                while not stop.is_set():
                    while len(pending) < lookahead:
                        job = next(queue, None)
                        if job is None:
                            # The last photos in smaller batches, side by side: the last
                            # one alone leaves the other threads idle for less time.
                            size = -(-self.batch_size // side_by_side)
                            break
                        pending.append(pool.submit(self._prepare, job))
                    if not self._model_ready.is_set():
                        # A deferred model loads here, while the pool decodes the first
                        # photos (their model input is made below, once it has loaded).
                        self.embedder.load()
                        self._model_ready.set()
                        side_by_side = max(1, min(self.embedder.parallel_batches, workers))
                    if not pending:
                        break
                    prepared = pending.popleft().result()
                    if prepared.error is None and prepared.tensor is None:
                        self._model_input(prepared)  # decoded before the model was there
                    batch.append(prepared)
                    ok = sum(1 for p in batch if p.error is None)
                    if ok < size and pending:
                        continue
                    if side_by_side > 1:
                        embedding.append((batch, pool.submit(self._embed, batch, 1)))
                        while embedding and (
                            len(embedding) >= side_by_side or embedding[0][1].done()
                        ):
                            done, running = embedding.popleft()
                            write(done, running.result())
                    else:
                        write(batch, self._embed(batch))
                    batch = []
                    while pause is not None and pause.is_set() and not stop.is_set():
                        stop.wait(0.1)  # paused: idle until resumed or stopped
                # The batches still being embedded (on a stop, those begun) are kept.
                while embedding:
                    done, running = embedding.popleft()
                    if not (stop.is_set() and running.cancel()):
                        write(done, running.result())
            finally:
                for fut in pending:
                    fut.cancel()
                for _, running in embedding:
                    running.cancel()

    def _embed(self, batch: list[_Prepared], threads: int | None = None) -> list[_Embedded]:
        """Each photo of ``batch`` still good, with its vector and its extra views' (or None,
        and an error on the photo, when the model chokes on it: it doesn't take the batch
        down with it). ``threads``: as ``encode_photos``."""
        good = [p for p in batch if p.error is None and p.photo is not None]
        if not good:
            return []
        try:
            # A photo's tensor is one view or several (photoclip.preprocess): one vector each.
            vectors = self.embedder.encode_photos(
                [p.tensor for p in good], [p.extras for p in good], threads
            )
            return list(zip(good, vectors, strict=True))
        except Exception:
            if len(good) == 1:
                log.exception("The model failed on %s", good[0].job.entry.path)
                good[0].error, good[0].transient = _unexpected(sys.exc_info()[1]), True
                return [(good[0], None)]
        return [pair for p in good for pair in self._embed([p], threads)]

    def _write_batch(
        self,
        batch: list[_Prepared],
        embedded_photos: list[_Embedded],
        model_id: int,
        report: IndexReport,
        on_batch: BatchCallback | None,
    ) -> None:
        rows: list[tuple[_Prepared, dict[str, Any], Any, Any]] = []
        now = time.time()
        for p, embedded in embedded_photos:
            if embedded is None:
                continue
            vector, views = embedded
            try:
                rows.append((p, self._photo_row(p, now), vector.astype("float32").tobytes(), views))
            except Exception as exc:
                log.exception("Unexpected error on %s", p.job.entry.path)
                p.error, p.transient = _unexpected(exc), True
        written: list[int] = []
        with self.store.transaction() as conn:
            for p, row, vector_bytes, views in rows:
                try:
                    with _savepoint(conn):
                        pid = self._write_photo(conn, p, row, vector_bytes, views, model_id)
                except _ROW_ERRORS as exc:  # this photo's values, not the library: go on
                    log.exception("Unexpected error writing %s", row["path"])
                    p.error, p.transient = _unexpected(exc), True
                    continue
                if pid is not None:
                    written.append(pid)
            for p in batch:
                if p.error is None:
                    continue
                e = p.job.entry
                folder_id = self.store.live_folder_id(conn, p.job.folder_id, e.path)
                if folder_id is None:
                    continue
                if p.transient:
                    # Maybe a passing I/O error: the photo keeps whatever it had; only a note
                    # says why it wasn't (re)indexed. The next scan tries it again.
                    report.deferred += 1
                    conn.execute(
                        "INSERT OR REPLACE INTO scan_problems (path, folder_id, reason, seen_at) "
                        "VALUES (?, ?, ?, ?)",
                        (e.path, folder_id, p.error, now),
                    )
                    continue
                # Readable bytes that aren't a photo we can decode: a lasting problem, kept
                # until the file changes. Only this model's vector goes: the others' stay.
                report.failed += 1
                pid = self.store.upsert_photo(
                    conn,
                    {
                        "folder_id": folder_id,
                        "path": e.path,
                        "fingerprint": p.fingerprint,
                        "size": e.size,
                        "mtime_ns": e.mtime_ns,
                        "status": "error",
                        "error": p.error,
                        "indexed_at": now,
                    },
                )
                for table in ("vectors", "view_vectors"):
                    conn.execute(
                        f"DELETE FROM {table} WHERE photo_id = ? AND model_id = ?", (pid, model_id)
                    )
        report.indexed += len(written)
        if on_batch is not None and written:
            on_batch(written)

    def _write_photo(
        self,
        conn: sqlite3.Connection,
        p: _Prepared,
        row: dict[str, Any],
        vector_bytes: bytes,
        views: Any,
        model_id: int,
    ) -> int | None:
        """One indexed photo's row, thumbnail, vector and extra views; None when its folder
        was removed from the library meanwhile."""
        folder_id = self.store.live_folder_id(conn, p.job.folder_id, row["path"])
        if folder_id is None:
            return None
        row["folder_id"] = folder_id
        before = conn.execute(
            "SELECT id, size, mtime_ns FROM photos WHERE path = ?", (row["path"],)
        ).fetchone()
        if before is not None and tuple(before[1:]) != (row["size"], row["mtime_ns"]):
            # New content, read and embedded: other models' vectors describe a picture that
            # is no longer on disk; they are made again when needed.
            for table in ("vectors", "view_vectors"):
                conn.execute(
                    f"DELETE FROM {table} WHERE photo_id = ? AND model_id != ?",
                    (before[0], model_id),
                )
        pid = self.store.upsert_photo(conn, row)
        assert p.photo is not None
        conn.execute(
            "INSERT OR REPLACE INTO thumbnails (photo_id, jpeg, width, height) VALUES (?, ?, ?, ?)",
            (pid, p.photo.thumbnail, p.photo.thumb_width, p.photo.thumb_height),
        )
        conn.execute(
            "INSERT OR REPLACE INTO vectors (photo_id, model_id, vector) VALUES (?, ?, ?)",
            (pid, model_id, vector_bytes),
        )
        if not self.views:
            return pid
        if views is not None or needs_extra_views(row["width"] or 0, row["height"] or 0):
            # (a row even with no views, so a photo whose decoded shape disagrees with its
            # recorded one isn't read again on every scan)
            count = 0 if views is None else len(views)
            blob = b"" if views is None else views.astype("float32").tobytes()
            conn.execute(
                "INSERT OR REPLACE INTO view_vectors (photo_id, model_id, method, count, vectors) "
                "VALUES (?, ?, ?, ?, ?)",
                (pid, model_id, EXTRA_VIEWS, count, blob),
            )
        else:
            conn.execute(
                "DELETE FROM view_vectors WHERE photo_id = ? AND model_id = ?", (pid, model_id)
            )
        return pid

    @staticmethod
    def _photo_row(p: _Prepared, now: float) -> dict[str, Any]:
        assert p.photo is not None
        photo, e = p.photo, p.job.entry
        taken_at, offset = photo.taken_at, photo.taken_offset
        source: str | None = "exif"
        if taken_at is None:
            taken_at, offset = file_time(e.mtime_ns)
            source = "file" if taken_at else None
        return {
            "folder_id": p.job.folder_id,
            "path": e.path,
            "fingerprint": p.fingerprint,
            "size": e.size,
            "mtime_ns": e.mtime_ns,
            "status": "indexed",
            "error": None,
            "format": photo.format,
            "width": photo.width,
            "height": photo.height,
            "taken_at": taken_at,
            "taken_offset": offset,
            "taken_at_source": source,
            "camera": photo.camera,
            "latitude": photo.latitude,
            "longitude": photo.longitude,
            "indexed_at": now,
        }


# What one photo's values can make SQLite refuse (a number too big for it, say), as opposed
# to what the library can (disk full, read-only), which stops the run with its own sentence.
_ROW_ERRORS = (OverflowError, ValueError, TypeError, sqlite3.IntegrityError,
               sqlite3.InterfaceError)  # fmt: skip


@contextlib.contextmanager
def _savepoint(conn: sqlite3.Connection) -> Iterator[None]:
    """All of one photo's writes or none, inside the batch's transaction."""
    conn.execute("SAVEPOINT photo")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK TO photo")
        conn.execute("RELEASE photo")
        raise
    conn.execute("RELEASE photo")


@contextlib.contextmanager
def _failures(out: _Prepared) -> Iterator[None]:
    """A photo's failure inside: recorded on ``out`` with its reason (whether it may pass),
    its decoded parts dropped. A failure of the model itself is not the photo's: it stops
    the run."""
    try:
        yield
    except ModelUnavailableError:
        raise
    except FileReadError as exc:
        out.error, out.transient = str(exc) + RETRY_NOTE, True
    except PhotoError as exc:
        out.error = str(exc)
    except OSError as exc:  # the fingerprint's read
        out.error, out.transient = describe_os_error(exc) + RETRY_NOTE, True
    except Exception as exc:  # a bug, for this one file: say so, go on with the rest
        log.exception("Unexpected error on %s", out.job.entry.path)
        out.error, out.transient = _unexpected(exc), True
    if out.error is not None:
        out.photo = out.tensor = out.extras = None


def _unexpected(exc: BaseException | None) -> str:
    return (
        f"photoclip hit an unexpected error on this file ({type(exc).__name__}: {exc}). It was "
        "skipped and will be tried again on the next scan; please report this."
    )

"""Brings the library up to date with the folders on disk: scan, re-link moved files, forget
deleted ones, then decode and embed new and changed photos in a pipeline, committing per batch.

Reports through plain callbacks and stops on a ``threading.Event``; it never prints."""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .embedder import AnyEmbedder
from .imaging import DecodedPhoto, PhotoError, decode_photo
from .scanner import FileEntry, describe_os_error, fingerprint, walk
from .store import KnownFile, Store


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
    failed: int = 0
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
    error: str | None = None


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

    # -- public ----------------------------------------------------------------------------

    def run(
        self,
        folders: Iterable[str] | None = None,
        *,
        on_progress: ProgressCallback | None = None,
        on_batch: BatchCallback | None = None,
        stop: threading.Event | None = None,
        pause: threading.Event | None = None,
    ) -> IndexReport:
        """Index the given library folders (added first if new), or all of them."""
        stop = stop or threading.Event()
        started = time.monotonic()
        report = IndexReport()
        notify = on_progress or (lambda p: None)
        with self.store.writer_lock():
            if folders is None:
                targets = [(f.id, f.path) for f in self.store.folders()]
            else:
                ids = {self.store.add_folder(p) for p in folders}
                targets = [(f.id, f.path) for f in self.store.folders() if f.id in ids]
            model_id = self.store.model_id(self.embedder.identity)
            jobs = self._plan(targets, model_id, report, notify, stop)
            if jobs and not stop.is_set():
                self.embedder.load()  # a deferred model: here, not in the decode pool
            if not stop.is_set():
                self._process(jobs, model_id, report, notify, on_batch, stop, pause)
        report.cancelled = stop.is_set()
        report.elapsed_s = time.monotonic() - started
        notify(
            Progress(
                "done",
                scanned=report.scanned,
                total=len(jobs) if not report.cancelled else report.indexed + report.failed,
                done=report.indexed + report.failed,
                indexed=report.indexed,
                failed=report.failed,
            )
        )
        return report

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
        for folder_id, root in targets:
            if not os.path.isdir(root):
                # An unplugged drive is not a deleted library: keep everything, say why.
                report.missing_folders.append(root)
                self._record_scan_problems(
                    folder_id,
                    [(root, "The folder can't be found (moved, or on a drive that isn't "
                            "connected). Its photos stay in the library until it is back.")],
                )  # fmt: skip
                continue
            known = self.store.known_files(folder_id)
            needs_vector = self.store.photo_ids_without_vector(model_id, folder_id)
            problems: list[tuple[str, str]] = []
            seen: set[str] = set()

            def record(path: str, reason: str, found: list[tuple[str, str]] = problems) -> None:
                found.append((path, reason))

            for entry in walk(root, stop=stop, on_error=record):
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
            self._record_scan_problems(folder_id, problems)
            for path, row in known.items():
                if path not in seen:
                    vanished[row.id] = row
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
                    conn.execute(
                        "UPDATE photos SET path = ?, folder_id = ?, size = ?, mtime_ns = ? "
                        "WHERE id = ?",
                        (e.path, job.folder_id, e.size, e.mtime_ns, row.id),
                    )
                    del vanished[row.id]
            report.moved = len(relinks)
        return remaining

    def _record_scan_problems(self, folder_id: int, problems: list[tuple[str, str]]) -> None:
        now = time.time()
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM scan_problems WHERE folder_id = ?", (folder_id,))
            conn.executemany(
                "INSERT OR REPLACE INTO scan_problems (path, folder_id, reason, seen_at) "
                "VALUES (?, ?, ?, ?)",
                [(p, folder_id, r, now) for p, r in problems],
            )

    # -- processing: decode, embed, store --------------------------------------------------

    def _prepare(self, job: _Job) -> _Prepared:
        """Runs in the decode pool: everything up to the model's input tensor."""
        out = _Prepared(job)
        try:
            out.fingerprint = fingerprint(job.entry.path, job.entry.size)
            out.photo = decode_photo(job.entry.path, self.model_size)
            out.tensor = self.embedder.preprocess(out.photo.image)
            out.photo.image = None  # type: ignore[assignment]  # free it early
        except PhotoError as exc:
            out.error = str(exc)
        except OSError as exc:
            out.error = describe_os_error(exc)
        return out

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
        lookahead = max(self.batch_size * 2, self.decode_workers * 2)
        pending: deque[Future[_Prepared]] = deque()
        queue = iter(jobs)
        batch: list[_Prepared] = []
        with ThreadPoolExecutor(self.decode_workers, thread_name_prefix="decode") as pool:
            try:
                while True:
                    while len(pending) < lookahead:
                        job = next(queue, None)
                        if job is None:
                            break
                        pending.append(pool.submit(self._prepare, job))
                    if not pending:
                        break
                    batch.append(pending.popleft().result())
                    ok = sum(1 for p in batch if p.error is None)
                    if ok < self.batch_size and pending:
                        continue
                    self._write_batch(batch, model_id, report, on_batch)
                    progress.done = report.indexed + report.failed
                    progress.indexed, progress.failed = report.indexed, report.failed
                    progress.current = batch[-1].job.entry.path
                    progress.rate = meter.add(progress.done)
                    left = total - progress.done
                    progress.eta_s = left / progress.rate if progress.rate > 0 else None
                    notify(progress)
                    batch = []
                    while pause is not None and pause.is_set() and not stop.is_set():
                        stop.wait(0.1)  # paused: idle until resumed or stopped
                    if stop.is_set():
                        break
            finally:
                for fut in pending:
                    fut.cancel()

    def _write_batch(
        self,
        batch: list[_Prepared],
        model_id: int,
        report: IndexReport,
        on_batch: BatchCallback | None,
    ) -> None:
        good = [p for p in batch if p.error is None and p.photo is not None]
        vectors = None
        if good:
            import torch

            vectors = self.embedder.encode_tensors(torch.stack([p.tensor for p in good]))
        now = time.time()
        written: list[int] = []
        with self.store.transaction() as conn:
            for i, p in enumerate(good):
                assert p.photo is not None and vectors is not None
                pid = self.store.upsert_photo(conn, self._photo_row(p, now))
                conn.execute(
                    "INSERT OR REPLACE INTO thumbnails (photo_id, jpeg, width, height) "
                    "VALUES (?, ?, ?, ?)",
                    (pid, p.photo.thumbnail, p.photo.thumb_width, p.photo.thumb_height),
                )
                conn.execute(
                    "INSERT OR REPLACE INTO vectors (photo_id, model_id, vector) VALUES (?, ?, ?)",
                    (pid, model_id, vectors[i].astype("float32").tobytes()),
                )
                written.append(pid)
            for p in batch:
                if p.error is None:
                    continue
                e = p.job.entry
                pid = self.store.upsert_photo(
                    conn,
                    {
                        "folder_id": p.job.folder_id,
                        "path": e.path,
                        "fingerprint": p.fingerprint,
                        "size": e.size,
                        "mtime_ns": e.mtime_ns,
                        "status": "error",
                        "error": p.error,
                        "indexed_at": now,
                    },
                )
                # A photo that was fine and is now broken must not keep its old vector.
                conn.execute("DELETE FROM vectors WHERE photo_id = ?", (pid,))
                conn.execute("DELETE FROM thumbnails WHERE photo_id = ?", (pid,))
        report.indexed += len(good)
        report.failed += len(batch) - len(good)
        if on_batch is not None and written:
            on_batch(written)

    @staticmethod
    def _photo_row(p: _Prepared, now: float) -> dict[str, Any]:
        assert p.photo is not None
        photo, e = p.photo, p.job.entry
        taken_at, source = photo.taken_at, "exif"
        if taken_at is None:
            taken_at = datetime.fromtimestamp(e.mtime_ns / 1e9).strftime("%Y-%m-%dT%H:%M:%S")
            source = "file"
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
            "taken_at_source": source,
            "camera": photo.camera,
            "latitude": photo.latitude,
            "longitude": photo.longitude,
            "indexed_at": now,
        }

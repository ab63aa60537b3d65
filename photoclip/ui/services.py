"""The background parts one window uses, each in its own thread: the model loader, the
indexing worker and the search worker. Built by ``photoclip.app``; stopped on close."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QThread

from .index_worker import IndexWorker
from .model_loader import ModelLoader
from .search_worker import SearchWorker

if TYPE_CHECKING:
    from ..store import Store


class Services:
    def __init__(
        self,
        store: Store,
        settings: QSettings,
        model_key: str,
        weights: str | None = None,
        threads: int = 0,
    ) -> None:
        self.store = store
        self.settings = settings
        self.model_key = model_key
        self.weights = weights
        self.loader = ModelLoader()
        self.index_worker = IndexWorker(store)
        self.search_worker = SearchWorker(store)
        self.threads = threads
        self._qthreads: list[QThread] = []
        for name, worker in (
            ("photoclip-model", self.loader),
            ("photoclip-index", self.index_worker),
            ("photoclip-search", self.search_worker),
        ):
            thread = QThread()
            thread.setObjectName(name)
            worker.moveToThread(thread)
            self._qthreads.append(thread)
        self.started = False
        self.stopped = False

    @property
    def threads(self) -> int:
        """CPU threads the model may use (0: all); each worker applies it in its thread."""
        return self._threads_setting

    @threads.setter
    def threads(self, value: int) -> None:
        self._threads_setting = value
        self.index_worker.threads = value
        self.search_worker.threads = value

    def start(self) -> None:
        if not self.started:
            self.started = True
            for thread in self._qthreads:
                thread.start()

    def load_model(self) -> None:
        self.start()
        self.loader.request(self.model_key, self.weights, self.threads)

    def shutdown(self, timeout_s: float = 20.0) -> bool:
        """Stop indexing (the core commits per batch, so at most the batch in progress is
        lost) and wait for the threads, at most ``timeout_s``. True when all stopped."""
        if self.stopped:
            return all(t.isFinished() or not t.isRunning() for t in self._qthreads)
        self.stopped = True
        self.index_worker.shutdown()
        self.loader.cancel_download()
        for thread in self._qthreads:
            thread.quit()
        deadline = time.monotonic() + timeout_s
        finished = True
        for thread in self._qthreads:
            left_ms = max(0, int((deadline - time.monotonic()) * 1000))
            finished = bool(thread.wait(left_ms)) and finished
        return finished

    @property
    def threads_finished(self) -> bool:
        return all(not t.isRunning() for t in self._qthreads)

"""Run short blocking work (a store query, a file decode) in a thread pool and get the
result back on the GUI thread as a call, so the GUI thread never waits on I/O."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ..errors import PhotoclipError

log = logging.getLogger(__name__)

_pool: QThreadPool | None = None
_in_flight: set[_Relay] = set()


def pool() -> QThreadPool:
    """The app's pool for small jobs (kept apart from the thumbnail pool, so a slow job never
    holds up the grid)."""
    global _pool
    if _pool is None:
        _pool = QThreadPool()
        _pool.setMaxThreadCount(2)
        # Threads that never expire: each keeps its own SQLite connection for the session,
        # instead of a new one (left open until the store closes) after every idle spell.
        _pool.setExpiryTimeout(-1)
        _pool.setObjectName("photoclip-tasks")
    return _pool


class _Relay(QObject):
    done = Signal(object)
    failed = Signal(str)


class _Job(QRunnable):
    def __init__(self, relay: _Relay, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        super().__init__()
        self.relay = relay
        self.fn = fn
        self.args = args

    def run(self) -> None:
        try:
            result = self.fn(*self.args)
        except PhotoclipError as exc:
            self.relay.failed.emit(str(exc))
        except Exception as exc:  # a bug: keep the app alive, say so, log the details
            log.error("Background task failed:\n%s", traceback.format_exc())
            self.relay.failed.emit(f"Something went wrong: {exc}. Please report this.")
        else:
            self.relay.done.emit(result)


def run_task(
    fn: Callable[..., Any],
    *args: Any,
    on_done: Callable[[Any], None] | None = None,
    on_failed: Callable[[str], None] | None = None,
) -> None:
    """Call ``fn(*args)`` in the pool; ``on_done(result)`` or ``on_failed(message)`` then runs
    on the GUI thread."""
    relay = _Relay()
    _in_flight.add(relay)

    def finish(_: object = None) -> None:
        _in_flight.discard(relay)
        relay.deleteLater()

    if on_done is not None:
        relay.done.connect(on_done)
    if on_failed is not None:
        relay.failed.connect(on_failed)
    relay.done.connect(finish)
    relay.failed.connect(finish)
    pool().start(_Job(relay, fn, args))


def wait_for_tasks(msecs: int = 10_000) -> bool:
    """Let running jobs finish (at shutdown, before the store closes)."""
    if _pool is None:
        return True
    _pool.clear()
    return bool(_pool.waitForDone(msecs))

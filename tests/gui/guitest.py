"""Helpers for the GUI tests: waiting on the app's real work, checking the library,
and sending real drop events."""

from __future__ import annotations

import sqlite3
from pathlib import Path

MODEL_TIMEOUT_MS = 120_000  # the first load imports torch on a busy 2-core machine
INDEX_TIMEOUT_MS = 120_000


def wait_model(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.model_status.embedder is not None, timeout=MODEL_TIMEOUT_MS)


def wait_indexed(qtbot, window, *, at_least: int = 1) -> None:
    """Until a run finished with at least ``at_least`` photos in the library."""
    qtbot.waitUntil(
        lambda: (
            not window.services.index_worker.running
            and window.store.counts()["indexed"] >= at_least
            and not window.index_status.isVisible()
        ),
        timeout=INDEX_TIMEOUT_MS,
    )


def launch_indexed(launch, qtbot, folders: list, *, at_least: int):
    """The app started on ``folders``, once its model has loaded and indexing has finished
    with at least ``at_least`` photos in the library."""
    window = launch(folders)
    wait_model(qtbot, window)
    wait_indexed(qtbot, window, at_least=at_least)
    return window


def wait_results(qtbot, window) -> None:
    """Until the grid shows the answer to the current query."""
    qtbot.waitUntil(
        lambda: not window.search.in_flight and window.model.query == window.search.query,
        timeout=30_000,
    )


def library_is_consistent(db_path: Path) -> tuple[int, list[str]]:
    """(indexed photos, problems): every indexed photo must have a vector and a thumbnail."""
    conn = sqlite3.connect(db_path)
    try:
        indexed = conn.execute("SELECT COUNT(*) FROM photos WHERE status = 'indexed'").fetchone()[0]
        missing = [
            row[0]
            for row in conn.execute(
                """SELECT p.path FROM photos p WHERE p.status = 'indexed' AND (
                       NOT EXISTS (SELECT 1 FROM vectors v WHERE v.photo_id = p.id)
                       OR NOT EXISTS (SELECT 1 FROM thumbnails t WHERE t.photo_id = p.id))"""
            )
        ]
        (check,) = conn.execute("PRAGMA integrity_check").fetchone()
        if check != "ok":
            missing.append(f"integrity_check: {check}")
    finally:
        conn.close()
    return indexed, missing


def drop_urls(widget, paths: list[str], pos=None) -> bool:
    """A real drag entering ``widget`` and dropping file URLs, as a file manager sends them.
    True when the drop was accepted."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl(p) if "://" in p else QUrl.fromLocalFile(p) for p in paths])
    point = QPointF(pos) if pos is not None else QPointF(widget.rect().center())
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier)  # fmt: skip
    enter = QDragEnterEvent(point.toPoint(), *args)  # QPoint here, QPointF for the drop
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(point, *args)
    QApplication.sendEvent(widget, drop)
    return drop.isAccepted()

"""Closing the window mid-index leaves the library consistent, and the next launch picks up
where it stopped."""

from __future__ import annotations

import shutil
import threading

from guitest import library_is_consistent, wait_indexed, wait_model
from PySide6.QtCore import Qt

from tools.shapes import read_manifest


def test_close_mid_index_then_resume(launch, qtbot, shapes_dir, tmp_path):
    photos = shutil.copytree(shapes_dir, tmp_path / "photos")
    total = len(read_manifest(photos))
    library = tmp_path / "library"
    window = launch([photos], library=library)
    worker = window.services.index_worker
    # Hold the indexer after its first batch (a direct connection runs in the indexing
    # thread, before the next batch starts), so the close really happens mid-index.
    first_batch = threading.Event()

    def hold(_: object) -> None:
        worker.pause.set()
        first_batch.set()

    worker.batchIndexed.connect(hold, Qt.ConnectionType.DirectConnection)
    qtbot.waitUntil(first_batch.is_set, timeout=120_000)
    assert worker.running
    window.close()
    assert window.services.threads_finished
    window.services.store.close()

    indexed, problems = library_is_consistent(library / "library.db")
    assert problems == []
    assert 0 < indexed < total

    second = launch(library=library)
    wait_model(qtbot, second)
    with qtbot.waitSignal(second.indexingFinished, timeout=120_000) as finished:
        pass
    report = finished.args[0]
    assert report.new == total - indexed and report.unchanged == indexed
    wait_indexed(qtbot, second, at_least=total)
    indexed, problems = library_is_consistent(library / "library.db")
    assert (indexed, problems) == (total, [])

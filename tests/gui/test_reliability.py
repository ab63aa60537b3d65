"""Never lose the library (issue #7): pause is one state the button shows, a model switch
keeps search working until the new model covers the library, two launches at once end with
one window, and a removed folder stays removed."""

from __future__ import annotations

from guitest import INDEX_TIMEOUT_MS, launch_indexed, wait_indexed
from PySide6.QtCore import QObject, Slot

from tools.shapes import write_library


class Phases(QObject):
    """The phases a worker reports, received on the GUI thread (qtbot.waitSignal on a worker
    thread's signal would run its slot in that thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    @Slot(object)
    def on_progress(self, progress: object) -> None:
        self.seen.append(getattr(progress, "phase", ""))


def test_pause_lasts_until_resumed_and_the_button_always_shows_it(launch, qtbot,
                                                                   small_shapes_dir):  # fmt: skip
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    worker, status = window.services.index_worker, window.index_status

    # The user pauses during a run that finds nothing new (past its scan: the core has
    # reported its indexing phase, with nothing to index).
    phases = Phases()
    worker.progress.connect(phases.on_progress)
    worker.request(None)
    qtbot.waitUntil(lambda: "indexing" in phases.seen, timeout=INDEX_TIMEOUT_MS)
    status.pause_button.click()
    qtbot.waitUntil(lambda: not worker.running and not status.isVisible(), timeout=30_000)
    assert status.paused == worker.paused, "the button and the indexer disagree"
    assert worker.paused  # a pause is the user's decision: it lasts until they resume

    # The next run starts paused, says so, and indexes nothing until Resume.
    write_library(small_shapes_dir / "later", 24, seed=11, min_side=300, max_side=500)
    worker.request([str(small_shapes_dir)])
    qtbot.waitUntil(lambda: status.isVisible() and "paused" in status.label.text().lower())
    assert status.paused and status.pause_button.accessibleName() == "Resume"
    assert window.store.counts()["indexed"] == 40
    status.pause_button.click()
    wait_indexed(qtbot, window, at_least=64)
    assert not status.paused and not worker.paused

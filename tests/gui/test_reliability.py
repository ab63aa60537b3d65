"""Never lose the library (issue #7): pause is one state the button shows, a model switch
keeps search working until the new model covers the library, two launches at once end with
one window, and a removed folder stays removed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from guitest import INDEX_TIMEOUT_MS, launch_indexed, wait_indexed
from PySide6.QtCore import QObject, Slot

from tools.shapes import write_library

REPO = Path(__file__).resolve().parents[2]


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


# One launch of photoclip, cut down to the single-instance hand-off, as photoclip.app.launch
# does it (hand_off, then listen); every copy starts at the same moment.
_LAUNCH = """
import json, sys, time
from PySide6.QtCore import QCoreApplication, QTimer
from photoclip.ui.single_instance import SingleInstance

name, folder, start_at = sys.argv[1], sys.argv[2], float(sys.argv[3])
app = QCoreApplication([])
instance = SingleInstance(name)
while time.time() < start_at - 0.05:
    time.sleep(0.01)
while time.time() < start_at:
    pass  # spin: both copies leave the barrier within microseconds of each other
if instance.hand_off([folder]):
    print("handed-off")
    sys.exit(0)
instance.listen()
received = []
instance.activated.connect(lambda folders: (received.extend(folders), app.quit()))
QTimer.singleShot(8000, app.quit)
app.exec()
instance.close()
print("instance " + json.dumps(received))
"""


def test_two_launches_at_the_same_moment_end_with_one_instance(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    for attempt in range(10):
        name = f"photoclip-race-{os.getpid()}-{attempt}"
        start_at = time.time() + 2.0
        command = [sys.executable, "-c", _LAUNCH, name]
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
        launches = [
            subprocess.Popen([*command, f"/from/{n}", str(start_at)], cwd=REPO, env=env, **pipes)
            for n in range(2)
        ]
        outcomes = []
        for n, launched in enumerate(launches):
            out, err = launched.communicate(timeout=60)
            assert launched.returncode == 0, err
            outcomes.append((out.strip(), n))
        outcomes.sort()
        # Exactly one stays as the instance, and it got the other's folder.
        (first, n_first), (second, _) = outcomes
        assert first == "handed-off", (attempt, outcomes)
        assert second == f'instance ["/from/{n_first}"]', (attempt, outcomes)

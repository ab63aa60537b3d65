"""Timeline benchmark: prints figures from one run (not a test, no timing assertions).

    python -m bench.bench_timeline [--photos 100000] [--frames 300] [--repeats 5]

Over bench_gui's synthetic library (100,000 photos an hour apart: about 137 months):
1. The store's counts per year, month and day (the headers' and the scrubber's query).
2. Browsing: the first page of the timeline until the grid has painted it, its month
   headers carrying the library's counts.
3. Scrolling the whole timeline (every row loaded, month sections under sticky headers):
   wheel-sized steps and scroll-bar jumps, each a synchronous repaint; months and days.
4. The year scrubber: from the top with one page loaded, a jump to the oldest year until
   its first photo is current and on screen (loading the pages in between).

Runs offscreen unless a display is set. bench/bench_gui.py has the same scroll measurement
for the whole app; this one adds the timeline's own costs.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable

from bench.bench_gui import MODEL, OUT, build_library, line, pct


def bench(photos: int, frames: int, repeats: int) -> None:
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QSettings, QTimer

    import photoclip.ui  # noqa: F401  - its PySide6 workaround precedes any Qt call
    from photoclip import app
    from photoclip.store import Store

    db_path = OUT / f"gui-{photos}" / "library.db"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    build_library(db_path, photos)

    print(f"Counts per year / month / day over {photos:,} photos (median of {repeats}):")
    store = Store(db_path)
    for length, what in ((4, "years"), (7, "months"), (10, "days")):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            groups = store.date_counts(length)
            times.append((time.perf_counter() - t0) * 1000)
        line(f"{len(groups):,} {what}", f"{statistics.median(times):.0f} ms")
    store.close()

    qapp = app.create_application()
    tmp = tempfile.mkdtemp(prefix="photoclip-bench-")
    settings = QSettings(f"{tmp}/s.ini", QSettings.Format.IniFormat)
    window = app.launch(
        app.Options([], str(db_path), MODEL, None), settings=settings,
        instance_name=f"bench-timeline-{os.getpid()}",
    )  # fmt: skip
    assert window is not None
    window.watcher.enabled = False  # the synthetic folder doesn't exist on disk

    def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 300) -> None:
        if condition():
            return
        loop = QEventLoop()
        deadline = time.monotonic() + timeout_s
        failed: list[str] = []

        def check() -> None:
            if condition():
                loop.quit()
            elif time.monotonic() > deadline:
                failed.append(what)
                loop.quit()

        timer = QTimer()
        timer.setInterval(1)
        timer.timeout.connect(check)
        timer.start()
        loop.exec()
        timer.stop()
        if failed:
            raise SystemExit(f"bench_timeline: timed out waiting for {what}")

    class PaintWatch(QObject):
        painted_at = 0.0

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.painted_at = time.perf_counter()
            return False

    try:
        window.resize(1280, 800)
        window.show()
        wait_for(lambda: window.model_status.embedder is not None, "the model")
        wait_for(lambda: not window.services.index_worker.running, "the startup scan")
        model, grid, search = window.model, window.grid, window.search
        wait_for(lambda: model.total == photos and not search.in_flight, "browse")
        watch = PaintWatch()
        grid.viewport().installEventFilter(watch)

        print("Browsing: first page of the timeline to a painted grid:")
        first_paint, with_counts = [], []
        for _ in range(repeats):
            shown: list[float] = []

            def note(page: object, s: list[float] = shown) -> None:
                s.append(time.perf_counter())

            search.pageShown.connect(note)
            t0 = time.perf_counter()
            search.refresh()
            wait_for(lambda s=shown: bool(s) and watch.painted_at > s[0], "the first page")
            first_paint.append((watch.painted_at - t0) * 1000)
            wait_for(lambda: bool(model.group_counts), "the month counts")
            with_counts.append((time.perf_counter() - t0) * 1000)
            search.pageShown.disconnect(note)
        line("first page painted (median)", f"{statistics.median(first_paint):.0f} ms")
        line(
            "headers with the library's counts (median)", f"{statistics.median(with_counts):.0f} ms"
        )

        print(f"Scrubber: a jump from the top to the oldest year ({photos:,} photos):")
        jumps = []
        for _ in range(min(3, repeats)):
            search.refresh()
            wait_for(lambda: not search.in_flight and model.rowCount() > 0, "browse")
            wait_for(lambda: bool(window.timeline.scrubber.years), "the years")
            oldest = window.timeline.scrubber.years[-1]
            t0 = time.perf_counter()
            window.timeline.jump_to_year(oldest)

            def there(year: str = oldest) -> bool:
                row = grid.currentIndex().row()
                return (
                    row >= 0
                    and model.row_info(row).taken_at.startswith(year)
                    and grid.visualRect(grid.currentIndex()).intersects(grid.viewport().rect())
                )

            wait_for(there, "the jump")
            jumps.append((time.perf_counter() - t0) * 1000)
        line("loading the pages and scrolling there (median)", f"{statistics.median(jumps):.0f} ms")

        bar = grid.verticalScrollBar()
        for side, what in ((168, "months"), (256, "days")):
            window.grid_controls.slider.setValue(side)
            while model.rowCount() < model.total:  # every row, as bench_gui loads them
                if model.canFetchMore():
                    model.fetchMore()
                wait_for(lambda: model.canFetchMore() or model.rowCount() >= model.total, "a page")
            sections = len(model.sections())
            print(
                f"Scrolling the timeline in {what} ({sections:,} sections, {side} px thumbnails):"
            )
            grid.viewport().repaint()

            def frame_times(positions: list[int]) -> list[float]:
                times = []
                for value in positions:
                    t0 = time.perf_counter()
                    bar.setValue(value)
                    grid.viewport().repaint()
                    times.append((time.perf_counter() - t0) * 1000)
                    qapp.processEvents()
                return times

            step = max(1, bar.singleStep() * 3)
            wheel = frame_times([min(bar.maximum(), i * step) for i in range(frames)])
            rng = random.Random(3)
            jumps = frame_times([rng.randrange(bar.maximum()) for _ in range(frames)])
            line(
                "wheel steps: median / p95 frame",
                f"{statistics.median(wheel):.1f} ms / {pct(wheel, 0.95):.1f} ms",
            )
            line(
                "scroll-bar jumps: median / p95 frame",
                f"{statistics.median(jumps):.1f} ms / {pct(jumps, 0.95):.1f} ms",
            )
    finally:
        app.close(window)
        shutil.rmtree(tmp, ignore_errors=True)  # the settings file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["HF_HUB_OFFLINE"] = "1"
    print(f"photoclip timeline benchmark ({os.cpu_count()} CPUs)")
    bench(args.photos, args.frames, args.repeats)


if __name__ == "__main__":
    main()

"""Screenshots of the desktop app for the docs, taken from the real app on a demo library
(generated shape photos and a few real photographs) with the tiny model.

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python -m tools.screenshots docs/screenshots

Writes empty-state.png, drop.png, indexing.png, timeline.png, search.png, info-panel.png,
album.png (when the app has albums), viewer.png and viewer-zoomed.png into OUT_DIR.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WINDOW_SIZE = (1280, 800)
SHAPE_PHOTOS = 96
HOLD_AT = 48  # the "indexing" shot is taken with this many photos indexed


def write_demo_photos(root: Path) -> Path:
    """Shape photos in nested folders, plus real photographs from scikit-image, their file
    times spread over a few years (they have no EXIF date) so the timeline has months."""
    import random
    from datetime import datetime

    from PIL import Image
    from skimage import data

    from tools.shapes import write_library

    write_library(root / "Shapes", SHAPE_PHOTOS, seed=2024, min_side=480, max_side=1200)
    samples = root / "Samples"
    samples.mkdir(parents=True)
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        Image.fromarray(getattr(data, name)()).convert("RGB").save(samples / f"{name}.jpg")
    rng = random.Random(7)
    months = [(2025, m) for m in (3, 5, 6, 8)] + [(2024, m) for m in (7, 10, 12)] + [(2023, 4)]
    for path in sorted(root.rglob("*.jpg")):
        year, month = months[rng.randrange(len(months))]
        moment = datetime(year, month, rng.randint(1, 28), rng.randint(8, 19), 0).timestamp()
        os.utime(path, (moment, moment))
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    out: Path = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer

    import photoclip.ui  # noqa: F401  - its PySide6 workaround precedes any Qt call
    from photoclip import app as photoclip_app
    from photoclip.ui.sidebar import CountRole

    photoclip_app.create_application()
    work = Path(tempfile.mkdtemp(prefix="photoclip-shots-"))
    photos = write_demo_photos(work / "Pictures")
    settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
    options = photoclip_app.Options([], str(work / "library"), "tiny-shapes", None)
    window = photoclip_app.launch(options, settings=settings, instance_name=f"shots-{os.getpid()}")
    assert window is not None

    def pump(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"screenshots: timed out waiting for {what}")
            pump(50)

    def thumbnails_ready() -> bool:
        """Every cell on screen has its thumbnail."""
        grid, model = window.grid, window.model
        dpr = grid.devicePixelRatioF()
        view = grid.viewport().rect()
        visible = [
            r for r in range(model.rowCount())
            if grid.visualRect(model.index(r)).intersects(view)
        ]  # fmt: skip
        return all(window.thumbnails.peek(model.ids[r], dpr) is not None for r in visible)

    def shoot(name: str) -> None:
        pump(300)
        path = out / name
        window.grab().save(str(path))
        print(f"wrote {path}")

    def row_of(name: str) -> int:
        model = window.model
        return next(r for r in range(model.rowCount()) if model.path(r).endswith(name))

    def shoot_album() -> None:
        """An album in the sidebar, shown in the grid (when this build has albums)."""
        sidebar = window.sidebar
        if not hasattr(sidebar, "select_place") or not hasattr(window.store, "create_album"):
            print("no albums in this build: album.png not taken")
            return
        from tools.shapes import read_manifest

        reds = [p for p, e in read_manifest(photos / "Shapes").items() if e["colour"] == "red"]
        ids, _ = window.store.photo_ids_at(reds)
        album = window.store.create_album("Red things")
        window.store.add_to_album(album, ids)
        window.store.create_album("Holiday 2024")
        window.refresh_library()
        wait_for(lambda: sidebar.select_place(f"album:{album}"), "the album in the sidebar")
        wait_for(lambda: window.model.rowCount() == len(ids) and not window.search.in_flight,
                 "the album's photos")  # fmt: skip
        wait_for(thumbnails_ready, "the album's thumbnails")
        shoot("album.png")
        window.show_all_photos()

    release = threading.Event()
    try:
        window.resize(*WINDOW_SIZE)
        window.show()
        wait_for(lambda: window.model_status.embedder is not None, "the model")
        wait_for(lambda: window.stack.currentWidget() is window.empty, "the welcome panel")
        shoot("empty-state.png")

        window.overlay.show_over(window.splitter)
        shoot("drop.png")
        window.overlay.hide()

        # Hold the indexer after a few batches (in its own thread) to catch it mid-way.
        worker = window.services.index_worker
        held = threading.Event()

        def hold(progress: Any) -> None:
            if progress.phase == "indexing" and progress.done >= HOLD_AT and not held.is_set():
                held.set()
                release.wait(60)

        worker.progress.connect(hold, Qt.ConnectionType.DirectConnection)
        window.add_folders([str(photos)])
        wait_for(held.is_set, "indexing to start")
        wait_for(
            lambda: (
                window.model.rowCount() >= HOLD_AT
                and window.sidebar.list.item(0).data(CountRole) == HOLD_AT
                and thumbnails_ready()
            ),
            "the grid to fill",
        )
        shoot("indexing.png")
        release.set()
        wait_for(lambda: not worker.running and not window.index_status.isVisible(), "indexing")

        window.search.refresh()
        wait_for(lambda: not window.search.in_flight and bool(window.model.group_counts),
                 "the timeline")  # fmt: skip
        grid = window.grid
        layout = grid.layout_now()
        grid.verticalScrollBar().setValue(layout.tops[1] - 80)  # a month header mid-screen
        wait_for(thumbnails_ready, "timeline thumbnails")
        shoot("timeline.png")
        grid.verticalScrollBar().setValue(0)

        window.search_bar.set_text("a red circle")
        wait_for(lambda: window.model.query.text == "a red circle" and not window.search.in_flight,
                 "search results")  # fmt: skip
        wait_for(thumbnails_ready, "result thumbnails")
        window.grid.setCurrentIndex(window.model.index(0))
        window.grid.clearSelection()
        shoot("search.png")

        # The info panel beside the grid, on a real photograph.
        window.search_bar.set_text("")
        wait_for(lambda: window.model.query.kind == "browse" and not window.search.in_flight,
                 "browse")  # fmt: skip
        astronaut = row_of("astronaut.jpg")
        window.grid.setCurrentIndex(window.model.index(astronaut))
        window.grid.scrollTo(window.model.index(astronaut))
        window.toggle_info()
        wait_for(lambda: window.info_panel.info is not None, "the info panel")
        wait_for(thumbnails_ready, "thumbnails beside the info panel")
        shoot("info-panel.png")
        window.toggle_info()

        shoot_album()

        window.search_bar.set_text("a red circle")
        wait_for(lambda: window.model.query.text == "a red circle" and not window.search.in_flight,
                 "search results")  # fmt: skip
        window.open_viewer(0)
        wait_for(window.viewer.full_image_shown, "the viewer")
        shoot("viewer.png")
        window.close_viewer()

        # The zoomed viewer: 200 % on a real photograph, its info panel open.
        window.search_bar.set_text("")
        wait_for(lambda: window.model.query.kind == "browse" and not window.search.in_flight,
                 "browse")  # fmt: skip
        row = row_of("chelsea.jpg")
        window.open_viewer(row)
        wait_for(window.viewer.full_image_shown, "the viewer")
        canvas = window.viewer.canvas
        canvas.set_scale(2 * canvas.actual_scale())
        wait_for(lambda: canvas.pixmap_size() == canvas.full_size, "the full-resolution decode")
        window.toggle_info()
        wait_for(lambda: window.info_panel.info is not None, "the info panel")
        shoot("viewer-zoomed.png")
        window.toggle_info()
    finally:
        release.set()
        photoclip_app.close(window)
    return 0


if __name__ == "__main__":
    sys.exit(main())

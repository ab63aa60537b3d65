"""Dropping a folder indexes it and typing a description ranks the photos, end to end with
the tiny model trained on coloured shapes."""

from __future__ import annotations

import shutil

from guitest import drop_urls, launch_indexed, wait_indexed, wait_model, wait_results
from PySide6.QtCore import Qt

from photoclip.ui.grid_model import DimRole, PathRole, ScoreRole
from tools.shapes import read_manifest


def top_paths(window, n: int) -> list[str]:
    model = window.model
    return [model.index(r).data(PathRole) for r in range(min(n, model.rowCount()))]


def test_drop_folder_index_then_search_a_red_circle(launch, qtbot, shapes_dir, tmp_path):
    photos = shutil.copytree(shapes_dir, tmp_path / "photos")
    truth = read_manifest(photos)
    red_circles = {p for p, e in truth.items() if (e["colour"], e["shape"]) == ("red", "circle")}
    assert len(red_circles) >= 5
    window = launch()
    wait_model(qtbot, window)

    assert drop_urls(window, [str(photos)])
    wait_indexed(qtbot, window, at_least=len(truth))
    assert window.store.counts()["indexed"] == len(truth)
    qtbot.waitUntil(lambda: window.sidebar.list.count() == 3)  # All photos, the folder, Problems
    wait_results(qtbot, window)
    assert window.model.total == len(truth)  # browsing: every photo, newest first

    window.search_bar.focus()
    qtbot.keyClicks(window.search_bar.edit, "a red circle")
    qtbot.waitUntil(lambda: window.model.query.text == "a red circle", timeout=30_000)
    wait_results(qtbot, window)

    top = top_paths(window, 5)
    assert top[0] in red_circles, [truth[p] for p in top]
    assert sum(p in red_circles for p in top) >= 4, [truth[p] for p in top]
    scores = [window.model.index(r).data(ScoreRole) for r in range(5)]
    assert scores == sorted(scores, reverse=True)
    # The strong/weaker split is reported, the strong matches are red circles, and the
    # weaker ones are dimmed.
    strong = window.model.strong_count
    assert strong >= 3
    label = window.result_label.text()
    assert label == f"{strong} strong matches · {len(truth)} photos"
    strong_paths = top_paths(window, strong)
    assert sum(p in red_circles for p in strong_paths) >= 0.8 * len(strong_paths)
    assert not window.model.index(0).data(DimRole)
    assert window.model.index(strong).data(DimRole)

    # Esc clears the search: back to all photos.
    window.search_bar.edit.setFocus()
    qtbot.keyClick(window.search_bar.edit, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.model.query.kind == "browse", timeout=10_000)


def test_query_errors_are_shown_inline(launch, qtbot, small_shapes_dir):
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    window.search_bar.set_text("- people")
    qtbot.waitUntil(lambda: "at least one thing to look for" in window.result_label.text())
    window.search_bar.set_text("./no-such-reference.jpg")
    qtbot.waitUntil(lambda: "can't be found" in window.result_label.text())
    window.search_bar.set_text("2:circle + green")
    wait_results(qtbot, window)
    assert window.model.rowCount() == 40 and not window.search.error


def test_folder_filter_sort_by_date_and_pagination(launch, qtbot, small_shapes_dir, tmp_path):
    other = shutil.copytree(small_shapes_dir / "inbox", tmp_path / "other")
    window = launch_indexed(
        launch, qtbot, [small_shapes_dir, other], at_least=40 + len(list(other.glob("*.jpg")))
    )
    qtbot.waitUntil(lambda: window.sidebar.list.count() == 4)
    # Pick the second folder in the sidebar: only its photos are searched.
    window.sidebar.list.setCurrentRow(2)
    window.search_bar.set_text("a circle")
    wait_results(qtbot, window)
    folder = window.sidebar.current().path
    assert window.model.rowCount() == window.model.total > 0
    assert all(p.startswith(folder) for p in top_paths(window, window.model.rowCount()))
    # Sort by date: the strong matches come newest first.
    window.sidebar.select_all_photos()
    window.search_bar.by_date.setChecked(True)
    wait_results(qtbot, window)
    assert window.model.query.sort_by_date


def test_similar_by_dropping_an_image_on_the_search_bar(launch, qtbot, small_shapes_dir, tmp_path):
    """An image from outside the library, dropped on the search bar, finds its look-alike:
    here a resized, re-encoded copy of one of the library's photos finds that photo."""
    from PIL import Image

    original = sorted(read_manifest(small_shapes_dir))[7]
    outside = tmp_path / "outside" / "copy.jpg"
    outside.parent.mkdir()
    with Image.open(original) as im:
        im.resize((im.width // 2, im.height // 2)).save(outside, quality=80)
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)

    assert drop_urls(window.search_bar.edit, [str(outside)])
    qtbot.waitUntil(lambda: window.model.query.kind == "similar", timeout=30_000)
    wait_results(qtbot, window)
    assert window.search_bar.chip.isVisible()
    assert window.search_bar.chip.text() == "Similar to copy.jpg"
    assert top_paths(window, 1) == [original]
    # Clearing the chip goes back to all photos.
    window.search_bar.chip.click()
    qtbot.waitUntil(lambda: window.model.query.kind == "browse", timeout=10_000)


def test_a_library_vectors_load_before_the_first_search(launch, qtbot, small_shapes_dir, tmp_path):
    """Launched on a library indexed before, the app reads its vectors in the background
    (search_worker's preload, a few chunks at a time), so the first search needn't wait;
    browsing the grid goes on meanwhile."""
    from guitest import wait_indexed, wait_model

    library = tmp_path / "library"
    first = launch([small_shapes_dir], library=library)
    wait_model(qtbot, first)
    wait_indexed(qtbot, first, at_least=40)
    first.close()
    assert first.services.threads_finished
    first.services.store.close()

    window = launch(library=library)
    wait_model(qtbot, window)
    worker = window.services.search_worker
    qtbot.waitUntil(lambda: worker._searcher is not None, timeout=60_000)
    index = worker._searcher.index
    qtbot.waitUntil(lambda: len(index) == 40, timeout=60_000)
    assert not window.model.query.text  # nobody searched
    assert window.model.rowCount() == 40  # the grid, browsed meanwhile

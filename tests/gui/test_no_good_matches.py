"""A search about nothing in the library says so, and still shows the closest photos (#10):
the app with the tiny model trained on coloured shapes, on held-out shape photos."""

from __future__ import annotations

from guitest import launch_indexed, wait_results

from photoclip.ui.grid_model import DimRole, ScoreRole


def search(qtbot, window, text: str) -> None:
    window.search_bar.focus()
    window.search_bar.edit.clear()
    qtbot.keyClicks(window.search_bar.edit, text)
    qtbot.waitUntil(lambda: window.model.query.text == text, timeout=30_000)
    wait_results(qtbot, window)


def test_gibberish_has_no_good_match_but_shows_the_closest_photos(launch, qtbot, shapes_dir):
    window = launch_indexed(launch, qtbot, [str(shapes_dir)], at_least=240)

    search(qtbot, window, "zxqvbnm")

    assert window.model.strong_count == 0
    label = window.result_label.text()
    assert label == "No good matches — showing the closest photos · 240 photos"
    scores = [window.model.index(r).data(ScoreRole) for r in range(10)]
    assert None not in scores and scores == sorted(scores, reverse=True)
    assert not any(window.model.index(r).data(DimRole) for r in range(10))  # none set apart

    search(qtbot, window, "a white star")  # a match again: the split is back
    assert window.model.strong_count > 0
    assert window.result_label.text().endswith("strong matches · 240 photos")

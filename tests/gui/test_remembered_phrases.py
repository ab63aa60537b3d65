"""Only the searches a user settled on are remembered in the library (the phrase cache that
lets a repeated search skip the model): not every prefix a pause in typing searched for."""

from __future__ import annotations

from guitest import launch_indexed, wait_results
from PySide6.QtCore import Qt


def remembered(window) -> set[str]:
    return {r[0] for r in window.store.conn.execute("SELECT text FROM text_vectors")}


def test_typing_pauses_are_not_remembered_but_a_settled_search_is(launch, qtbot, small_shapes_dir):
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    before = remembered(window)
    window.search_bar.focus()
    for prefix in ("a gre", "a green squ"):  # each pause searches
        window.search_bar.edit.clear()
        qtbot.keyClicks(window.search_bar.edit, prefix)
        qtbot.waitUntil(lambda p=prefix: window.model.query.text == p, timeout=30_000)
        wait_results(qtbot, window)
    assert remembered(window) == before  # searched, but not settled on

    window.search_bar.edit.clear()
    qtbot.keyClicks(window.search_bar.edit, "a green square")
    qtbot.waitUntil(lambda: window.model.query.text == "a green square", timeout=30_000)
    wait_results(qtbot, window)
    qtbot.keyClick(window.search_bar.edit, Qt.Key.Key_Return)  # to the results: settled
    qtbot.waitUntil(lambda: "a green square" in remembered(window), timeout=10_000)
    assert not {"a gre", "a green squ"} & remembered(window)

    # Opening a result settles a search too.
    window.search_bar.set_text("a red circle")
    qtbot.waitUntil(lambda: window.model.query.text == "a red circle", timeout=30_000)
    wait_results(qtbot, window)
    window.open_viewer(0)
    qtbot.waitUntil(lambda: "a red circle" in remembered(window), timeout=10_000)

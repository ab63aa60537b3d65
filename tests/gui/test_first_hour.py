"""What a first hour with the app ran into (issue #9, "Keyboard and first hour"), each
through the real window: Tab order, Down/Enter to the results, dates that reset, a narrow
window, copy-only drops, stopped indexing, the Problems view, honest counts and words, Help,
and a Remove dialog that says what it does."""

from __future__ import annotations

import sqlite3
import time

from guitest import MODEL_TIMEOUT_MS, launch_indexed, wait_indexed, wait_model, wait_results
from PySide6.QtCore import QDate, QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget


def _tab_walk(qtbot, start: QWidget, steps: int = 40) -> list[QWidget]:
    """The widgets Tab visits from ``start``, in order (until it comes back round)."""
    start.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is start)
    seen: list[QWidget] = [start]
    for _ in range(steps):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        widget = QApplication.focusWidget()
        if widget is start:
            break
        seen.append(widget)
    return seen


def test_1_tab_reaches_every_control(launch, qtbot, small_shapes_dir):
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    bar = window.search_bar
    bar.date_from.setDate(QDate(2020, 5, 1))  # a date set: the box has sections to walk
    visited = _tab_walk(qtbot, bar.edit)
    for control in (bar.date_from, bar.date_to, bar.by_date, window.sidebar.list, window.grid):
        assert control in visited, f"Tab never reaches {type(control).__name__}"
    assert visited.count(bar.date_from) == 1  # Tab leaves the date box at once


def test_2_down_or_enter_in_the_search_bar_goes_to_the_first_result(
    launch, qtbot, small_shapes_dir
):
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    edit = window.search_bar.edit
    for key in (Qt.Key.Key_Down, Qt.Key.Key_Return):
        edit.setFocus()
        qtbot.waitUntil(lambda: QApplication.focusWidget() is edit)
        qtbot.keyClicks(edit, " circle" if key == Qt.Key.Key_Return else "a red")
        generation = window.search.generation
        qtbot.keyClick(edit, key)
        wait_results(qtbot, window)
        qtbot.waitUntil(lambda: QApplication.focusWidget() is window.grid, timeout=30_000)
        assert window.grid.currentIndex().row() == 0
        assert window.grid.selected_rows() == [0]
        assert window.model.query.text == edit.text().strip()
        if key == Qt.Key.Key_Return:  # the query typed, searched once: not run again
            assert window.search.generation <= generation + 1
    # Text put there without typing (pasted by a script, say) is searched by Enter.
    edit.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is edit)
    edit.setText("a blue square")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.model.query.text == "a blue square", timeout=30_000)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.grid, timeout=30_000)


def test_4_first_launch_with_a_folder_says_the_model_is_being_prepared(
    launch, qtbot, small_shapes_dir, monkeypatch
):
    import threading

    from photoclip import embedder

    # The model is held back until the window has shown its folder, as a first load that
    # takes a while is (here the tiny model may be ready at once, before the folder).
    ready = threading.Event()
    real = embedder.deferred_for

    def slow_load(*args, **kwargs):
        ready.wait(MODEL_TIMEOUT_MS / 1000)
        return real(*args, **kwargs)

    monkeypatch.setattr(embedder, "deferred_for", slow_load)
    window = launch([small_shapes_dir])
    titles: list[str] = []

    def record() -> None:
        if window.stack.currentWidget() is window.empty:
            title = window.empty.title.text()
            if not titles or titles[-1] != title:
                titles.append(title)

    qtbot.waitUntil(lambda: record() or window.folder_count > 0, timeout=MODEL_TIMEOUT_MS)
    qtbot.waitUntil(lambda: record() or "Preparing the model…" in titles, timeout=10_000)
    ready.set()
    qtbot.waitUntil(lambda: record() or window.model_status.embedder is not None,
                    timeout=MODEL_TIMEOUT_MS)  # fmt: skip
    wait_indexed(qtbot, window, at_least=40)
    assert titles, "the window showed something other than the empty panel at once"
    assert "Preparing the model…" in titles
    for wrong in ("No photos found yet", "Welcome to photoclip"):
        assert wrong not in titles, titles
    assert window.stack.currentWidget() is window.grid


def test_5_dates_reset_and_presets(launch, qtbot):
    window = launch()
    bar = window.search_bar
    bar.date_from.setDate(QDate(2021, 3, 4))
    assert bar.date_range() == ("2021-03-04", None)
    menu = bar.dates_menu
    actions = {a.text(): a for a in menu.actions()}
    actions["Any date"].trigger()
    assert bar.date_range() == (None, None)

    today = QDate.currentDate()
    actions["Last 30 days"].trigger()
    assert bar.date_range() == (
        today.addDays(-30).toString("yyyy-MM-dd"),
        today.toString("yyyy-MM-dd"),
    )
    actions["This year"].trigger()
    assert bar.date_range() == (f"{today.year()}-01-01", f"{today.year()}-12-31")
    year_menu = actions["Year"].menu()
    pick = next(a for a in year_menu.actions() if a.text() == str(today.year() - 3))
    pick.trigger()
    assert bar.date_range() == (f"{today.year() - 3}-01-01", f"{today.year() - 3}-12-31")
    assert window.current_query().date_from == f"{today.year() - 3}-01-01"

    # Ctrl+1 (All photos) is the library as it is: any date again.
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert bar.date_range() == (None, None)
    assert window.current_query().date_from is None


def test_6_the_window_works_at_1024x600_and_half_a_1366_screen(launch, qtbot):
    app = QApplication.instance()
    normal = app.font()
    larger = app.font()
    larger.setPointSizeF(normal.pointSizeF() * 1.25)  # a user with larger text
    app.setFont(larger)
    try:
        window = launch()
        _fits_narrow_screens(window, qtbot)
        window.search_bar.set_similar(__file__)  # the chip takes room too
        _fits_narrow_screens(window, qtbot)
    finally:
        app.setFont(normal)


def _fits_narrow_screens(window, qtbot) -> None:
    for width, height in ((1024, 600), (683, 600)):
        window.resize(width, height)
        qtbot.waitUntil(lambda w=width: window.width() == w)
        assert window.minimumSizeHint().width() <= width
        assert window.height() == height
        # The search bar and the grid area keep a usable size.
        assert window.search_bar.edit.width() >= 120
        assert window.stack.width() >= 300


def _drag(
    widget: QWidget, path: str, actions: Qt.DropAction, modifiers=Qt.KeyboardModifier.NoModifier
):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(path)])
    point = QPointF(widget.rect().center())
    args = (actions, mime, Qt.MouseButton.LeftButton, modifiers)
    enter = QDragEnterEvent(point.toPoint(), *args)
    QApplication.sendEvent(widget, enter)
    drop = QDropEvent(point, *args)
    if enter.isAccepted():
        QApplication.sendEvent(widget, drop)
    return enter, drop


def test_7_dropped_folders_are_taken_as_copy_or_link_never_move(launch, qtbot, small_shapes_dir):
    window = launch()
    both = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction
    # Shift asks for a move: the window still takes a copy.
    enter, drop = _drag(window, str(small_shapes_dir), both, Qt.KeyboardModifier.ShiftModifier)
    assert enter.proposedAction() == Qt.DropAction.MoveAction
    assert enter.isAccepted() and enter.dropAction() == Qt.DropAction.CopyAction
    assert drop.isAccepted() and drop.dropAction() == Qt.DropAction.CopyAction
    qtbot.waitUntil(lambda: window.folder_count == 1, timeout=10_000)
    # A source that offers a link and a move: a link.
    enter, drop = _drag(
        window, str(small_shapes_dir), Qt.DropAction.LinkAction | Qt.DropAction.MoveAction
    )
    assert drop.isAccepted() and drop.dropAction() == Qt.DropAction.LinkAction
    # Only a move: refused.
    enter, _ = _drag(window, str(small_shapes_dir), Qt.DropAction.MoveAction)
    assert not enter.isAccepted()
    # The same on the search bar, with a photo.
    photo = str(sorted(small_shapes_dir.rglob("*.jpg"))[0])
    enter, drop = _drag(window.search_bar.edit, photo, both, Qt.KeyboardModifier.ShiftModifier)
    assert drop.isAccepted() and drop.dropAction() == Qt.DropAction.CopyAction
    assert window.search_bar.similar_to == photo


def test_8_stopped_indexing_shows_not_finished_and_resumes(launch, qtbot, small_shapes_dir):
    window = launch([small_shapes_dir])
    wait_model(qtbot, window)
    worker = window.services.index_worker
    qtbot.waitUntil(lambda: worker.running, timeout=30_000)
    worker.set_paused(True)  # hold it mid-way, as a user would look before cancelling
    window.index_status.cancel_button.click()
    worker.set_paused(False)
    qtbot.waitUntil(lambda: not worker.running, timeout=30_000)
    qtbot.waitUntil(lambda: window.folder_count == 1, timeout=10_000)
    item = window.sidebar.list.item(1)
    qtbot.waitUntil(lambda: window.sidebar.list.item(1).text().endswith("not finished"))
    assert window.banner.isVisible() and "not finished" in window.banner.message.text()
    assert window.banner.primary.text() == "Resume"
    window.banner.primary.click()
    wait_indexed(qtbot, window, at_least=40)
    qtbot.waitUntil(lambda: not window.sidebar.list.item(1).text().endswith("not finished"))
    assert not window.banner.isVisible()
    assert item is not None


def test_9_problems_view_forgets_the_search_and_copies_paths(launch, qtbot, small_shapes_dir):
    broken = small_shapes_dir / "broken.jpg"
    broken.write_bytes(b"not a photo")
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    photo = window.store.photos_by_id([window.store.list_photo_ids()[0]])[0]["path"]
    window.find_similar(photo)
    wait_results(qtbot, window)
    assert window.search_bar.chip.isVisible() and window.result_label.text()

    window.sidebar.select_problems()
    qtbot.waitUntil(lambda: window.problems.tree.topLevelItemCount() == 1)
    assert window.stack.currentWidget() is window.problems
    assert not window.search_bar.chip.isVisible()
    assert window.result_label.text() == ""
    tree = window.problems.tree
    assert tree.headerItem().text(1) == "Folder"
    item = tree.topLevelItem(0)
    assert item.text(0) == "broken.jpg" and item.text(1) == str(small_shapes_dir)
    tree.setCurrentItem(item)
    menu = window.problems.context_menu()
    copy = next(a for a in menu.actions() if a.text() == "Copy Path")
    copy.trigger()
    assert QGuiApplication.clipboard().text() == str(broken)
    # Typing a search from Problems goes back to the photos.
    window.search_bar.set_text("a circle")
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.grid, timeout=30_000)


def test_10_counts_and_words_are_honest(launch, qtbot, small_shapes_dir, tmp_path):
    # Searching an empty library: no talk of filters, and Add Folder is there.
    window = launch()
    wait_model(qtbot, window)
    window.search_bar.set_text("a red circle")
    wait_results(qtbot, window)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.empty)
    assert "folder or date range" not in window.empty.detail.text()
    assert window.empty.button.isVisible()

    # The line above the grid and the sidebar count the same photos.
    window.search_bar.clear()
    window.add_folders([str(small_shapes_dir)])
    wait_indexed(qtbot, window, at_least=40)
    db = window.store.path
    conn = sqlite3.connect(db)  # another photoclip (the CLI) indexed one more meanwhile
    with conn:
        conn.execute(
            """INSERT INTO photos (folder_id, path, size, mtime_ns, status, taken_at, indexed_at)
               SELECT folder_id, path || '.copy.jpg', size, mtime_ns, 'indexed', taken_at, ?
               FROM photos LIMIT 1""",
            (time.time(),),
        )
    conn.close()
    window.refresh_library()
    qtbot.waitUntil(lambda: window.library.photo_count == 41)
    window.search.refresh()
    wait_results(qtbot, window)
    from photoclip.ui.sidebar import CountRole

    sidebar_count = window.sidebar.list.item(0).data(CountRole)
    assert window.result_label.text().startswith(f"{sidebar_count} photos")

    # Find Similar shows the photo it started from; leaving it takes the × away too.
    window.search_bar.set_text("red")
    photo = window.model.path(0)
    window.find_similar(photo)
    qtbot.waitUntil(lambda: window.search_bar.similar_thumb.isVisible(), timeout=10_000)
    assert not window.search_bar.similar_thumb.pixmap().isNull()
    wait_results(qtbot, window)
    qtbot.wait(400)  # the clear button fades out
    assert not _clear_button_shown(window.search_bar.edit)
    window.search_bar.chip.click()
    assert not window.search_bar.similar_thumb.isVisible()

    # The viewer speaks in words, not raw scores.
    window.search_bar.set_text("a red circle")
    wait_results(qtbot, window)
    window.open_viewer(0)
    assert "score" not in window.viewer.subtitle.text()
    assert "match" in window.viewer.subtitle.text()
    window.close_viewer()

    # Sorted by date is said when it is.
    window.search_bar.by_date.setChecked(True)
    wait_results(qtbot, window)
    assert "newest first" in window.result_label.text()


def _clear_button_shown(edit) -> bool:
    from PySide6.QtWidgets import QToolButton

    # The line edit's side buttons: the search icon (always there) and the clear button.
    return (
        sum(
            1
            for b in edit.findChildren(QToolButton)
            if b.isVisible() and b.property("opacity") != 0.0
        )
        > 1
    )


def test_11_help_has_shortcuts_and_search_tips(launch, qtbot):
    window = launch()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    names = [a.text() for a in help_menu.actions()]
    assert "&Keyboard Shortcuts" in names and "&Search Tips" in names
    window.grid.setFocus()
    qtbot.keyClicks(window.grid, "?")
    shortcuts = window.help.windows.get("Keyboard Shortcuts")
    assert shortcuts is not None and shortcuts.isVisible()
    assert "Ctrl+Shift+F" in shortcuts.text.text()
    tips = next(a for a in help_menu.actions() if a.text() == "&Search Tips")
    tips.trigger()
    text = window.help.windows["Search Tips"].text.text()
    for piece in ("beach - people", "2:sunset", "quotes", "./ref.jpg"):
        assert piece in text


def test_12_remove_folder_says_what_happens(launch, qtbot, small_shapes_dir):
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    window.sidebar.list.setCurrentRow(1)
    seen: dict[str, object] = {}

    def answer(button_text: str) -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, lambda: answer(button_text))
            return
        seen["text"] = box.text() + "\n" + box.informativeText()
        seen["buttons"] = sorted(b.text() for b in box.buttons())
        named = [b for b in box.buttons() if b.text() == button_text]
        if named:
            named[0].click()
        else:
            box.reject()

    QTimer.singleShot(0, lambda: answer("Keep Folder"))
    window.sidebar.remove_button.click()
    assert "forgets 40 photos" in str(seen["text"])
    assert "not touched" in str(seen["text"])
    assert seen["buttons"] == ["Keep Folder", "Remove from Library"]
    assert window.folder_count == 1

    QTimer.singleShot(0, lambda: answer("Remove from Library"))
    window.sidebar.remove_button.click()
    qtbot.waitUntil(lambda: window.folder_count == 0, timeout=30_000)
    assert len(list(small_shapes_dir.rglob("*.jpg"))) == 40  # the files are untouched

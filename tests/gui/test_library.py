"""Library management from the window: unusable drops are explained, folders are removed
(never their files) after a confirmation, problems are listed, and new photos copied into
a library folder while the app runs are picked up."""

from __future__ import annotations

import shutil

from guitest import drop_urls, launch_indexed, wait_indexed, wait_results

from photoclip.ui.library_controller import LibraryController, removal_words


def test_unusable_drops_say_why(launch, qtbot, tmp_path):
    window = launch()
    note = tmp_path / "notes.txt"
    note.write_text("not a photo")
    assert not drop_urls(window, [str(note)])
    assert "notes.txt isn't a photo or a folder" in window.statusBar().currentMessage()
    assert not drop_urls(window, ["https://example.com/cat.jpg"])
    assert "isn't a file on this computer" in window.statusBar().currentMessage()
    assert not window.overlay.isVisible()


def test_dropping_a_photo_adds_its_folder(launch, qtbot, small_shapes_dir):
    window = launch()
    photo = next((small_shapes_dir / "inbox").glob("*.jpg"))
    assert drop_urls(window, [str(photo)])
    qtbot.waitUntil(lambda: window.folder_count == 1, timeout=10_000)
    assert [f.path for f in window.store.folders()] == [str(photo.parent)]


def test_remove_folder_asks_first_and_keeps_the_files(launch, qtbot, small_shapes_dir,
                                                      monkeypatch):  # fmt: skip
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    qtbot.waitUntil(lambda: window.sidebar.list.count() == 3)
    window.sidebar.list.setCurrentRow(1)
    assert window.sidebar.remove_button.isEnabled()

    answers = [False, True]  # Keep Folder, then Remove from Library
    asked = []

    def confirm(controller, name, path, photos):
        asked.append(" ".join(removal_words(name, path, photos)))
        return answers.pop(0)

    monkeypatch.setattr(LibraryController, "confirm_remove", confirm)
    window.sidebar.remove_button.click()  # cancelled
    assert window.store.counts()["indexed"] == 40
    window.sidebar.remove_button.click()
    qtbot.waitUntil(lambda: window.store.counts()["indexed"] == 0, timeout=30_000)
    assert "not touched" in asked[0]
    assert len(list(small_shapes_dir.rglob("*.jpg"))) == 40  # the photos are still there
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.empty, timeout=10_000)


def test_problems_view_lists_unreadable_files(launch, qtbot, small_shapes_dir):
    (small_shapes_dir / "inbox" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    qtbot.waitUntil(lambda: not window.sidebar._problems.isHidden(), timeout=10_000)
    window.sidebar.select_problems()
    assert window.stack.currentWidget() is window.problems
    qtbot.waitUntil(lambda: window.problems.tree.topLevelItemCount() == 1, timeout=10_000)
    item = window.problems.tree.topLevelItem(0)
    assert item.text(0) == "broken.jpg"
    assert item.text(1)  # the reason, in words
    assert window.problems.summary.text().startswith("1 file couldn't be indexed")


def test_new_photos_in_a_library_folder_are_picked_up(launch, qtbot, small_shapes_dir, tmp_path):
    folder = tmp_path / "growing"
    shutil.copytree(small_shapes_dir / "inbox", folder)
    before = len(list(folder.glob("*.jpg")))
    window = launch_indexed(launch, qtbot, [folder], at_least=before)
    qtbot.waitUntil(lambda: str(folder) in window.watcher.watched(), timeout=10_000)
    extra = next((small_shapes_dir / "2023").rglob("*.jpg"))
    shutil.copy(extra, folder / "new-arrival.jpg")
    wait_indexed(qtbot, window, at_least=before + 1)
    window.search.refresh()
    wait_results(qtbot, window)
    assert str(folder / "new-arrival.jpg") in [window.model.path(r) for r in range(before + 1)]


def test_an_unplugged_folder_keeps_its_photos_and_the_window_says_so(
    launch, qtbot, small_shapes_dir, tmp_path
):
    window = launch_indexed(launch, qtbot, [small_shapes_dir], at_least=40)
    parked = tmp_path / "unplugged"
    small_shapes_dir.rename(parked)
    small_shapes_dir.mkdir()  # the empty mount point an unplugged drive leaves behind
    with qtbot.waitSignal(window.library.indexingFinished, timeout=60_000) as done:
        window.services.index_worker.request(None)  # what the launch rescan and watcher do
    assert done.args[0].missing_folders == [str(small_shapes_dir)]
    assert done.args[0].removed == 0
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=10_000)
    text = window.banner.message.text()
    assert f"“{small_shapes_dir.name}” is missing" in text and "stay in your library" in text
    assert window.store.counts()["indexed"] == window.store.counts()["vectors"] == 40
    assert [f.missing for f in window.store.folders()] == [True]
    qtbot.waitUntil(lambda: "Missing" in window.sidebar.list.item(1).toolTip(), timeout=10_000)
    window.banner.primary.click()  # Show Problems
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.problems, timeout=10_000)

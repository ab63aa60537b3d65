"""The window's side of the library: adding and removing folders, the sidebar's counts, and
what the user sees of background indexing (progress, pause, cancel, results, failures)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from . import format as fmt
from . import library_ops
from .sidebar import FOLDER, PROBLEMS, KindRole
from .tasks import run_task

if TYPE_CHECKING:
    from ..store import Store
    from .main_window import MainWindow

REFRESH_MS = 700
UNFINISHED = " — not finished"
REMOVING = sys.maxsize


def _numbered_summary(store: Store, number: int) -> tuple[library_ops.Summary, int]:
    return library_ops.summary(store), number


def removal_words(name: str, path: str, photos: int) -> tuple[str, str]:
    """The Remove question and what it means: how many photos are forgotten, files kept."""
    return (
        f"Remove “{name}” from the library?",
        f"photoclip forgets {fmt.count(photos, 'photo')} and their search data (albums and "
        f"favourites lose them too). The files in {path} are not touched: add the folder "
        "again to bring them back.",
    )


class LibraryController(QObject):
    refreshed = Signal()
    indexingFinished = Signal(object)  # indexer.IndexReport

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.store = window.store
        self.worker = window.services.index_worker
        self.folder_count = 0
        self.photo_count = 0
        self.adding = 0  # folder additions asked for and not yet in the library
        self._run_folders: list[str] | None = None  # what the running index run covers
        self.unfinished: set[str] = set()  # folders whose indexing the user stopped
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._on_timer)
        self._pending = False
        self._roots: list[str] = []  # the library's folders, as the last summary listed them
        # Folders removed here -> the first summary that certainly reads the store after the
        # removal (REMOVING while it runs); older summaries must not bring them back.
        self._removed: dict[str, int] = {}
        self._summaries = 0  # summaries asked for so far
        self._shown = 0  # the number of the newest summary shown
        # Additions done in the library, each with the first summary that lists them: until
        # it arrives the sidebar doesn't have them yet, and the empty window says "Adding
        # your folder…" (not "Welcome").
        self._added_by: list[int] = []
        self._search_refresh = QTimer(self)
        self._search_refresh.setSingleShot(True)
        self._search_refresh.setInterval(REFRESH_MS)
        self._search_refresh.timeout.connect(window.refresh_search_if_untouched)
        worker = self.worker
        worker.started.connect(self._on_started)
        worker.progress.connect(window.index_status.update_progress)
        worker.batchIndexed.connect(self._on_batch)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.idle.connect(window.index_status.stopped)
        worker.pausedChanged.connect(window.index_status.set_paused)
        window.index_status.set_paused(worker.paused)
        window.index_status.pauseToggled.connect(self._on_pause)
        window.index_status.cancelClicked.connect(self.cancel_indexing)
        window.problems.retryClicked.connect(self._retry_problems)
        window.watcher.folderChanged.connect(lambda root: self.worker.request([root]))

    # -- the sidebar's summary -------------------------------------------------------------

    def refresh(self) -> int:
        """Ask for the sidebar's summary; returns its number (``_on_summary``'s)."""
        self._summaries += 1
        number = self._summaries
        # A bound method (not a lambda): dropped with the window if it closes meanwhile.
        run_task(_numbered_summary, self.store, number, on_done=self._on_summary)
        if self.window.sidebar.current().kind == PROBLEMS:
            run_task(self.store.problems, on_done=self.window.problems.set_problems)
        return number

    def refresh_soon(self) -> None:
        """At most one refresh per REFRESH_MS while photos pour in: the first at once, the
        last when the interval is over."""
        if self._timer.isActive():
            self._pending = True
        else:
            self._pending = False
            self.refresh()
            self._timer.start()

    def _on_timer(self) -> None:
        if self._pending:
            self._pending = False
            self.refresh()
            self._timer.start()

    def _on_summary(self, numbered: tuple[library_ops.Summary, int]) -> None:
        summary, number = numbered
        if number < self._shown:
            return  # read before one already shown: it may miss a folder added since
        self._shown = number
        listed = [n for n in self._added_by if n <= number]
        self._added_by = [n for n in self._added_by if n > number]
        self.adding -= len(listed)
        self.folder_count = len(summary.folders)
        self.photo_count = summary.indexed
        self.window.sidebar.set_folders(summary.folders, summary.indexed, summary.problems)
        self._mark_unfinished()
        self.window.search.set_library_total(summary.indexed)
        self.window.timeline.refresh()  # the month headers' counts
        # A summary read before a removal committed must not bring the folder back.
        self._removed = {p: n for p, n in self._removed.items() if n > number}
        self._roots = [f.path for f in summary.folders if f.path not in self._removed]
        self.window.watcher.set_roots(self._roots)
        self.window.update_stack()
        self.refreshed.emit()

    # -- folders ---------------------------------------------------------------------------

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self.window, "Add a Folder of Photos", os.path.expanduser("~")
        )
        if folder:
            self.add_folders([folder])

    def add_folders(self, folders: list[str]) -> None:
        """Add to the library (at once, in the pool) and index (when the model is ready)."""
        folders = [os.path.abspath(f) for f in folders]
        for folder in folders:
            self._removed.pop(folder, None)
        window = self.window
        self.adding += 1
        window.update_stack()  # an empty library says "Adding your folder…" at once

        def failed(message: str) -> None:
            self.adding -= 1
            window.show_error(message)
            window.update_stack()

        def added(results: list[tuple[str, bool]]) -> None:
            new = [fmt.file_name(p) for p, is_new in results if is_new]
            old = [fmt.file_name(p) for p, is_new in results if not is_new]
            if new and window.model_status.embedder is None:
                window.show_message(
                    f"Added {', '.join(new)}. Indexing starts when the model is ready."
                )
            elif new:
                window.show_message(f"Added {', '.join(new)}. Indexing…")
            elif old:
                window.show_message(
                    f"{', '.join(old)} {'is' if len(old) == 1 else 'are'} already in your "
                    "library; looking for new photos."
                )
            self._added_by.append(self.refresh())  # still "adding" until that one shows
            self.worker.request(folders)

        run_task(library_ops.add_folders, self.store, folders, on_done=added, on_failed=failed)

    def remove_folder(self, folder_id: int, path: str) -> None:
        """Forget a folder after asking; the photos on disk are never touched."""
        window = self.window
        name = fmt.file_name(path)
        # Counted now: the sidebar's count can be up to a refresh behind a run that just ended.
        if not self.confirm_remove(name, path, self.store.indexed_in_folder(folder_id)):
            return
        self.unfinished.discard(path)
        # At once, not when the store is done: a change settling in the folder, or a run
        # queued for it, would otherwise bring it back.
        self._removed[path] = REMOVING
        self._roots = [p for p in self._roots if p != path]
        self.window.watcher.set_roots(self._roots)
        self.worker.forget_folder(path)
        was_indexing = self.worker.running
        if was_indexing:
            self.worker.cancel()

        def removed(count: int) -> None:
            window.show_message(
                f"Removed {name} ({fmt.count(count, 'photo')}) from the library. "
                "The files were not touched."
            )
            window.sidebar.select_all_photos()
            self._removed[path] = self._summaries + 1  # the next summary reads it gone
            self.refresh()
            window.search.refresh()
            if was_indexing:
                self.worker.request(None)

        def failed(message: str) -> None:
            self._removed.pop(path, None)  # still in the library: watch it again
            window.show_error(message)
            self.refresh()

        run_task(
            library_ops.remove_folder, self.store, folder_id, on_done=removed, on_failed=failed
        )

    def confirm_remove(self, name: str, path: str, photos: int) -> bool:
        """Ask, saying exactly what happens, with buttons named for what they do."""
        box = QMessageBox(self.window)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Remove from Library")
        question, detail = removal_words(name, path, photos)
        box.setText(question)
        box.setInformativeText(detail)
        remove = box.addButton("Remove from Library", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep Folder", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        self.remove_box = box  # for tests, and so a second request doesn't stack dialogs
        try:
            box.exec()
        finally:
            self.remove_box = None
        return box.clickedButton() is remove

    remove_box: QMessageBox | None = None

    # -- folders whose indexing was stopped ------------------------------------------------

    def _mark_unfinished(self) -> None:
        """Say "not finished" on folders whose indexing the user stopped, until a run
        finishes them (the banner offers Resume)."""
        sidebar = self.window.sidebar
        for i in range(sidebar.list.count()):
            item = sidebar.list.item(i)
            if item.data(KindRole) != FOLDER:
                continue
            path = item.toolTip().split("\n", 1)[0]
            if path in self.unfinished and not item.text().endswith(UNFINISHED):
                item.setText(item.text() + UNFINISHED)
                item.setToolTip(f"{path}\nIndexing was stopped before it finished: Resume it")

    def resume(self) -> None:
        folders = sorted(self.unfinished) or None
        self.window.banner.dismiss("unfinished")
        self.worker.request(folders)

    # -- indexing --------------------------------------------------------------------------

    def _on_started(self, folders: object) -> None:
        self._run_folders = list(folders) if isinstance(folders, list) else None
        self.window.index_status.starting()
        self.window.update_stack()

    def _on_batch(self, photos: list[dict[str, Any]]) -> None:
        window = self.window
        window.thumbnails.invalidate([p["id"] for p in photos])
        if window.search.query.kind == "browse":
            window.search.add_indexed(photos)
        elif not self._search_refresh.isActive():
            self._search_refresh.start()
        self.refresh_soon()

    def _on_finished(self, report: Any) -> None:
        window = self.window
        window.index_status.stopped()
        window.banner.dismiss("index")
        covered = self._run_folders if self._run_folders is not None else list(self._roots)
        if report.cancelled:
            self.unfinished.update(p for p in covered if p in self._roots)
        else:
            self.unfinished.difference_update(covered)
            if not self.unfinished:
                window.banner.dismiss("unfinished")
        parts = []
        if report.indexed:
            parts.append(f"Indexed {fmt.count(report.indexed, 'photo')}")
        if report.removed:
            parts.append(f"forgot {fmt.count(report.removed, 'deleted photo')}")
        if report.failed:
            parts.append(f"{fmt.count(report.failed, 'file')} couldn't be read (see Problems)")
        if report.deferred:
            parts.append(
                f"{fmt.count(report.deferred, 'file')} couldn't be read this time; photoclip "
                "tries again on the next scan"
            )
        if report.cancelled:
            parts.append("stopped early; the rest is indexed next time")
        if parts:
            window.show_message(". ".join(p[0].upper() + p[1:] for p in parts) + ".")
        if report.missing_folders:
            names = ", ".join(f"“{fmt.file_name(f)}”" for f in report.missing_folders)
            one = len(report.missing_folders) == 1
            window.banner.show_message(
                f"{names} {'is' if one else 'are'} missing: an unplugged drive, or a folder "
                f"that can't be read right now. {'Its' if one else 'Their'} photos stay in your "
                "library until it's back.",
                owner="index",
                primary=("Show Problems", window.sidebar.select_problems),
            )
        self.refresh()
        if window.search.query.kind != "browse":
            window.refresh_search_if_untouched()
        self.indexingFinished.emit(report)

    def _on_failed(self, message: str) -> None:
        self.window.index_status.stopped()
        self.window.banner.show_message(
            message, owner="index", level="error",
            primary=("Retry", lambda: self.worker.request(None)),
        )  # fmt: skip

    def _on_pause(self, paused: bool) -> None:
        self.worker.set_paused(paused)
        if paused:
            self.window.show_message("Indexing paused until you resume it.")

    def cancel_indexing(self) -> None:
        self.worker.cancel()
        covered = self._run_folders if self._run_folders is not None else list(self._roots)
        self.unfinished.update(p for p in covered if p in self._roots)
        self._mark_unfinished()
        self.window.index_status.stopped()
        if not self.unfinished:
            self.window.show_message("Indexing stopped. Photos indexed so far are kept.")
            return
        names = ", ".join(f"“{fmt.file_name(p)}”" for p in sorted(self.unfinished))
        self.window.banner.show_message(
            f"Indexing stopped: {names} {'is' if len(self.unfinished) == 1 else 'are'} not "
            "finished. Photos indexed so far are kept and searchable.",
            owner="unfinished", level="info", primary=("Resume", self.resume),
        )  # fmt: skip

    def _retry_problems(self) -> None:
        self.worker.request(None, retry_failed=True)
        self.window.show_message("Trying the problem files again…")

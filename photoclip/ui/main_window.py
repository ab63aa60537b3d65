"""The main window: search bar on top, library sidebar, thumbnail grid (or the viewer, the
Problems list, or the welcome panel), indexing progress in the status bar."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .collections import CollectionsController
from .download_panel import DownloadPanel, confirm_model_download
from .drop import accept_copy_or_link, plan_drop
from .folder_watcher import FolderWatcher
from .found_places import install as install_found_places
from .grid_controls import GridControls, stored_side
from .grid_model import PhotoGridModel
from .grid_view import PhotoGridView
from .help import Help
from .icons import app_icon, gear_icon
from .index_status import IndexStatus
from .info_panel import InfoPanel
from .library_controller import LibraryController
from .menus import build_menus
from .model_status import ModelStatus
from .panels import Banner, DropOverlay, EmptyState
from .photo_actions import PhotoActions
from .problems_view import ProblemsView
from .search_bar import SIMILAR_THUMB, SearchBar
from .search_controller import SearchController
from .search_worker import Query
from .services import Services
from .settings_dialog import LIBRARY_KEY, THREADS_KEY, Choices, SettingsDialog, weights_key
from .sidebar import FOLDER, PROBLEMS, Selection, Sidebar
from .single_instance import SingleInstance
from .smart_album_view import install as install_smart_albums
from .tasks import run_task, wait_for_tasks
from .thumbnails import ThumbnailLoader
from .timeline import Timeline
from .viewer import Viewer, decode_for_display
from .viewing import Viewing


class MainWindow(QMainWindow):
    firstPainted = Signal()
    indexingFinished = Signal(object)  # indexer.IndexReport
    libraryRefreshed = Signal()

    def __init__(self, services: Services, instance: SingleInstance | None = None) -> None:
        super().__init__()
        self.services = services
        self.store = services.store
        self.settings = services.settings
        self.instance = instance
        self._painted = False
        self._closing = False
        self._focus_results_pending = False
        self.setWindowTitle("photoclip")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._build_widgets()
        build_menus(self)
        self.collections.add_menu(self.menuBar())
        self.smart_albums = install_smart_albums(self)  # Edit menu, sidebar, its window
        self._connect()
        self._restore_state()
        if instance is not None:
            instance.activated.connect(self.on_another_launch)

    # -- construction ----------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.thumbnails = ThumbnailLoader(self.store, stored_side(self.settings), self)
        self.model = PhotoGridModel(self)
        self.grid = PhotoGridView(self.thumbnails)
        self.grid.setModel(self.model)
        self.grid_controls = GridControls(self.grid, self.settings)
        self.timeline = Timeline(self.store, self.model, self.grid, self)
        self.grid.set_side_widget(self.timeline.scrubber)
        self.search_bar = SearchBar()
        self.settings_button = QToolButton()
        self.settings_button.setIcon(gear_icon(self.palette().color(QPalette.ColorRole.WindowText)))
        self.settings_button.setToolTip("Settings (Ctrl+,)")
        self.settings_button.setAutoRaise(True)
        self.banner = Banner()
        self.download_panel = DownloadPanel(self.services)
        self.sidebar = Sidebar()
        self.empty = EmptyState()
        self.problems = ProblemsView()
        self.viewer = Viewer(self.model, self.thumbnails)
        self.result_label = QLabel()
        self.result_label.setObjectName("resultLabel")
        self.result_icon = QLabel()
        self.result_icon.setPixmap(
            self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(16, 16)
        )
        self.result_icon.hide()
        self.stack = QStackedWidget()
        for page in (self.grid, self.empty, self.problems, self.viewer):
            self.stack.addWidget(page)

        top = QHBoxLayout()
        top.setContentsMargins(10, 8, 10, 4)
        top.addWidget(self.search_bar, 1)
        top.addWidget(self.settings_button)
        label_row = QHBoxLayout()
        label_row.setContentsMargins(12, 0, 12, 2)
        label_row.addWidget(self.result_icon)
        label_row.addWidget(self.result_label, 1)
        label_row.addWidget(self.grid_controls)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(2)
        right_layout.addLayout(label_row)
        self.info_panel = InfoPanel(self.store)
        self.info_panel.hide()
        page_row = QHBoxLayout()
        page_row.setContentsMargins(0, 0, 0, 0)
        page_row.setSpacing(0)
        page_row.addWidget(self.stack, 1)
        page_row.addWidget(self.info_panel)
        right_layout.addLayout(page_row, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(1, False)
        self.splitter.setSizes([230, 970])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.download_panel)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.overlay = DropOverlay(central)

        self.model_label = QLabel()
        self.index_status = IndexStatus()
        self.statusBar().addPermanentWidget(self.index_status)
        self.statusBar().addPermanentWidget(self.model_label)
        self.photo_actions = PhotoActions(self)
        self.help = Help(self)
        self.viewing = Viewing(
            self, self.stack, self.grid, self.model, self.viewer, self.info_panel, self._chrome
        )
        self.viewing.afterClose = self._after_viewer_closed
        self.stack.currentChanged.connect(self._on_page_changed)
        self.search = SearchController(self.services.search_worker, self.model, self)
        self.search_bar.edit.editingFinished.connect(self.settle_search)  # Enter, or left
        self.model_status = ModelStatus(self.services, self, self.banner, self.model_label)
        self.watcher = FolderWatcher(str(self.store.path.parent), self)
        self.library = LibraryController(self)
        self.library.refreshed.connect(self.libraryRefreshed)
        self.collections = CollectionsController(
            self.store, self.sidebar, self.model, self.grid, self.search, self.photo_actions,
            self._selected_paths, self, settings=self.settings,
            rescan=self.library.worker.request, library_changed=self.libraryRefreshed,
        )  # fmt: skip
        self.collections.photosRemoved.connect(self._after_photos_removed)
        self.found = install_found_places(
            self.sidebar, self.store, self.services.loader, self, self.collections.trash
        )
        self.library.indexingFinished.connect(self.indexingFinished)
        central.installEventFilter(self)

    def _connect(self) -> None:
        bar = self.search_bar
        bar.changed.connect(self.on_query_changed)
        bar.similarRequested.connect(self.find_similar)
        bar.toResults.connect(self.focus_results)
        self.settings_button.clicked.connect(self.open_settings)
        self.sidebar.selectionChanged.connect(self.on_sidebar)
        self.sidebar.addFolderRequested.connect(self.choose_folder)
        self.sidebar.removeFolderRequested.connect(self.library.remove_folder)
        self.empty.addFolderClicked.connect(self.choose_folder)
        self.problems.showInFolder.connect(self.photo_actions.show_in_folder)
        self.grid.activated.connect(lambda index: self.open_viewer(index.row()))
        self.grid.customContextMenuRequested.connect(self._grid_context_menu)
        self.grid.typed.connect(self._typed_in_grid)
        self.viewer.contextMenuRequested.connect(self._viewer_context_menu)
        self.info_panel.showInFolder.connect(self.photo_actions.show_in_folder)
        self._connect_favourites()
        self.photo_actions.findSimilar.connect(self.find_similar)
        self.photo_actions.openRequested.connect(self.open_viewer)
        self.photo_actions.message.connect(self.show_message)
        self.search.statusChanged.connect(self._update_status_line)
        self.search.pageShown.connect(self._on_page_shown)
        self.model.modelReset.connect(self.update_stack)
        self.model.rowsInserted.connect(self.update_stack)
        self.model_status.ready.connect(self._on_model_ready)
        self.model_status.switched.connect(self._on_model_switched)
        self.model_status.message.connect(self.show_message)
        self.model_status.unavailable.connect(self._on_model_unavailable)

    def _restore_state(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1200, 780)
        splitter = self.settings.value("window/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        by_date = self.settings.value("search/sortByDate", False)
        self.search_bar.by_date.setChecked(str(by_date).lower() in ("true", "1"))

    def _save_state(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("search/sortByDate", self.search_bar.sort_by_date)
        self.settings.sync()

    # -- startup ---------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self._painted:
            self._painted = True
            # The window is on screen: now it's fine to spend seconds importing torch.
            QTimer.singleShot(0, self.firstPainted.emit)
            QTimer.singleShot(0, self._load_model)
        return super().eventFilter(watched, event)

    def start(self, folders: list[str] | None = None) -> None:
        """Begin: browse the library at once; the model loads after the first paint."""
        self.services.start()
        self.on_query_changed()
        self.refresh_library()
        if folders:
            self.add_folders(folders)
        if not self._painted:
            QTimer.singleShot(1500, self._load_model)  # no paint (minimised): load anyway

    def _load_model(self) -> None:
        status = self.model_status
        idle = not status.loading and status.embedder is None and not status.error
        if idle and not self._closing:
            status.load()

    def _on_model_ready(self, embedder: Any) -> None:
        self.services.search_worker.set_embedder(embedder)
        self.services.index_worker.set_embedder(embedder)  # then: index every folder
        self._update_status_line()

    def _on_model_unavailable(self, *args: object) -> None:
        self._update_status_line()
        self.update_stack()  # not "preparing the model" any more: the banner says why

    def _on_model_switched(self, embedder: Any) -> None:
        """Searches use another model now: show the current one's results from it."""
        if self.search.query.needs_model:
            self.search.refresh()
        self._update_status_line()

    # -- library (see LibraryController) ---------------------------------------------------

    @property
    def folder_count(self) -> int:
        return self.library.folder_count

    def add_folders(self, folders: list[str]) -> None:
        self.library.add_folders(folders)

    def choose_folder(self) -> None:
        self.library.choose_folder()

    def refresh_library(self) -> None:
        self.library.refresh()

    def on_another_launch(self, folders: list[str]) -> None:
        """A second ``photoclip`` was started: come to the front, take its folders."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()
        if folders:
            self.add_folders(folders)

    # -- search ----------------------------------------------------------------------------

    def current_query(self) -> Query:
        bar = self.search_bar
        sel = self.sidebar.current()
        date_from, date_to = bar.date_range()
        kind = "similar" if bar.similar_to else ("text" if bar.text else "browse")
        return Query(
            kind=kind,
            text=bar.text if kind == "text" else "",
            image=bar.similar_to if kind == "similar" else "",
            folder_id=sel.folder_id if sel.kind == FOLDER else None,
            album_id=sel.album_id,
            favourites=sel.favourites,
            date_from=date_from,
            date_to=date_to,
            sort_by_date=bar.sort_by_date and kind != "browse",
        )

    def on_query_changed(self) -> None:
        if self.stack.currentWidget() is self.viewer:
            self.close_viewer()
        bar = self.search_bar
        if self.sidebar.current().kind == PROBLEMS and (bar.text or bar.similar_to):
            self.sidebar.select_all_photos()  # a search is about photos: leave Problems
            return
        self.search.set_query(self.current_query())
        self.update_stack()

    def on_sidebar(self, selection: Selection) -> None:
        if selection.kind == PROBLEMS:
            self.search_bar.leave_similar()  # nothing of the last search belongs here
            run_task(self.store.problems, on_done=self.problems.set_problems)
        else:
            self.on_query_changed()
        self.update_stack()
        self._update_status_line()

    def show_all_photos(self) -> None:
        """All photos, any date: the library as it is (Ctrl+1)."""
        self.search_bar.reset_dates()
        self.sidebar.select_all_photos()

    def find_similar(self, path: str) -> None:
        self.search_bar.set_similar(path)
        bar = self.search_bar
        run_task(
            decode_for_display, path, 2 * SIMILAR_THUMB,
            on_done=lambda image: bar.set_similar_thumbnail(path, QPixmap.fromImage(image)),
        )  # fmt: skip

    def focus_results(self) -> None:
        """Down or Enter in the search bar: the first result, selected and focused (once the
        search being typed has its answer)."""
        if self.search.in_flight:
            self._focus_results_pending = True
            return
        self._focus_results_pending = False
        if self.stack.currentWidget() is not self.grid or not self.model.rowCount():
            return
        first = self.model.index(0)
        self.grid.setFocus(Qt.FocusReason.TabFocusReason)
        self.grid.setCurrentIndex(first)
        self.grid.scrollTo(first)

    def _on_page_shown(self, page: Any) -> None:
        if page.offset == 0:
            self.grid.scrollToTop()
        self.update_stack()
        if self._focus_results_pending:
            self.focus_results()

    def refresh_search_if_untouched(self) -> None:
        """New photos while a search is shown: rank again, unless the user is scrolled down
        or has picked photos (results must not move under their hands)."""
        if self.search.query.kind == "browse" or self.stack.currentWidget() is self.viewer:
            return
        if self.grid.verticalScrollBar().value() == 0 and not self.grid.selected_rows():
            self.search.refresh()

    def _update_status_line(self) -> None:
        if self.sidebar.current().kind == PROBLEMS:
            self.result_label.setText("")  # the Problems view says what it shows
            self.result_icon.hide()
            return
        text = self.search.status_text()
        if self.search.query.needs_model and self.model_status.error and not self.search.error:
            text = "Searching by description needs the model (see the message above)."
        self.result_label.setText(text)
        self.result_icon.setVisible(bool(self.search.error))
        self.result_label.setToolTip(
            f"Ranked in {self.search.last_ms:.0f} ms" if self.search.last_ms else ""
        )

    def update_stack(self, *args: object) -> None:
        if self.stack.currentWidget() is self.viewer:
            return
        if self.sidebar.current().kind == PROBLEMS:
            self.stack.setCurrentWidget(self.problems)
            return
        query = self.search.query
        if self.model.rowCount() or self.search.in_flight:
            self.stack.setCurrentWidget(self.grid)
            return
        if self.folder_count == 0 and self.library.adding:
            self.empty.show_adding_folders()
        elif self.folder_count == 0 and (query.kind == "browse" or not self.search.error):
            self.empty.show_welcome()  # a search in an empty library: it needs folders first
        elif query.kind == "browse" and not query.filtered:
            if self.services.index_worker.running or self.index_status.isVisible():
                self.empty.show_searching_folders()
            elif self.model_status.embedder is None:
                # not "no photos": none indexed yet
                self.empty.show_waiting_for_model(preparing=not self.model_status.error)
            else:
                self.empty.show_no_photos_in_folders()
        elif query.kind == "browse":
            self.empty.show_nothing_matches(
                self.collections.empty_text(query) or f"No photos {self._filter_words(query)}."
            )
        elif self.search.error:
            self.empty.show_nothing_matches(self.search.error)
        elif query.filtered:
            self.empty.show_nothing_matches(
                f"No indexed photos to search {self._filter_words(query)}."
            )
        else:
            self.empty.show_nothing_matches(
                "No photos are indexed yet, so there is nothing to search."
            )
        self.stack.setCurrentWidget(self.empty)

    @staticmethod
    def _filter_words(query: Query) -> str:
        """ "in this folder", "in this date range", or both: only the filters that are set."""
        parts = []
        if query.folder_id is not None:
            parts.append("in this folder")
        if query.album_id is not None:
            parts.append("in this album")
        if query.favourites:
            parts.append("among your favourites")
        if query.date_from or query.date_to:
            parts.append("in this date range")
        return " and ".join(parts) or "here"

    # -- photos: viewer, context menu ------------------------------------------------------

    def open_viewer(self, row: int) -> None:
        self.settle_search()
        self.viewing.open_viewer(row)

    def settle_search(self) -> None:
        """The user settled on the search shown (opened a result, left the search bar): only
        now are its phrases remembered in the library, not every pause's prefix."""
        query = self.search.query
        if query.kind == "text" and query.text.strip():
            self.search.worker.settle(query.text)

    def close_viewer(self) -> None:
        self.viewing.close_viewer()

    def _after_photos_removed(self, *args: object) -> None:
        """Photos left the grid under the viewer (trashed, say): it shows the photo that took
        their place, or goes back to the grid when none is left."""
        if self.stack.currentWidget() is not self.viewer:
            return
        if self.model.rowCount() == 0:
            self.close_viewer()
        else:
            self.viewer.show_row(max(0, min(self.viewer.row, self.model.rowCount() - 1)))

    def _after_viewer_closed(self) -> None:
        self.update_stack()

    def _on_page_changed(self, *args: object) -> None:
        # The size slider and Whole photos are the grid's: not over the viewer or a panel.
        self.grid_controls.setVisible(self.stack.currentWidget() is self.grid)

    def toggle_info(self) -> None:
        self.viewing.toggle_info()

    def _connect_favourites(self) -> None:
        """The viewer's heart: through the collections controller where there is one (it
        keeps the tiles' hearts and the sidebar in step), else straight to the library."""
        favourites = getattr(self, "collections", None)
        if favourites is None:
            self.viewing.use_store_favourites(self.store)
            return
        self.viewer.use_favourites(
            lambda photo_id, answer: answer(favourites.is_favourite(photo_id)),
            lambda photo_id, favourite: favourites.set_favourite([photo_id], favourite),
        )
        favourites.favouritesChanged.connect(self.viewing.favourites_changed)

    def _chrome(self) -> list[QWidget]:
        """What full screen hides: everything but the photo."""
        return [
            self.menuBar(), self.statusBar(), self.banner, self.download_panel, self.sidebar,
            self.search_bar, self.settings_button, self.result_icon, self.result_label,
            self.grid_controls, self.info_panel,
        ]  # fmt: skip

    def context_menu_for(self, row: int) -> Any:
        """The menu for ``row`` and the rest of the selection (if ``row`` is in it)."""
        rows = self.grid.selected_rows()
        if row not in rows:
            rows = [row]
            self.grid.setCurrentIndex(self.model.index(row))
        return self.photo_actions.menu([self.model.path(r) for r in rows], row)

    def _grid_context_menu(self, pos: QPoint) -> None:
        index = self.grid.indexAt(pos)
        if index.isValid():
            self.context_menu_for(index.row()).exec(self.grid.viewport().mapToGlobal(pos))

    def _viewer_context_menu(self, row: int, global_pos: QPoint) -> None:
        self.photo_actions.menu([self.model.path(row)], row, in_viewer=True).exec(global_pos)

    def _selected_paths(self) -> list[str]:
        if self.stack.currentWidget() is self.viewer and self.viewer.row >= 0:
            return [self.model.path(self.viewer.row)]
        rows = self.grid.selected_rows()
        return [self.model.path(r) for r in rows]

    def copy_selected_paths(self) -> None:
        paths = self._selected_paths()
        if paths:
            self.photo_actions.copy_paths(paths)

    def copy_selected_image(self) -> None:
        paths = self._selected_paths()
        if paths:
            self.photo_actions.copy_image(paths[0])

    def find_similar_to_selected(self) -> None:
        paths = self._selected_paths()
        if paths:
            self.find_similar(paths[0])

    def _typed_in_grid(self, text: str) -> None:
        self.search_bar.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_bar.edit.insert(text)
        self.search_bar.edit.textEdited.emit(self.search_bar.edit.text())

    def zoom(self, step: int) -> None:
        self.grid_controls.zoom(step)

    # -- messages, dialogs -----------------------------------------------------------------

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 10_000)

    def show_error(self, text: str) -> None:
        self.banner.show_message(text, owner="error", level="error")

    def open_settings(self) -> None:
        current = Choices(
            self.services.model_key,
            str(self.settings.value(LIBRARY_KEY, "") or ""),
            self.services.threads,
        )
        dialog = SettingsDialog(current, str(self.store.path.parent), self)
        if dialog.exec() != SettingsDialog.DialogCode.Accepted:
            return
        chosen = dialog.choices()
        if chosen.library != current.library:
            self.settings.setValue(LIBRARY_KEY, chosen.library)
            self.show_message("The new library location is used the next time photoclip starts.")
        if chosen.threads != current.threads:
            self.settings.setValue(THREADS_KEY, chosen.threads)
            self.services.threads = chosen.threads  # the workers use it from their next job
        if chosen.model != current.model:
            weights = self.settings.value(weights_key(chosen.model))
            if not confirm_model_download(self, chosen.model, str(weights) if weights else None):
                return
            self.model_status.load(chosen.model)
            serving = self.model_status.embedder
            if serving is not None and serving.spec.key != chosen.model:
                self.show_message(
                    f"Preparing the {chosen.model} model: your photos are embedded with it in "
                    f"the background, and searches use {serving.spec.key} until it is done."
                )

    # -- drag and drop ---------------------------------------------------------------------

    def _is_own_drag(self, event: QDropEvent | QDragMoveEvent) -> bool:
        return event.source() is self.grid

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and not self._is_own_drag(event):
            if accept_copy_or_link(event):
                self.overlay.show_over(self.splitter)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasUrls() and not self._is_own_drag(event):
            accept_copy_or_link(event)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.overlay.hide()

    def dropEvent(self, event: QDropEvent) -> None:
        self.overlay.hide()
        if self._is_own_drag(event):
            event.ignore()
            return
        plan = plan_drop(event.mimeData())
        if plan.folders and accept_copy_or_link(event):
            self.add_folders(plan.folders)
        else:
            event.ignore()
        if plan.message:
            self.show_message(plan.message)

    # -- closing ---------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop indexing cleanly (the library stays consistent: the core commits per batch)
        and wait, bounded, for the background threads."""
        if self._closing:
            event.accept()
            return
        self._closing = True
        self._save_state()
        self.setUpdatesEnabled(False)  # nothing may paint into a window that is going away
        self.hide()
        self.watcher.enabled = False
        self.services.shutdown()
        self.thumbnails.shutdown()
        self.viewer.shutdown()
        wait_for_tasks()
        if self.instance is not None:
            self.instance.close()
        event.accept()

    def event(self, event: QEvent) -> bool:
        # Once closing, a repaint still queued would reach Qt after it destroyed the native
        # window and paint into nothing (Qt warns on stderr): drop it.
        if self._closing and event.type() == QEvent.Type.UpdateRequest:
            return True
        return super().event(event)

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

from .download_panel import DownloadPanel, confirm_model_download
from .drop import plan_drop
from .folder_watcher import FolderWatcher
from .grid_model import PhotoGridModel
from .grid_view import PhotoGridView
from .icons import app_icon, gear_icon
from .index_status import IndexStatus
from .library_controller import LibraryController
from .menus import build_menus
from .model_status import ModelStatus
from .panels import Banner, DropOverlay, EmptyState
from .photo_actions import PhotoActions
from .problems_view import ProblemsView
from .search_bar import SearchBar
from .search_controller import SearchController
from .search_worker import Query
from .services import Services
from .settings_dialog import LIBRARY_KEY, THREADS_KEY, Choices, SettingsDialog, weights_key
from .sidebar import FOLDER, PROBLEMS, Selection, Sidebar
from .single_instance import SingleInstance
from .tasks import run_task, wait_for_tasks
from .thumbnails import ThumbnailLoader
from .viewer import Viewer

THUMB_SIZES = (112, 168, 224)


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
        self.setWindowTitle("photoclip")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._build_widgets()
        build_menus(self)
        self._connect()
        self._restore_state()
        if instance is not None:
            instance.activated.connect(self.on_another_launch)

    # -- construction ----------------------------------------------------------------------

    def _build_widgets(self) -> None:
        stored = str(self.settings.value("grid/thumbSize", THUMB_SIZES[1]))
        side = int(stored) if stored.isdigit() and int(stored) in THUMB_SIZES else THUMB_SIZES[1]
        self.thumbnails = ThumbnailLoader(self.store, side, self)
        self.model = PhotoGridModel(self)
        self.grid = PhotoGridView(self.thumbnails)
        self.grid.setModel(self.model)
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
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(2)
        right_layout.addLayout(label_row)
        right_layout.addWidget(self.stack, 1)
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
        self.search = SearchController(self.services.search_worker, self.model, self)
        self.model_status = ModelStatus(self.services, self, self.banner, self.model_label)
        self.watcher = FolderWatcher(str(self.store.path.parent), self)
        self.library = LibraryController(self)
        self.library.refreshed.connect(self.libraryRefreshed)
        self.library.indexingFinished.connect(self.indexingFinished)
        central.installEventFilter(self)

    def _connect(self) -> None:
        bar = self.search_bar
        bar.changed.connect(self.on_query_changed)
        bar.similarRequested.connect(self.find_similar)
        self.settings_button.clicked.connect(self.open_settings)
        self.sidebar.selectionChanged.connect(self.on_sidebar)
        self.sidebar.addFolderRequested.connect(self.choose_folder)
        self.sidebar.removeFolderRequested.connect(self.library.remove_folder)
        self.empty.addFolderClicked.connect(self.choose_folder)
        self.problems.showInFolder.connect(self.photo_actions.show_in_folder)
        self.grid.activated.connect(lambda index: self.open_viewer(index.row()))
        self.grid.customContextMenuRequested.connect(self._grid_context_menu)
        self.grid.typed.connect(self._typed_in_grid)
        self.viewer.closed.connect(self.close_viewer)
        self.viewer.contextMenuRequested.connect(self._viewer_context_menu)
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
        self.model_status.unavailable.connect(lambda _: self._update_status_line())

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
        self.settings.setValue("grid/thumbSize", self.thumbnails.side)
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
            date_from=date_from,
            date_to=date_to,
            sort_by_date=bar.sort_by_date and kind != "browse",
        )

    def on_query_changed(self) -> None:
        if self.stack.currentWidget() is self.viewer:
            self.close_viewer()
        self.search.set_query(self.current_query())
        self.update_stack()

    def on_sidebar(self, selection: Selection) -> None:
        if selection.kind == PROBLEMS:
            run_task(self.store.problems, on_done=self.problems.set_problems)
        else:
            self.on_query_changed()
        self.update_stack()

    def find_similar(self, path: str) -> None:
        self.search_bar.set_similar(path)

    def _on_page_shown(self, page: Any) -> None:
        if page.offset == 0:
            self.grid.scrollToTop()
        self.update_stack()

    def refresh_search_if_untouched(self) -> None:
        """New photos while a search is shown: rank again, unless the user is scrolled down
        or has picked photos (results must not move under their hands)."""
        if self.search.query.kind == "browse" or self.stack.currentWidget() is self.viewer:
            return
        if self.grid.verticalScrollBar().value() == 0 and not self.grid.selected_rows():
            self.search.refresh()

    def _update_status_line(self) -> None:
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
        if query.kind == "browse" and not query.filtered:
            if self.folder_count == 0:
                self.empty.show_welcome()
            elif self.services.index_worker.running or self.index_status.isVisible():
                self.empty.show_searching_folders()
            elif self.model_status.embedder is None:
                self.empty.show_waiting_for_model()  # not "no photos": none indexed yet
            else:
                self.empty.show_no_photos_in_folders()
        elif query.kind == "browse":
            self.empty.show_nothing_matches("No photos in this folder or date range.")
        else:
            self.empty.show_nothing_matches(
                self.search.error or "No indexed photos to search in this folder or date range."
            )
        self.stack.setCurrentWidget(self.empty)

    # -- photos: viewer, context menu ------------------------------------------------------

    def open_viewer(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            return
        self.stack.setCurrentWidget(self.viewer)
        self.viewer.show_row(row)
        self.viewer.setFocus(Qt.FocusReason.OtherFocusReason)

    def close_viewer(self) -> None:
        row = self.viewer.row
        self.stack.setCurrentWidget(self.grid)
        self.update_stack()
        if 0 <= row < self.model.rowCount():
            index = self.model.index(row)
            self.grid.setCurrentIndex(index)
            self.grid.scrollTo(index)
        self.grid.setFocus(Qt.FocusReason.OtherFocusReason)

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
        sizes = list(THUMB_SIZES)
        current = min(sizes, key=lambda s: abs(s - self.thumbnails.side))
        new = sizes[max(0, min(len(sizes) - 1, sizes.index(current) + step))]
        self.grid.set_thumbnail_side(new)

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
            event.acceptProposedAction()
            self.overlay.show_over(self.splitter)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasUrls() and not self._is_own_drag(event):
            event.acceptProposedAction()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.overlay.hide()

    def dropEvent(self, event: QDropEvent) -> None:
        self.overlay.hide()
        if self._is_own_drag(event):
            event.ignore()
            return
        plan = plan_drop(event.mimeData())
        if plan.folders:
            event.acceptProposedAction()
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

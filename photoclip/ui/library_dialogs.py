"""Opening the library before the window: a migration's backup runs in a thread behind a
progress dialog, a damaged library is offered a one-click rebuild from its folders, and one
that can't be used where it is, another place."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from PySide6.QtCore import QEventLoop, QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QWidget

from ..errors import DamagedLibraryError
from ..recovery import Rebuilt, rebuild
from ..store import Store, pending_migration


class _Opening(QObject):
    """Carries a worker thread's news to the GUI thread (queued signals)."""

    progress = Signal(int, int)  # bytes backed up, bytes in all
    done = Signal()


def migration_text(done: int, total: int) -> str:
    mb = 1 << 20
    amount = f": {done / mb:,.0f} of {total / mb:,.0f} MB" if total else ""
    return f"Updating your library for this version of photoclip… (backing up first{amount})"


def open_with_progress(db_path: Path, parent: QWidget | None = None) -> Store:
    """The Store for ``db_path``. A library that needs migrating (and so a backup first, which
    takes a while for a big one) opens in a thread while a progress dialog shows how far the
    backup is and the event loop keeps running; anything else opens at once."""
    if pending_migration(db_path) is None:
        return Store(db_path)
    news = _Opening()
    dialog = QProgressDialog(migration_text(0, 0), "", 0, 100, parent)
    dialog.setWindowTitle("photoclip")
    dialog.setCancelButton(None)  # a half-done backup helps no one; it is quick per step
    dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)

    def show_progress(done: int, total: int) -> None:
        dialog.setLabelText(migration_text(done, total))
        dialog.setValue(int(done * 100 / total) if total else 0)

    news.progress.connect(show_progress)
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["store"] = Store(db_path, backup_progress=news.progress.emit)
        except BaseException as exc:  # handed to the GUI thread, raised there
            outcome["error"] = exc
        finally:
            news.done.emit()

    loop = QEventLoop()
    news.done.connect(loop.quit)
    thread = threading.Thread(target=work, name="photoclip-migrate", daemon=True)
    dialog.show()
    thread.start()
    loop.exec()
    thread.join()
    dialog.close()
    dialog.deleteLater()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    store = outcome["store"]
    assert isinstance(store, Store)
    return store


class DamagedLibraryDialog(QMessageBox):
    """What happened, and the one-click way out that keeps the damaged file."""

    def __init__(self, db_path: Path, message: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("photoclip")
        self.setIcon(QMessageBox.Icon.Warning)
        self.setText(f"The library {db_path} is damaged.")
        self.setInformativeText(
            "photoclip can move the damaged library aside (it is kept, not deleted) and "
            "rebuild a new one from your folders: your photos are indexed again."
        )
        self.setDetailedText(message)
        self.rebuild_button = self.addButton(
            "Move the Damaged Library Aside and Rebuild", QMessageBox.ButtonRole.AcceptRole
        )
        self.quit_button = self.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
        self.setDefaultButton(self.rebuild_button)

    def wants_rebuild(self) -> bool:
        self.exec()
        return self.clickedButton() is self.rebuild_button


def open_library(db_path: Path, parent: QWidget | None = None) -> tuple[Store, Rebuilt | None]:
    """The library's Store; for a damaged library, the rebuilt one once the user agreed, with
    what was done. Raises DamagedLibraryError when the user chose Quit, StoreError (a
    PhotoclipError) for any other reason the library can't be used."""
    try:
        return open_with_progress(db_path, parent), None
    except DamagedLibraryError as exc:
        if not DamagedLibraryDialog(db_path, str(exc), parent).wants_rebuild():
            raise
        rebuilt = rebuild(db_path)
        return rebuilt.store, rebuilt


def choose_other_library(message: str, parent: QWidget | None = None) -> str | None:
    """The library can't be used where it is (a network drive, a read-only folder, a newer
    photoclip's file): say why and offer to keep the library somewhere else. Returns the
    folder chosen, or None for Quit."""
    box = QMessageBox(parent)
    box.setWindowTitle("photoclip")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setText("photoclip can't open its library.")
    box.setInformativeText(
        f"{message}\n\nChoose a folder on this computer for the library (your photos can stay "
        "where they are), or quit."
    )
    choose = box.addButton("Choose Another Folder…", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(choose)
    box.exec()
    if box.clickedButton() is not choose:
        return None
    folder = QFileDialog.getExistingDirectory(
        parent, "Choose a Folder for the Library", os.path.expanduser("~")
    )
    return folder or None

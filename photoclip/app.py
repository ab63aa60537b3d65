"""The desktop app's composition root: parses the app's command line, resolves the library,
model and weights as the CLI does (``photoclip.config``), makes sure one window serves each
library, opens the store (a migration behind a progress dialog, a damaged library offered a
rebuild), builds the model loader and the workers, and shows the window before anything
imports torch."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from . import APP_NAME, __version__
from .cli import MODEL_SETTING
from .config import MODEL_ENV, Resolver, update_config
from .errors import DamagedLibraryError, LibraryBusyError, PhotoclipError, StoreError
from .models import DEFAULT_MODEL, MODELS
from .paths import LIBRARY_ENV
from .recovery import remember_folders
from .ui.icons import app_icon
from .ui.library_dialogs import choose_other_library, open_library
from .ui.main_window import MainWindow
from .ui.services import Services
from .ui.settings_dialog import ConfigSettings, import_app_settings
from .ui.single_instance import SingleInstance, server_name
from .ui.tasks import wait_for_tasks

SHUTDOWN_WAIT_S = 20.0

log = logging.getLogger(__name__)


@dataclass
class Options:
    folders: list[str] = field(default_factory=list)
    library: str | None = None
    model: str | None = None
    weights: str | None = None


def parse_args(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog=APP_NAME,
        description="Open the photoclip app. Folders given are added to the library and "
        "indexed. (For the command line tools, see: photoclip --help.)",
    )
    parser.add_argument("folders", nargs="*", metavar="FOLDER", help="folders to add and index")
    parser.add_argument(
        "--library",
        metavar="PATH",
        help=f"library folder or .db file (default: ${LIBRARY_ENV}, Settings, or the OS data "
        "folder)",
    )
    parser.add_argument(
        "--model",
        choices=sorted(MODELS),
        help=f"CLIP model (default: ${MODEL_ENV}, else the library's model, else {DEFAULT_MODEL})",
    )
    parser.add_argument("--weights", metavar="FILE", help="use this local weights file")
    parser.add_argument("--version", action="version", version=f"photoclip {__version__}")
    args = parser.parse_args(list(argv))
    return Options(args.folders, args.library, args.model, args.weights)


def app_settings() -> QSettings:
    return QSettings(APP_NAME, APP_NAME)


def create_application(argv: Sequence[str] = ()) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication([sys.argv[0] if sys.argv else APP_NAME, *argv])
    # No organization name: Qt's AppLocalDataLocation is then paths.default_data_dir().
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName("photoclip")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("photoclip")
    app.setWindowIcon(app_icon())
    return app


def launch(
    options: Options,
    *,
    settings: QSettings | None = None,
    instance_name: str | None = None,
    config_file: Path | None = None,
) -> MainWindow | None:
    """Build the window for the options' library, or hand the folders to the photoclip that
    already has that library open and return None (None too when the user chose Quit for a
    damaged library). Raises PhotoclipError (StoreError) when the library can't be opened.
    Nothing here imports torch. ``config_file``: photoclip's settings file (the CLI's too)."""
    settings = ConfigSettings(settings if settings is not None else app_settings(), config_file)
    import_app_settings(settings, settings.config_file)
    resolver = Resolver(settings.config_file)
    db_path = resolver.library(options.library).value
    folders = [os.path.abspath(f) for f in options.folders]
    instance = SingleInstance(instance_name or server_name(db_path))
    if instance.hand_off(folders):
        return None
    if not instance.listen() and instance.handed_off:
        return None  # a live instance answered after all and took the folders
    early: list[list[str]] = []  # launches handed over while the library opens (a migration)

    def keep(handed: list[str]) -> None:
        early.append(handed)

    instance.activated.connect(keep)
    try:
        store, rebuilt = open_library(db_path)
    except DamagedLibraryError:
        instance.close()
        return None  # the user read why and chose Quit
    except BaseException:
        instance.close()
        raise
    finally:
        instance.activated.disconnect(keep)
    remember_folders(store)  # what a rebuild would start from, should this file be damaged
    key = resolver.model(options.model, store.get_setting(MODEL_SETTING)).value
    weights = resolver.weights(key, options.weights).value
    threads = resolver.threads().value
    services = Services(store, settings, key, weights, threads)
    services.index_worker.finished.connect(lambda _report: remember_folders(store))
    window = MainWindow(services, instance)
    window.start(folders)
    for handed in early:
        window.on_another_launch(handed)
    if rebuilt is not None:
        window.show_message(rebuilt.summary())
    return window


def launch_or_move_library(options: Options, **kwargs: Any) -> MainWindow | None:
    """``launch``; when the library can't be used where it is (a network drive, a read-only
    folder, a newer photoclip's file), the user may choose another folder for it, which is
    remembered as Settings would. Quit (None from the dialog) re-raises the error."""
    while True:
        try:
            return launch(options, **kwargs)
        except StoreError as exc:
            if isinstance(exc, LibraryBusyError):
                raise
            folder = choose_other_library(str(exc))
            if folder is None:
                raise
            options.library = folder
            update_config(kwargs.get("config_file"), library=folder)


def close(window: MainWindow) -> None:
    """After the event loop: close the store once every thread has stopped. A thread that
    didn't stop in time (a model still loading) is left to process exit."""
    window.close()
    wait_for_tasks()  # jobs that signals queued before the close started after it
    if window.services.threads_finished:
        remember_folders(window.services.store)
        window.services.store.close()


def _close_on_signals(window: MainWindow) -> None:
    """Ctrl+C in the terminal (or a polite kill) closes the window the normal way: indexing
    stops at a batch boundary. A slow timer lets Python notice signals during Qt's loop."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: window.close())
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(300)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    options = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="photoclip: %(message)s")
    app = create_application()
    try:
        window = launch_or_move_library(options)
    except PhotoclipError as exc:
        QMessageBox.critical(None, "photoclip", str(exc))
        return 1
    if window is None:
        return 0  # the photoclip already running took the folders
    _close_on_signals(window)
    window.show()
    code = app.exec()
    close(window)
    if not window.services.threads_finished:
        # A model load can't be interrupted; the library is consistent (per-batch commits),
        # so leave without waiting for it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return int(code)

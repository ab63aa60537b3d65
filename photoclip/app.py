"""The desktop app's composition root: parses the app's command line, makes sure one window
serves each library, builds the store, the model loader and the workers, and shows the window
before anything imports torch."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from . import APP_NAME, __version__
from .cli import MODEL_SETTING
from .errors import PhotoclipError
from .models import DEFAULT_MODEL, MODELS
from .paths import LIBRARY_ENV, library_db_path
from .store import Store
from .ui.icons import app_icon
from .ui.main_window import MainWindow
from .ui.services import Services
from .ui.settings_dialog import LIBRARY_KEY, settings_threads, weights_key
from .ui.single_instance import SingleInstance, server_name
from .ui.tasks import wait_for_tasks

MODEL_ENV = "PHOTOCLIP_MODEL"
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


def library_override(options: Options, settings: QSettings) -> str | None:
    """--library, else $PHOTOCLIP_LIBRARY, else the location chosen in Settings."""
    chosen = options.library or os.environ.get(LIBRARY_ENV) or settings.value(LIBRARY_KEY)
    return str(chosen) if chosen else None


def launch(
    options: Options,
    *,
    settings: QSettings | None = None,
    instance_name: str | None = None,
) -> MainWindow | None:
    """Build the window for the options' library, or hand the folders to the photoclip that
    already has that library open and return None. Raises PhotoclipError (StoreError) when
    the library can't be opened. Nothing here imports torch."""
    settings = settings if settings is not None else app_settings()
    db_path = library_db_path(library_override(options, settings))
    folders = [os.path.abspath(f) for f in options.folders]
    instance = SingleInstance(instance_name or server_name(db_path))
    if instance.hand_off(folders):
        return None
    instance.listen()
    store = Store(db_path)
    key = (
        options.model
        or os.environ.get(MODEL_ENV)
        or store.get_setting(MODEL_SETTING)
        or DEFAULT_MODEL
    )
    stored_weights = settings.value(weights_key(key))
    weights = options.weights or (str(stored_weights) if stored_weights else None)
    services = Services(store, settings, key, weights, settings_threads(settings))
    window = MainWindow(services, instance)
    window.start(folders)
    return window


def close(window: MainWindow) -> None:
    """After the event loop: close the store once every thread has stopped. A thread that
    didn't stop in time (a model still loading) is left to process exit."""
    window.close()
    wait_for_tasks()  # jobs that signals queued before the close started after it
    if window.services.threads_finished:
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
        window = launch(options)
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

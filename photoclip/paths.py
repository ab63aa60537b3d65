"""Where photoclip keeps its library database (the OS-standard per-user data folder,
overridable with ``--library`` or ``PHOTOCLIP_LIBRARY``) and its settings file (the
OS-standard per-user config folder)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import APP_NAME

LIBRARY_ENV = "PHOTOCLIP_LIBRARY"
DB_NAME = "library.db"


def default_data_dir() -> Path:
    """The folder Qt's ``QStandardPaths.AppLocalDataLocation`` names for this app."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / APP_NAME


def default_config_dir() -> Path:
    """The per-user config folder: $XDG_CONFIG_HOME/photoclip (else ~/.config/photoclip) on
    Linux, ~/Library/Application Support/photoclip on macOS, %APPDATA%\\photoclip on Windows."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    return base / APP_NAME


def library_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The library folder: the explicit override, else $PHOTOCLIP_LIBRARY, else the default.

    A path ending in ``.db`` names the database file itself; its folder is the library."""
    chosen = override or os.environ.get(LIBRARY_ENV)
    if not chosen:
        return default_data_dir()
    path = Path(chosen).expanduser()
    return path.parent if path.suffix == ".db" else path


def library_db_path(override: str | os.PathLike[str] | None = None) -> Path:
    chosen = override or os.environ.get(LIBRARY_ENV)
    if chosen and Path(chosen).suffix == ".db":
        return Path(chosen).expanduser()
    return library_dir(override) / DB_NAME

"""The user's lasting choices (library location, a weights file per model, CPU threads) in one
small JSON file, and the one resolver of library, model, weights and threads that the CLI and
the app share: a flag beats an environment variable, which beats the settings file, which
beats the library's own setting, which beats the default."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

from .errors import PhotoclipError
from .models import DEFAULT_MODEL, get_spec
from .paths import LIBRARY_ENV, default_config_dir, library_db_path

CONFIG_NAME = "config.json"
MODEL_ENV = "PHOTOCLIP_MODEL"
WEIGHTS_ENV = "PHOTOCLIP_WEIGHTS"  # the embedder reads the same variable

T = TypeVar("T")
FROM_SETTINGS_FILE = "the settings file"  # a Choice's source; status shows the file's path


class ConfigError(PhotoclipError):
    """The settings file exists but can't be read or written."""


def config_path() -> Path:
    return default_config_dir() / CONFIG_NAME


@dataclass(frozen=True)
class UserConfig:
    library: str = ""  # "" = the default location
    weights: dict[str, str] = field(default_factory=dict)  # model key -> weights file
    threads: int = 0  # 0 = automatic
    # Whether the app's older settings (QSettings) were read into this file once.
    imported_app_settings: bool = False
    # Keys a newer photoclip wrote: kept as they are when this one saves.
    extra: dict[str, Any] = field(default_factory=dict)


_KNOWN = ("library", "weights", "threads", "imported_app_settings")


def load_config(path: Path | None = None) -> UserConfig:
    """The settings file's choices; the defaults when there is no file yet. A file that is
    there but unreadable is an error, never silently the defaults: that could make the CLI
    write to another library than the one the user chose."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return UserConfig()
    except OSError as exc:
        raise ConfigError(
            f"photoclip can't read its settings file {path}: {exc.strerror or exc}. "
            "Check its permissions."
        ) from exc
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        weights = data.get("weights") or {}
        if not isinstance(weights, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in weights.items()
        ):
            raise ValueError("'weights' must map model names to file paths")
        library = data.get("library") or ""
        if not isinstance(library, str):
            raise ValueError("'library' must be a path")
        threads = data.get("threads") or 0
        if not isinstance(threads, int) or threads < 0:
            raise ValueError("'threads' must be a whole number, 0 or more")
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise ConfigError(
            f"photoclip's settings file {path} is damaged ({exc}). Correct it, or delete it "
            "to start from the default settings (then choose your library again)."
        ) from exc
    return UserConfig(
        library=library,
        weights=dict(weights),
        threads=threads,
        imported_app_settings=bool(data.get("imported_app_settings")),
        extra={k: v for k, v in data.items() if k not in _KNOWN},
    )


def save_config(config: UserConfig, path: Path | None = None) -> None:
    """Write the settings file whole or not at all (a temp file, then an atomic rename)."""
    path = path or config_path()
    data: dict[str, Any] = {
        **config.extra,
        "library": config.library,
        "weights": dict(sorted(config.weights.items())),
        "threads": config.threads,
        "imported_app_settings": config.imported_app_settings,
    }
    try:
        write_atomically(path, json.dumps(data, indent=2) + "\n")
    except OSError as exc:
        raise ConfigError(
            f"photoclip couldn't save its settings in {path}: {exc.strerror or exc}. "
            "Check that the folder is writable and the disk isn't full."
        ) from exc


def update_config(path: Path | None = None, **changes: Any) -> UserConfig:
    """Read, change and save the settings file; returns the new choices."""
    config = replace(load_config(path), **changes)
    save_config(config, path)
    return config


def set_weights(model: str, weights: str | None, path: Path | None = None) -> UserConfig:
    """Remember ``weights`` as the file for ``model`` (None forgets it)."""
    chosen = dict(load_config(path).weights)
    if weights:
        chosen[model] = os.path.abspath(os.path.expanduser(weights))
    else:
        chosen.pop(model, None)
    return update_config(path, weights=chosen)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a reader sees the old file or the new one, never
    half of one, even if photoclip is killed or the computer stops mid-write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# -- the resolver ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice(Generic[T]):
    """A resolved setting and where it came from, in words ("--library", "the settings
    file", "$PHOTOCLIP_MODEL", "the library's setting", "the default")."""

    value: T
    source: str


class Resolver:
    """Which library, model, weights file and thread count to use, the same way for the CLI
    and the app: flag > environment variable > settings file > library's setting > default."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_path()
        self.config = load_config(self.path)

    def library(self, flag: str | None = None) -> Choice[Path]:
        """The library database file."""
        if flag:
            return Choice(library_db_path(flag), "--library")
        if os.environ.get(LIBRARY_ENV):
            return Choice(library_db_path(os.environ[LIBRARY_ENV]), f"${LIBRARY_ENV}")
        if self.config.library:
            return Choice(library_db_path(self.config.library), FROM_SETTINGS_FILE)
        return Choice(library_db_path(None), "the default")

    def model(self, flag: str | None = None, library_model: str | None = None) -> Choice[str]:
        """The model key; ``library_model`` is the one the library last used."""
        if flag:
            return Choice(flag, "--model")
        env = os.environ.get(MODEL_ENV)
        if env:
            get_spec(env)  # an unknown name is an error that lists the known ones
            return Choice(env, f"${MODEL_ENV}")
        if library_model:
            return Choice(library_model, "the library's setting")
        return Choice(DEFAULT_MODEL, "the default")

    def weights(self, model: str, flag: str | None = None) -> Choice[str | None]:
        """The weights file for ``model``; None means the model's usual place (the bundled
        folder or the Hugging Face cache)."""
        if flag:
            return Choice(flag, "--weights")
        if os.environ.get(WEIGHTS_ENV):
            return Choice(os.environ[WEIGHTS_ENV], f"${WEIGHTS_ENV}")
        if self.config.weights.get(model):
            return Choice(self.config.weights[model], FROM_SETTINGS_FILE)
        return Choice(None, "the default")

    def threads(self, flag: int | None = None) -> Choice[int]:
        """CPU threads for the model; 0 means all."""
        if flag:
            return Choice(flag, "--threads")
        if self.config.threads:
            return Choice(self.config.threads, FROM_SETTINGS_FILE)
        return Choice(0, "the default")

"""Puts photoclip in a Linux desktop's app menu for the current user (XDG desktop entry, hicolor
icons, AppStream metadata) and takes exactly that away again, using a manifest of what it wrote.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import APP_NAME, __version__
from .errors import PhotoclipError
from .resource import resource_path

DESKTOP_ID = "photoclip.desktop"
METAINFO_NAME = "io.github.photoclip.photoclip.metainfo.xml"
ICON_NAME = "photoclip"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
MANIFEST_NAME = "desktop-install.json"
MANIFEST_FORMAT = 1

# Characters that force an Exec argument into double quotes (Desktop Entry spec, "The Exec key").
_EXEC_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")
_EXEC_ESCAPED_IN_QUOTES = frozenset('"`$\\')


@dataclass(frozen=True)
class DesktopInstall:
    """What ``install``/``uninstall`` did: files written or removed, and the manifest."""

    files: tuple[Path, ...]
    manifest: Path
    command: tuple[str, ...] = ()


def data_home() -> Path:
    """``$XDG_DATA_HOME``, or ``~/.local/share`` when it is unset, empty or relative (the spec
    says to ignore a relative one)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if os.path.isabs(value) else Path.home() / ".local" / "share"


def manifest_path(base: Path | None = None) -> Path:
    return (base or data_home()) / APP_NAME / MANIFEST_NAME


def launch_command() -> list[str]:
    """The command that opens the app, as absolute paths that work from a menu (no $PATH)."""
    if getattr(sys, "frozen", False):
        appimage, appdir = os.environ.get("APPIMAGE"), os.environ.get("APPDIR")
        if appimage and appdir and Path(sys.executable).resolve().is_relative_to(appdir):
            # Inside an AppImage the bundle lives on a mount that changes every run.
            return [appimage]
        gui = Path(sys.executable).with_name("photoclip-gui")
        return [str(gui if gui.is_file() else Path(sys.executable))]
    # pip puts gui-scripts beside the interpreter; sys.executable is kept unresolved so a
    # virtual environment's bin/ is used, not the base interpreter's.
    gui_script = Path(sys.executable).with_name("photoclip-gui")
    if gui_script.is_file() and os.access(gui_script, os.X_OK):
        return [str(gui_script)]
    return [sys.executable, "-m", "photoclip"]


def quote_exec_argument(arg: str) -> str:
    """One Exec argument, quoted by the spec's rules (before the string-value escaping)."""
    arg = arg.replace("%", "%%")
    if not any(ch in _EXEC_RESERVED for ch in arg):
        return arg
    return '"' + "".join("\\" + ch if ch in _EXEC_ESCAPED_IN_QUOTES else ch for ch in arg) + '"'


def escape_string_value(value: str) -> str:
    """The escaping every desktop-entry string value gets; applied after the Exec quoting."""
    return (
        value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    )


def exec_value(command: Sequence[str]) -> str:
    """The full ``Exec=`` value: the command, then ``%F`` for dropped or opened files."""
    return escape_string_value(" ".join(quote_exec_argument(a) for a in command) + " %F")


def desktop_entry(template: str, command: Sequence[str]) -> str:
    """The shipped desktop entry with ``Exec`` (and ``TryExec``) pointing at ``command``.

    ``TryExec`` names the program itself, so the menu entry hides itself if that environment
    is deleted without an uninstall."""
    lines = []
    for line in template.splitlines():
        key = line.split("=", 1)[0].strip()
        if key == "TryExec":
            continue
        if key == "Exec":
            lines.append(f"TryExec={escape_string_value(command[0])}")
            lines.append(f"Exec={exec_value(command)}")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def _linux_file(name: str) -> Path:
    """Installed, the desktop files ship as ``resources/linux/``; in a checkout they live in
    ``packaging/linux/``."""
    shipped = resource_path("linux", name)
    if shipped.is_file():
        return shipped
    checkout = Path(__file__).resolve().parent.parent / "packaging" / "linux" / name
    if checkout.is_file():
        return checkout
    raise PhotoclipError(
        f"This copy of photoclip is missing its desktop file {name}. Reinstall photoclip."
    )


def _require_xdg_desktop() -> None:
    if sys.platform in ("win32", "darwin"):
        raise PhotoclipError(
            "install-desktop is for Linux desktops. On Windows, pin photoclip-gui.exe from the "
            "photoclip bundle to Start; on macOS, drag photoclip.app to Applications."
        )


def _planned_files(base: Path) -> list[tuple[Path, Path | None]]:
    """(target, source) pairs; a source of None is the generated desktop entry."""
    icons = resource_path("icons")
    planned: list[tuple[Path, Path | None]] = [(base / "applications" / DESKTOP_ID, None)]
    hicolor = base / "icons" / "hicolor"
    for size in ICON_SIZES:
        relative = Path(f"{size}x{size}", "apps", f"{ICON_NAME}.png")
        planned.append((hicolor / relative, icons / "hicolor" / relative))
    planned.append((hicolor / "scalable" / "apps" / f"{ICON_NAME}.svg", icons / "photoclip.svg"))
    planned.append((base / "metainfo" / METAINFO_NAME, _linux_file(METAINFO_NAME)))
    return planned


def _read_manifest(path: Path) -> dict[str, list[str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"files": [], "directories": []}
    except (OSError, ValueError) as exc:
        raise PhotoclipError(
            f"Couldn't read {path} ({exc}). Delete it and run install-desktop again."
        ) from exc
    return {
        "files": [str(p) for p in data.get("files", [])],
        "directories": [str(p) for p in data.get("directories", [])],
    }


def _make_dirs(path: Path, base: Path, created: list[str]) -> None:
    """``mkdir -p`` that remembers each folder below ``base`` it had to create."""
    missing = []
    for parent in (path, *path.parents):
        if parent.exists():
            break
        missing.append(parent)
    for folder in reversed(missing):
        folder.mkdir()
        if base in folder.parents and str(folder) not in created:
            created.append(str(folder))


def install(command: Sequence[str] | None = None, base: Path | None = None) -> DesktopInstall:
    """Install the desktop entry, icons and metainfo under ``base`` (``$XDG_DATA_HOME``).

    ``command`` is what the menu entry runs (default: this installation's launcher). Running
    it again updates the files in place."""
    _require_xdg_desktop()
    base = base or data_home()
    command = list(command or launch_command())
    manifest = manifest_path(base)
    previous = _read_manifest(manifest)
    created_dirs = list(previous["directories"])
    mime_cache = base / "applications" / "mimeinfo.cache"
    had_mime_cache = mime_cache.exists()
    written: list[Path] = []
    try:
        for target, source in _planned_files(base):
            _make_dirs(target.parent, base, created_dirs)
            if source is None:
                template = _linux_file(DESKTOP_ID).read_text(encoding="utf-8")
                target.write_text(desktop_entry(template, command), encoding="utf-8")
            else:
                shutil.copyfile(source, target)
            written.append(target)
        _refresh_caches(base, installing=True)
        if not had_mime_cache and mime_cache.exists():
            written.append(mime_cache)  # ours to remove again
    finally:
        # Even a half-done install is recorded, so uninstall can clean it up.
        _make_dirs(manifest.parent, base, created_dirs)
        files = sorted({*previous["files"], *map(str, written)})
        manifest.write_text(
            json.dumps(
                {"format": MANIFEST_FORMAT, "version": __version__, "command": command,
                 "files": files, "directories": created_dirs},
                indent=2,
            ) + "\n",
            encoding="utf-8",
        )  # fmt: skip
    return DesktopInstall(tuple(written), manifest, tuple(command))


def uninstall(base: Path | None = None) -> DesktopInstall:
    """Remove exactly the files the manifest lists, then the folders install had to create if
    they are empty now. Anything else in those folders stays."""
    _require_xdg_desktop()
    base = base or data_home()
    manifest = manifest_path(base)
    recorded = _read_manifest(manifest)
    root = base.resolve()
    removed: list[Path] = []
    for name in recorded["files"]:
        path = Path(name)
        if root not in path.resolve().parents:
            continue  # a hand-edited manifest must never make us delete outside the data folder
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    if manifest.exists():
        manifest.unlink()
    _refresh_caches(base, installing=False)
    for name in sorted(recorded["directories"], key=len, reverse=True):
        folder = Path(name)
        if root in folder.resolve().parents:
            # Not empty (something else lives there) or already gone: leave it.
            with contextlib.suppress(OSError):
                folder.rmdir()
    return DesktopInstall(tuple(removed), manifest)


def _refresh_caches(base: Path, *, installing: bool) -> None:
    """Rebuild the shared indexes desktops read, where the tools exist. Installing may create
    the MIME cache (the entry's MimeType needs it); uninstalling only refreshes one that is
    there. The icon cache is only ever refreshed: GTK scans the folders without one."""
    applications = base / "applications"
    if installing or (applications / "mimeinfo.cache").exists():
        _run_quietly(["update-desktop-database", "-q", str(applications)])
    hicolor = base / "icons" / "hicolor"
    if (hicolor / "icon-theme.cache").is_file():
        _run_quietly(["gtk-update-icon-cache", "-q", "-t", "-f", str(hicolor)])


def _run_quietly(args: list[str]) -> None:
    tool = shutil.which(args[0])
    if tool is None:
        return
    # A stale cache only delays the menu; desktops also rescan on their own.
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run([tool, *args[1:]], capture_output=True, timeout=60, check=False)

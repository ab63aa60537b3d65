"""``photoclip install-desktop`` / ``uninstall-desktop`` run for real into a temporary
``$XDG_DATA_HOME``: the installed entry validates, its Exec line starts the app, and uninstall
takes away exactly what install added."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from desktop_spec import exec_argv, read_entry, require_tool, run_tool

from photoclip import desktop

pytestmark = pytest.mark.skipif(
    sys.platform in ("win32", "darwin"), reason="install-desktop is for XDG (Linux) desktops"
)

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


@pytest.fixture
def prefix(tmp_path) -> Path:
    """A fake ``/usr``-like tree: ``$XDG_DATA_HOME`` is ``prefix/share``."""
    root = tmp_path / "prefix"
    (root / "share").mkdir(parents=True)
    return root


def photoclip_env(prefix: Path, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["XDG_DATA_HOME"] = str(prefix / "share")
    env["HOME"] = str(tmp_path / "home")
    return env


def run_photoclip(prefix: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "photoclip", *args],
        env=photoclip_env(prefix, tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"photoclip {' '.join(args)} failed:\n{done.stderr}"
    return done


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under ``root``: relative path -> content hash ("dir" for folders)."""
    tree = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        tree[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return tree


def add_unrelated_app(share: Path) -> list[Path]:
    """Another app's files in the very folders install-desktop writes to."""
    entry = share / "applications" / "other-viewer.desktop"
    icon = share / "icons" / "hicolor" / "48x48" / "apps" / "other-viewer.png"
    meta = share / "metainfo" / "org.example.OtherViewer.metainfo.xml"
    for path in (entry, icon, meta):
        path.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(
        "[Desktop Entry]\nType=Application\nName=Other Viewer\nExec=other-viewer %f\n"
        "Icon=other-viewer\nMimeType=image/png;\n"
    )
    icon.write_bytes(b"\x89PNG not really")
    meta.write_text("<component/>\n")
    return [entry, icon, meta]


def test_install_puts_a_valid_entry_icons_and_metainfo_in_place(prefix, tmp_path):
    dfv = require_tool("desktop-file-validate", "desktop-file-utils")
    appstream = require_tool("appstreamcli", "appstream")
    out = run_photoclip(prefix, tmp_path, "install-desktop")
    assert "Added photoclip to the app menu" in out.stdout

    share = prefix / "share"
    installed = share / "applications" / "photoclip.desktop"
    done = run_tool(dfv, installed)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr
    for size in ICON_SIZES:
        assert (share / "icons/hicolor" / f"{size}x{size}" / "apps/photoclip.png").is_file()
    assert (share / "icons/hicolor/scalable/apps/photoclip.svg").is_file()
    assert (share / "metainfo" / desktop.METAINFO_NAME).is_file()
    # The whole tree as a software centre sees it: metainfo, desktop entry and icon together.
    done = run_tool(appstream, "validate-tree", "--no-net", prefix)
    assert done.returncode == 0, done.stdout + done.stderr

    entry = read_entry(installed)
    gui_script = Path(sys.executable).with_name("photoclip-gui")
    assert exec_argv(entry, ["/a b/c"], installed) == [str(gui_script), "/a b/c"]
    assert entry["TryExec"] == str(gui_script)
    assert entry["StartupWMClass"] == "photoclip"


def test_uninstall_removes_exactly_what_install_added(prefix, tmp_path):
    share = prefix / "share"
    unrelated = add_unrelated_app(share)
    before = snapshot(prefix)

    run_photoclip(prefix, tmp_path, "install-desktop")
    run_photoclip(prefix, tmp_path, "install-desktop")  # again: updates in place
    manifest = json.loads((share / "photoclip" / "desktop-install.json").read_text())
    assert str(share / "applications" / "photoclip.desktop") in manifest["files"]
    assert not {str(p) for p in unrelated} & set(manifest["files"])

    out = run_photoclip(prefix, tmp_path, "uninstall-desktop")
    assert "Removed photoclip from the app menu" in out.stdout
    assert snapshot(prefix) == before

    out = run_photoclip(prefix, tmp_path, "uninstall-desktop")
    assert "nothing to remove" in out.stdout
    assert snapshot(prefix) == before


def test_uninstall_refreshes_a_mime_cache_it_did_not_create(prefix, tmp_path):
    update_db = require_tool("update-desktop-database", "desktop-file-utils")
    share = prefix / "share"
    add_unrelated_app(share)
    assert run_tool(update_db, share / "applications").returncode == 0
    before = snapshot(prefix)

    run_photoclip(prefix, tmp_path, "install-desktop")
    cache = (share / "applications" / "mimeinfo.cache").read_text()
    assert "photoclip.desktop" in cache  # opening a folder or photo can offer photoclip
    run_photoclip(prefix, tmp_path, "uninstall-desktop")
    assert snapshot(prefix) == before


def test_exec_quoting_survives_awkward_install_paths(tmp_path):
    """A venv in a folder with spaces, quotes, $, backslashes and % still launches."""
    dfv = require_tool("desktop-file-validate", "desktop-file-utils")
    folder = tmp_path / "My Apps" / 'it\'s "$HOME" `x` \\ 100%'
    folder.mkdir(parents=True)
    program = folder / "photoclip-gui"
    argv_file = tmp_path / "argv.json"
    program.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(argv_file)!r}, 'w').write(json.dumps(sys.argv))\n"
    )
    program.chmod(0o755)
    share = tmp_path / "share"

    desktop.install(command=[str(program)], base=share)
    installed = share / "applications" / "photoclip.desktop"
    done = run_tool(dfv, installed)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr

    photos = [str(tmp_path / "Holiday 2024"), str(tmp_path / "a 'b' $c.jpg")]
    argv = exec_argv(read_entry(installed), photos, installed)
    assert argv == [str(program), *photos]
    subprocess.run(argv, check=True, timeout=60)
    assert json.loads(argv_file.read_text()) == argv
    desktop.uninstall(base=share)
    assert not installed.exists()


def test_activating_the_installed_entry_opens_the_app_with_the_folder(prefix, tmp_path):
    """What a file manager does on "Open With photoclip": run Exec with %F = the folder.

    The app has no "quit once shown" switch, so this checks that it comes up offscreen, takes
    the folder into a fresh library and stays up, then sends SIGTERM, which the app answers by
    closing its window: it must exit 0."""
    from tools.shapes import write_library

    photos = tmp_path / "My Photos"
    write_library(photos, 6, seed=11, min_side=200, max_side=320)
    run_photoclip(prefix, tmp_path, "install-desktop")
    installed = prefix / "share" / "applications" / "photoclip.desktop"
    argv = exec_argv(read_entry(installed), [str(photos)], installed)

    library = tmp_path / "library"
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = photoclip_env(prefix, tmp_path)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        PHOTOCLIP_LIBRARY=str(library),
        XDG_RUNTIME_DIR=str(runtime),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        HF_HUB_OFFLINE="1",
    )
    log = tmp_path / "app.log"
    with open(log, "wb") as out:
        app = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            folders = _wait_for_library_folders(library / "library.db", app, timeout=120)
            assert str(photos) in folders, log.read_text(errors="replace")
            assert app.poll() is None, "the app quit by itself:\n" + log.read_text(errors="replace")
        finally:
            app.send_signal(signal.SIGTERM)
            try:
                app.wait(timeout=30)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait()
                pytest.fail("the app ignored SIGTERM for 30 s")
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")
    assert app.returncode == 0, log.read_text(errors="replace")


def _wait_for_library_folders(db: Path, app: subprocess.Popen[bytes], timeout: float) -> set[str]:
    """The library's folders once the app has added at least one (polled; the app is another
    process, there is no signal to wait on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.poll() is not None:
            pytest.fail(f"the app exited with {app.returncode} before opening the folder")
        if db.exists():
            try:
                with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as conn:
                    rows = conn.execute("SELECT path FROM folders").fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" not in str(exc) and "locked" not in str(exc):
                    raise
                rows = []  # the app is still creating the database
            if rows:
                return {row[0] for row in rows}
        time.sleep(0.2)
    pytest.fail(f"no folder reached {db} within {timeout:.0f} s")


def test_the_desktop_module_loads_neither_qt_nor_torch():
    probe = (
        "import sys, photoclip.desktop, photoclip.cli\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'torch', 'open_clip'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"


WM_CLASS_PROBE = """
import json, os, re, subprocess, sys, time
app = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
classes, deadline = set(), time.monotonic() + 120
try:
    while not classes and app.poll() is None and time.monotonic() < deadline:
        tree = subprocess.run(["xwininfo", "-root", "-children"], capture_output=True, text=True)
        for window in re.findall(r"^\\s+(0x[0-9a-f]+)", tree.stdout, re.M):
            prop = subprocess.run(["xprop", "-id", window, "WM_CLASS"], capture_output=True,
                                  text=True).stdout
            classes |= {tuple(re.findall(r'"([^"]*)"', prop))} if '"' in prop else set()
        time.sleep(0.2)
finally:
    app.terminate()
    app.wait(timeout=30)
print(json.dumps(sorted(classes)))
"""


def test_the_x11_window_class_is_the_entry_s_startup_wm_class(prefix, tmp_path):
    """Docks group the window under the menu entry by WM_CLASS (X11) or app id (Wayland)."""
    xvfb_run = require_tool("xvfb-run", "xvfb")
    require_tool("xprop", "x11-utils")
    run_photoclip(prefix, tmp_path, "install-desktop")
    installed = prefix / "share" / "applications" / "photoclip.desktop"
    entry = read_entry(installed)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = photoclip_env(prefix, tmp_path)
    env.update(
        QT_QPA_PLATFORM="xcb",
        PHOTOCLIP_LIBRARY=str(tmp_path / "library"),
        XDG_RUNTIME_DIR=str(runtime),
        HF_HUB_OFFLINE="1",
    )
    argv = exec_argv(entry, [], installed)
    done = subprocess.run(
        [xvfb_run, "-a", sys.executable, "-c", WM_CLASS_PROBE, *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    classes = {tuple(c) for c in json.loads(done.stdout.strip().splitlines()[-1])}
    # WM_CLASS is (instance, class); the class is Qt's application name.
    assert entry["StartupWMClass"] in {wm_class for _, wm_class in classes}, classes

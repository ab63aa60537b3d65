"""The shipped desktop entry, AppStream metainfo and icons: the freedesktop validators accept
them, they agree with each other and with pyproject.toml, and the icons match their SVG."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from desktop_spec import read_entry, require_tool, run_tool
from PIL import Image

import photoclip

REPO = Path(__file__).resolve().parents[2]
LINUX = REPO / "packaging" / "linux"
DESKTOP = LINUX / "photoclip.desktop"
METAINFO = LINUX / "io.github.photoclip.photoclip.metainfo.xml"
ICONS = REPO / "resources" / "icons"
HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def test_desktop_file_validate_accepts_the_entry():
    tool = require_tool("desktop-file-validate", "desktop-file-utils")
    done = run_tool(tool, DESKTOP)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_appstreamcli_accepts_the_metainfo():
    tool = require_tool("appstreamcli", "appstream")
    done = run_tool(tool, "validate", "--no-net", METAINFO)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_entry_launches_the_gui_script_with_dropped_files():
    entry = read_entry(DESKTOP)
    assert entry["Exec"] == "photoclip-gui %F"
    assert entry["Icon"] == "photoclip"
    assert entry["Terminal"] == "false"
    assert entry["Type"] == "Application"
    # The window's WM class / Wayland app id; app.py sets it with setDesktopFileName.
    assert entry["StartupWMClass"] == "photoclip"
    assert entry["GenericName"] == "Photo Search"
    assert {"Graphics", "Photography", "Viewer"} <= set(entry["Categories"].split(";"))
    mime = set(entry["MimeType"].split(";"))
    assert {"inode/directory", "image/jpeg", "image/png", "image/heic"} <= mime


def test_pyproject_provides_the_commands_the_entry_and_metainfo_name():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["gui-scripts"]["photoclip-gui"] == "photoclip.app:main"
    assert "photoclip" in project["scripts"]
    binaries = {b.text for b in ET.parse(METAINFO).getroot().iterfind("provides/binary")}
    assert binaries == {"photoclip", "photoclip-gui"}


def test_metainfo_matches_the_entry_and_the_version():
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == METAINFO.name.removesuffix(".metainfo.xml")
    assert root.findtext("launchable[@type='desktop-id']") == DESKTOP.name
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert root.findtext("project_license") == "MIT"
    versions = [r.get("version") for r in root.iterfind("releases/release")]
    assert versions[0] == photoclip.__version__, "add a <release> for the new version"
    assert root.find("content_rating") is not None


def test_every_icon_size_is_there():
    for size in HICOLOR_SIZES:
        with Image.open(ICONS / "hicolor" / f"{size}x{size}" / "apps" / "photoclip.png") as png:
            assert png.size == (size, size) and png.mode == "RGBA"
    with Image.open(ICONS / "photoclip.ico") as ico:
        assert {(s, s) for s in (16, 24, 32, 48, 64, 128, 256)} <= set(ico.info["sizes"])
    with Image.open(ICONS / "photoclip.icns") as icns:
        sizes = set(icns.info["sizes"])
    assert {(16, 16, 1), (32, 32, 1), (128, 128, 1), (256, 256, 1), (512, 512, 2)} <= sizes


def test_the_committed_icons_are_rendered_from_the_current_svg(tmp_path):
    """Edit the SVG, then run `python packaging/make_icons.py` and commit its output."""
    require_tool("rsvg-convert", "librsvg2-bin")
    done = subprocess.run(
        [sys.executable, str(REPO / "packaging" / "make_icons.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    for size in HICOLOR_SIZES:
        relative = Path("hicolor", f"{size}x{size}", "apps", "photoclip.png")
        with Image.open(ICONS / relative) as a, Image.open(tmp_path / relative) as b:
            committed = np.asarray(a.convert("RGBA"), dtype=np.float32)
            fresh = np.asarray(b.convert("RGBA"), dtype=np.float32)
        # librsvg versions anti-alias edges a little differently; a changed drawing changes
        # whole areas, even a recoloured sun (about 1 % of the pixels).
        changed = (np.abs(fresh - committed).max(axis=2) > 48).mean()
        assert changed < 0.002, f"{relative} is out of date with photoclip.svg"


def test_the_metainfo_screenshots_are_in_the_repository():
    """Software centres fetch them from the repository's main branch (docs/screenshots/);
    `tools/screenshots.py` makes them."""
    images = [i.text or "" for i in ET.parse(METAINFO).getroot().iterfind("screenshots/*/image")]
    assert images, "the metainfo should show the app"
    for url in images:
        assert url.startswith("https://"), url
        relative = url.split("/main/", 1)[1]
        assert relative.startswith("docs/screenshots/"), url
        assert (REPO / relative).is_file(), f"{relative} is missing: run tools/screenshots.py"

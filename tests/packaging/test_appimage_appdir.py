"""The AppImage recipe lays out an AppDir that appimagetool and desktop integrators accept.

A stand-in for the PyInstaller build (two scripts that record their arguments) keeps this fast;
`make bundle-smoke` runs the real build through the same AppDir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from desktop_spec import read_entry, require_tool, run_tool

REPO = Path(__file__).resolve().parents[2]
BUILD_APPIMAGE = REPO / "packaging" / "appimage" / "build_appimage.py"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="AppImage is Linux")


@pytest.fixture
def fake_bundle(tmp_path) -> Path:
    bundle = tmp_path / "dist" / "photoclip"
    (bundle / "_internal").mkdir(parents=True)
    for name in ("photoclip", "photoclip-gui"):
        program = bundle / name
        program.write_text(
            f"#!{sys.executable}\nimport json, os, sys\n"
            "print(json.dumps({'argv': sys.argv, 'cwd': os.getcwd()}))\n"
        )
        program.chmod(0o755)
    return bundle


def build(bundle: Path) -> Path:
    done = subprocess.run(
        [sys.executable, str(BUILD_APPIMAGE), str(bundle), "--appdir-only"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return bundle.parent / "photoclip.AppDir"


def test_appdir_has_the_layout_appimagetool_expects(fake_bundle):
    appdir = build(fake_bundle)
    assert os.access(appdir / "AppRun", os.X_OK)
    entry = read_entry(appdir / "photoclip.desktop")
    # appimagetool wants exactly one desktop file at the top and the icon it names beside it.
    assert [p.name for p in appdir.glob("*.desktop")] == ["photoclip.desktop"]
    assert (appdir / f"{entry['Icon']}.png").resolve().is_file()
    assert (appdir / ".DirIcon").resolve() == (appdir / "photoclip.png").resolve()
    assert entry["X-AppImage-Version"]
    for name in ("photoclip", "photoclip-gui"):
        assert (appdir / "usr" / "bin" / name).resolve() == appdir / "usr/lib/photoclip" / name
    assert (appdir / "usr/share/metainfo/io.github.photoclip.photoclip.metainfo.xml").is_file()
    assert (appdir / "usr/share/icons/hicolor/scalable/apps/photoclip.svg").is_file()


def test_the_appdir_desktop_entry_and_metadata_validate(fake_bundle):
    dfv = require_tool("desktop-file-validate", "desktop-file-utils")
    appstream = require_tool("appstreamcli", "appstream")
    appdir = build(fake_bundle)
    done = run_tool(dfv, appdir / "photoclip.desktop")
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr
    # What appimagetool checks before packing: the metainfo, its desktop entry and icon.
    done = run_tool(appstream, "validate-tree", "--no-net", appdir)
    assert done.returncode == 0, done.stdout + done.stderr


def test_apprun_passes_arguments_through_from_any_folder(fake_bundle, tmp_path):
    appdir = build(fake_bundle)
    elsewhere = tmp_path / "somewhere else"
    elsewhere.mkdir()
    # The AppImage runtime mounts the AppDir somewhere and runs AppRun from the user's folder.
    link = tmp_path / "linked AppRun"
    link.symlink_to(appdir / "AppRun")
    for apprun in (appdir / "AppRun", link):
        done = subprocess.run(
            [str(apprun), "search", "a red circle", "--json"],
            cwd=elsewhere,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        seen = json.loads(done.stdout)
        assert Path(seen["argv"][0]).resolve() == appdir / "usr/lib/photoclip/photoclip"
        assert seen["argv"][1:] == ["search", "a red circle", "--json"]
        assert seen["cwd"] == str(elsewhere)

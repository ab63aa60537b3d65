"""The library lives where Qt says this app's data belongs on each OS: ``paths.py`` (which the
CLI and the core use without Qt) and ``QStandardPaths`` in the app agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import json
from PySide6.QtCore import QStandardPaths
from photoclip.app import create_application
from photoclip.paths import default_data_dir
app = create_application()
print(json.dumps({
    "qt": QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation),
    "photoclip": str(default_data_dir()),
}))
"""


def data_locations(env_changes: dict[str, str | None]) -> dict[str, str]:
    """Both answers from a fresh app process (names set exactly as the app sets them)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_paths_and_qt_agree_on_the_default_data_folder(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    found = data_locations({"HOME": str(home), "XDG_DATA_HOME": None, "USERPROFILE": str(home)})
    assert Path(found["qt"]) == Path(found["photoclip"])
    assert Path(found["photoclip"]).name == "photoclip"


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG applies to Linux and BSDs")
def test_paths_and_qt_agree_under_xdg_data_home(tmp_path):
    found = data_locations({"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")})
    assert Path(found["qt"]) == Path(found["photoclip"]) == tmp_path / "data" / "photoclip"

"""Cheap checks of the PyInstaller recipe that `make test` can afford; `make bundle` and
`make bundle-smoke` build and run the real thing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import photoclip

REPO = Path(__file__).resolve().parents[2]
PYINSTALLER = REPO / "packaging" / "pyinstaller"


def test_the_spec_is_valid_python():
    source = (PYINSTALLER / "photoclip.spec").read_text(encoding="utf-8")
    compile(source, "photoclip.spec", "exec")


def test_the_launcher_runs_the_cli_when_not_named_photoclip_gui():
    done = subprocess.run(
        [sys.executable, str(PYINSTALLER / "launcher.py"), "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"photoclip {photoclip.__version__}"

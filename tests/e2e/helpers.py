"""Running the real ``photoclip`` CLI in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def cli_env(library: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PHOTOCLIP_LIBRARY"] = str(library)
    env["HF_HUB_OFFLINE"] = "1"
    env.pop("QT_QPA_PLATFORM", None)
    return env


def photoclip(
    library: Path, *args: str, check: bool = True, **kw: Any
) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "photoclip", *args],
        env=cli_env(library),
        capture_output=True,
        text=True,
        timeout=600,
        **kw,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"photoclip {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
        )
    return proc


def photoclip_json(library: Path, *args: str) -> Any:
    return json.loads(photoclip(library, *args, "--json").stdout)

"""The one way to find bundled files (icons, the demo model): ``resource_path("icons", ...)``.

Installed, ``resources/`` is the package ``photoclip.resources``; in a source checkout or a
frozen bundle it is found beside the code."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def resources_root() -> Path:
    try:
        return Path(str(resources.files("photoclip.resources")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    return resources_root().joinpath(*parts)

"""GUI test helpers: the app launched for real (offscreen) on a temp library with the tiny
trained model, settings in a temp file, and Qt warnings failing the test."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

import photoclip.ui  # noqa: F401  - its PySide6 workaround must precede any Qt call

GUI_DIR = Path(__file__).resolve().parent
TINY = "tiny-shapes"
_names = itertools.count()

# The offscreen platform has no window manager to pass size hints to or to raise windows
# with; those warnings are about the test platform, not the app.
_IGNORED_QT = (
    "This plugin does not support propagateSizeHints",
    "This plugin does not support raise",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if GUI_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            item.add_marker(pytest.mark.qt_log_ignore(*_IGNORED_QT))


@pytest.fixture
def tiny_model() -> str:
    """The key of the tiny trained model; fails (never skips) when its weights are missing."""
    from photoclip.models import tiny_shapes_dir

    weights = Path(tiny_shapes_dir()) / "open_clip_model.safetensors"
    assert weights.is_file(), f"the trained tiny model is missing: {weights}"
    return TINY


@pytest.fixture
def settings(tmp_path: Path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def launch(qtbot, tmp_path: Path, settings, tiny_model: str) -> Iterator[Callable[..., object]]:
    """``launch(folders=(), library=None, **options)`` -> a shown MainWindow."""
    from photoclip import app

    windows = []

    def start(
        folders: tuple[str, ...] | list[str] = (),
        *,
        library: Path | None = None,
        model: str | None = tiny_model,
        weights: str | None = None,
        instance_name: str | None = None,
    ):
        options = app.Options(
            [str(f) for f in folders], str(library or tmp_path / "library"), model, weights
        )
        name = instance_name or f"photoclip-test-{os.getpid()}-{next(_names)}"
        window = app.launch(options, settings=settings, instance_name=name)
        assert window is not None
        windows.append(window)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        return window

    yield start
    for window in windows:
        app.close(window)  # what main() does after the event loop
        assert window.services.threads_finished

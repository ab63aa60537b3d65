"""The app starts: the window shows (before torch is imported), the first-run panel greets
an empty library, and a missing model is explained with a way out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from guitest import MODEL_TIMEOUT_MS, wait_model

from tests.library_db import indexed_count

REPO = Path(__file__).resolve().parents[2]


def test_window_shows_search_bar_and_welcome(launch, qtbot):
    window = launch()
    assert window.isVisible()
    assert window.windowTitle() == "photoclip"
    assert window.search_bar.edit.placeholderText() == "Describe a photo…"
    with qtbot.waitSignal(window.libraryRefreshed):
        window.refresh_library()
    assert window.folder_count == 0
    # Once the first (empty) page is in: until then the grid stands while it loads.
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.empty, timeout=10_000)
    assert window.result_label.text() == ""  # the welcome panel says it all
    assert "Drop a folder of photos here, or click Add Folder" in window.empty.detail.text()
    assert window.empty.button.isVisible()
    wait_model(qtbot, window)
    assert window.model_label.text() == "Model: tiny-shapes"


def test_window_appears_before_torch_is_imported(tmp_path, tiny_model):
    """In a fresh interpreter: the window is built and shown with torch not yet imported;
    torch arrives afterwards, in the background, for the model."""
    script = textwrap.dedent(
        f"""
        import sys
        import photoclip.app as app
        from PySide6.QtCore import QSettings

        qapp = app.create_application()
        settings = QSettings({str(tmp_path / "s.ini")!r}, QSettings.Format.IniFormat)
        options = app.Options([], {str(tmp_path / "lib")!r}, {tiny_model!r}, None)
        window = app.launch(options, settings=settings, instance_name="torch-order-{os.getpid()}")
        window.show()
        assert "torch" not in sys.modules, "torch was imported before the window showed"
        from PySide6.QtCore import QTimer
        QTimer.singleShot({MODEL_TIMEOUT_MS}, qapp.quit)
        window.model_status.ready.connect(lambda _: qapp.quit())
        qapp.exec()
        assert window.model_status.embedder is not None, window.model_status.error
        # (torch may still be out: weights loaded before come back as a stand-in that
        # answers text from the exported text tower, photoclip.text_tower)
        app.close(window)
        print("window-before-torch: ok")
        """
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "window-before-torch: ok" in result.stdout


def test_missing_model_explains_and_offers_a_way_out(launch, qtbot, small_shapes_dir, tmp_path):
    missing = tmp_path / "nowhere" / "weights.safetensors"
    window = launch([small_shapes_dir], weights=str(missing))
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=MODEL_TIMEOUT_MS)
    text = window.banner.message.text()
    assert str(missing) in text and "doesn't exist" in text
    # The folder's photos aren't indexed yet: the window doesn't claim it has none.
    qtbot.waitUntil(lambda: window.folder_count == 1, timeout=10_000)
    assert window.stack.currentWidget() is window.empty
    assert window.empty.title.text() == "Waiting for the search model"
    assert window.banner.primary.text() == "Choose Weights File…"
    assert window.banner.secondary.text() == "Retry"
    assert window.model_label.text() == "Model unavailable"
    # A description search can't run, and says why instead of failing.
    window.search_bar.set_text("a red circle")
    qtbot.waitUntil(lambda: "needs the model" in window.result_label.text())
    # Retry after fixing the cause (here: the weights setting) loads the model.
    window.services.weights = None
    window.banner.secondary.click()
    wait_model(qtbot, window)
    assert not window.banner.isVisible()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")
def test_photoclip_with_a_folder_indexes_it_and_closes_cleanly_on_sigterm(
    small_shapes_dir, tmp_path, tiny_model
):
    """`photoclip FOLDER --model KEY --library PATH` (what `python -m photoclip` and the
    gui-script run): the folder is added and indexed; SIGTERM closes the window normally."""
    library = tmp_path / "library"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "photoclip", str(small_shapes_dir), "--model", tiny_model,
               "--library", str(library)]  # fmt: skip
    with subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True) as app:
        try:
            deadline = time.monotonic() + MODEL_TIMEOUT_MS / 1000
            while indexed_count(library / "library.db") < 40:
                assert app.poll() is None, "the app exited early"
                assert time.monotonic() < deadline, "the app didn't index the folder"
                time.sleep(0.2)  # another process: there is no signal to wait on
            app.send_signal(signal.SIGTERM)
            _, errors = app.communicate(timeout=60)
        finally:
            if app.poll() is None:
                app.kill()
    assert app.returncode == 0, errors
    assert [line for line in errors.splitlines() if "propagateSizeHints" not in line] == []

"""The first-run model download in the app, against a stand-in for the Hugging Face hub on
127.0.0.1: a panel in the window (never a dialog) with MB, MB/s and time left, Cancel that
keeps what arrived for Retry, plain words when offline, and a question with the size before
switching to a model that would have to be downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from photoclip import download as dl
from photoclip.models import DEFAULT_MODEL, get_spec
from photoclip.ui import download_panel
from photoclip.ui.settings_dialog import SettingsDialog
from tests.gui.guitest import MODEL_TIMEOUT_MS, wait_model
from tests.hf_server import FakeHub

WEIGHTS = "open_clip_model.safetensors"


@pytest.fixture
def empty_cache(tmp_path, monkeypatch) -> Path:
    """A model cache with nothing in it, as on a new computer."""
    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache


def test_download_panel_keeps_the_window_usable_and_cancel_resumes(
    launch, qtbot, twin_cache, empty_cache, monkeypatch
):
    from tools.random_twin import make_twin

    blob = Path(os.path.realpath(make_twin(DEFAULT_MODEL, twin_cache)))
    repo = get_spec(DEFAULT_MODEL).hf_repo
    with FakeHub() as hub:
        served = hub.serve(repo, WEIGHTS, blob)
        hub.faults.bytes_per_s = 20e6
        monkeypatch.delenv("HF_HUB_OFFLINE")
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        window = launch(model=DEFAULT_MODEL)
        panel = window.download_panel
        qtbot.waitUntil(lambda: " left" in panel.detail.text(), timeout=30_000)
        assert panel.isVisible()
        assert panel.title.text().startswith(
            "Downloading the ViT-B-32-256 search model (605 MB). This happens once"
        )
        assert " of 605 MB · " in panel.detail.text() and " MB/s · about " in panel.detail.text()
        # Not a dialog: nothing modal, the library stays in reach.
        assert QApplication.activeModalWidget() is None
        assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog)]
        qtbot.keyClicks(window.search_bar.edit, "beach")
        assert window.search_bar.edit.text() == "beach"

        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
        banner = window.banner
        qtbot.waitUntil(lambda: banner.isVisible() and "cancelled" in banner.message.text())
        assert not panel.isVisible()
        message = banner.message.text()
        assert message.startswith("The download of the search model (605 MB) was cancelled at ")
        assert "Click Retry to continue from where it stopped" in message
        assert "--weights" not in message and "HF_HUB" not in message
        (partial,) = dl.partial_files(empty_cache, repo)
        kept = partial.stat().st_size
        assert 0 < kept < served.size

        hub.faults.bytes_per_s = None
        assert banner.secondary.text() == "Retry"
        qtbot.mouseClick(banner.secondary, Qt.MouseButton.LeftButton)
        wait_model(qtbot, window)
        gets, log = hub.gets(), hub.log
    assert window.model_label.text() == "Model: ViT-B-32-256"
    assert gets[-1].headers.get("range") == f"bytes={kept}-"
    assert gets[-1].sent == served.size - kept
    assert dl.partial_files(empty_cache, repo) == []
    assert window.model_status.embedder.identity.weights_sha256 == served.sha256
    assert not panel.isVisible() and not banner.isVisible()
    # The app, too, asks for nothing but the model file, and says nothing about itself.
    assert {r.path for r in log} == {f"/{repo}/resolve/main/{WEIGHTS}"}
    assert {r.headers["user-agent"] for r in log} == {dl.USER_AGENT}


def test_offline_first_run_says_what_to_do_in_plain_words(launch, qtbot, empty_cache):
    window = launch(model=DEFAULT_MODEL)  # tests run with HF_HUB_OFFLINE=1
    banner = window.banner
    qtbot.waitUntil(lambda: banner.isVisible(), timeout=MODEL_TIMEOUT_MS)
    assert banner.message.text() == (
        "photoclip needs to download its search model once (605 MB). Connect to the internet "
        "and click Retry, or choose a model file you already have. You can browse your photos "
        "meanwhile; searching by description needs the model."
    )
    assert [banner.primary.text(), banner.secondary.text()] == ["Choose Weights File…", "Retry"]
    assert not window.download_panel.isVisible()


def test_switching_to_a_model_to_download_asks_first_with_its_size(
    launch, qtbot, empty_cache, monkeypatch
):
    window = launch()
    wait_model(qtbot, window)
    asked: list[str] = []
    answer = {"download": False}

    def choose_vit_b_16(dialog: SettingsDialog) -> int:
        dialog.model.setCurrentIndex(dialog.model.findData("ViT-B-16"))
        return QDialog.DialogCode.Accepted

    def question(box: QMessageBox) -> int:
        asked.append(box.text())
        (download,) = [b for b in box.buttons() if b.text().startswith("Download")]
        assert download.text() == "Download 599 MB"
        if answer["download"]:
            download.click()
        return 0

    monkeypatch.setattr(SettingsDialog, "exec", choose_vit_b_16)
    monkeypatch.setattr(download_panel.QMessageBox, "exec", question)
    window.open_settings()
    assert asked == [
        "The ViT-B-16 model isn't on this computer yet. photoclip will download it once "
        "(599 MB) from Hugging Face; after that it works offline. Your photos are then indexed "
        "with it in the background."
    ]
    assert window.services.model_key == "tiny-shapes"  # not asked for: nothing changes
    assert not window.model_status.loading

    answer["download"] = True
    window.open_settings()
    assert len(asked) == 2
    assert window.services.model_key == "ViT-B-16"
    # Offline here, so the switch fails at once, in words; tiny-shapes carries on.
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=MODEL_TIMEOUT_MS)
    assert window.banner.message.text().startswith(
        "photoclip needs to download its search model once (599 MB)."
    )
    assert window.model_status.embedder.spec.key == "tiny-shapes"

    asked.clear()
    assert download_panel.confirm_model_download(window, "tiny-shapes")
    assert asked == []  # a model on this computer is simply used

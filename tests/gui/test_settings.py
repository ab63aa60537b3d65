"""Settings: every catalogue model with its size, speed and quality; choices persisted with
QSettings; window geometry and the splitter restored on the next launch."""

from __future__ import annotations

from guitest import wait_model
from PySide6.QtWidgets import QDialog

from photoclip.models import MODELS
from photoclip.ui.settings_dialog import Choices, SettingsDialog


def test_dialog_describes_each_model(qtbot):
    dialog = SettingsDialog(Choices("tiny-shapes", "", 0), "/home/me/.local/share/photoclip")
    qtbot.addWidget(dialog)
    keys = [dialog.model.itemData(i) for i in range(dialog.model.count())]
    assert keys == list(MODELS)
    assert "bundled, no download" in dialog.model_info.text()
    dialog.model.setCurrentIndex(keys.index("ViT-B-32-256"))
    info = dialog.model_info.text()
    spec = MODELS["ViT-B-32-256"]
    assert f"{spec.download_mb:,} MB download" in info and spec.quality in info
    assert spec.speed in info
    dialog.threads.setValue(3)
    dialog.library.setText("/data/photos-library")
    assert dialog.choices() == Choices("ViT-B-32-256", "/data/photos-library", 3)
    assert dialog.threads.specialValueText() == "Automatic"


def test_choices_and_window_state_persist(launch, qtbot, settings, monkeypatch, tmp_path):
    window = launch()
    wait_model(qtbot, window)

    def accept(dialog: SettingsDialog) -> int:
        dialog.threads.setValue(2)
        dialog.library.setText(str(tmp_path / "elsewhere"))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(SettingsDialog, "exec", accept)
    window.open_settings()
    assert settings.value("threads") in (2, "2")
    # Each worker applies the thread count in its own thread (torch's count is per thread).
    assert window.services.index_worker.threads == window.services.search_worker.threads == 2
    assert settings.value("library") == str(tmp_path / "elsewhere")
    assert "next time photoclip starts" in window.statusBar().currentMessage()

    window.resize(720, 520)
    window.splitter.setSizes([220, 500])
    size, sizes = window.size(), window.splitter.sizes()
    window.close()

    again = launch()
    assert again.size() == size
    assert again.splitter.sizes() == sizes

"""Settings say which precision each model runs at on this computer, and why."""

from __future__ import annotations

from photoclip.embedder import load_embedder
from photoclip.ui.settings_dialog import Choices, SettingsDialog


def test_settings_show_the_measured_precision(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    dialog = SettingsDialog(Choices("tiny-shapes", "", 0), str(tmp_path))
    qtbot.addWidget(dialog)
    assert dialog.precision.text() == "measured the first time the model loads"
    loaded = load_embedder("tiny-shapes", device="cpu", allow_download=False)
    again = SettingsDialog(Choices("tiny-shapes", "", 0), str(tmp_path))
    qtbot.addWidget(again)
    text = again.precision.text()
    assert text.startswith(f"{loaded.precision} (measured earlier on this machine")
    assert "photos/s" in text

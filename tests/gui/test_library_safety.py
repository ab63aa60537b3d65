"""Never lose the library, in the app: the library and weights chosen in Settings are the ones
the CLI uses; a network drive is refused before it is saved; a migration's backup shows its
progress while the event loop runs; a damaged library is rebuilt from its folders in one
click, the damaged file kept."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from guitest import library_is_consistent, wait_indexed, wait_model
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QProgressDialog

from photoclip import app
from photoclip.config import config_path, load_config
from photoclip.errors import NetworkLibraryError
from photoclip.fsinfo import TEST_MOUNTINFO_ENV
from photoclip.models import tiny_shapes_dir
from photoclip.store import SCHEMA_VERSION
from photoclip.ui import model_status
from photoclip.ui.library_dialogs import DamagedLibraryDialog
from photoclip.ui.settings_dialog import Choices, SettingsDialog
from photoclip.ui.single_instance import SingleInstance
from tests.unit.test_library_opening import older_library
from tools.shapes import write_library

REPO = Path(__file__).resolve().parents[2]
TINY_WEIGHTS = str(Path(tiny_shapes_dir()) / "open_clip_model.safetensors")


def cli(*args: str, library: Path | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a child, with this test's settings file (XDG_CONFIG_HOME) and, unless
    given, no library named: it must come from the settings file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOCLIP_")}
    env.pop("QT_QPA_PLATFORM", None)
    if library is not None:
        env["PHOTOCLIP_LIBRARY"] = str(library)
    done = subprocess.run(
        [sys.executable, "-m", "photoclip", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"photoclip {' '.join(args)} failed:\n{done.stderr}"
    return done


def open_app(settings: QSettings, *folders: Path, library: Path | None = None) -> app.MainWindow:
    """The app as a user starts it: no --library unless given."""
    options = app.Options([str(f) for f in folders], str(library) if library else None)
    name = f"photoclip-safety-{os.getpid()}-{id(options)}"
    window = app.launch(options, settings=settings, instance_name=name)
    assert window is not None
    return window


def when_shown(kind: type, act) -> QTimer:
    """Act on the first modal ``kind`` dialog once it is up (a modal exec() blocks the test)."""
    timer = QTimer()

    def look() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, kind):
            timer.stop()
            act(dialog)

    timer.timeout.connect(look)
    timer.start(20)
    return timer


# -- one resolver: what Settings saves is what the CLI uses -------------------------------------


def test_the_library_and_weights_chosen_in_the_app_are_the_ones_the_cli_uses(
    launch, qtbot, monkeypatch, tmp_path, settings
):
    window = launch()
    wait_model(qtbot, window)
    chosen = tmp_path / "chosen library"

    def accept(dialog: SettingsDialog) -> int:
        dialog.library.setText(str(chosen))
        dialog.accept()
        return dialog.result()

    monkeypatch.setattr(SettingsDialog, "exec", accept)
    window.open_settings()
    weights = tmp_path / "my weights.safetensors"
    weights.write_bytes(Path(TINY_WEIGHTS).read_bytes())
    monkeypatch.setattr(model_status.QFileDialog, "getOpenFileName", lambda *a: (str(weights), ""))
    window.model_status.choose_weights()  # as after "Choose Weights File…"
    wait_model(qtbot, window)

    saved = load_config()
    assert saved.library == str(chosen)
    assert saved.weights == {"tiny-shapes": str(weights)}

    photos = tmp_path / "photos"
    write_library(photos, 6, seed=11, min_side=200, max_side=300)
    cli("index", str(photos), "--model", "tiny-shapes")
    status = json.loads(cli("status", "--json").stdout)
    assert status["library"] == str(chosen / "library.db")
    assert status["library_from"] == "the settings file"
    assert status["settings_file"] == str(config_path())
    assert (status["weights"], status["weights_from"]) == (str(weights), status["library_from"])
    assert status["indexed"] == 6
    assert not (tmp_path / "data").exists()

    # The app, started again without --library, opens that same library.
    window.close()
    again = open_app(settings)
    qtbot.addWidget(again)
    try:
        assert again.store.path == chosen / "library.db"
        assert again.store.counts()["indexed"] == 6
    finally:
        app.close(again)


def test_choices_older_versions_kept_in_qsettings_are_moved_into_the_settings_file(
    qtbot, settings, tmp_path
):
    settings.setValue("library", str(tmp_path / "my library"))
    settings.setValue("weights/tiny-shapes", TINY_WEIGHTS)
    settings.setValue("threads", 3)
    settings.sync()

    window = open_app(settings)
    qtbot.addWidget(window)
    try:
        assert window.store.path == tmp_path / "my library" / "library.db"
        assert window.services.threads == 3
        assert window.services.weights is None  # the library's model isn't tiny-shapes
    finally:
        app.close(window)
    saved = load_config()
    assert (saved.library, saved.threads) == (str(tmp_path / "my library"), 3)
    assert saved.weights == {"tiny-shapes": TINY_WEIGHTS}
    status = json.loads(cli("status", "--json").stdout)
    assert status["library"] == str(tmp_path / "my library" / "library.db")

    # Once: a later change in the settings file is not undone by the old values.
    raw = QSettings(settings.fileName(), settings.format())
    raw.setValue("library", str(tmp_path / "stale"))
    raw.sync()
    window = open_app(settings)
    qtbot.addWidget(window)
    try:
        assert window.store.path == tmp_path / "my library" / "library.db"
    finally:
        app.close(window)


# -- a network drive is refused before it is saved --------------------------------------------


def nfs_share(tmp_path: Path, monkeypatch) -> Path:
    """A folder the mount table (this machine's, plus one line) says is an NFS share."""
    share = tmp_path / "nas"
    share.mkdir()
    with open("/proc/self/mountinfo", encoding="utf-8") as real:
        table = real.read()
    (tmp_path / "mountinfo").write_text(table + f"99 1 0:99 / {share} rw - nfs4 nas:/p rw\n")
    monkeypatch.setenv(TEST_MOUNTINFO_ENV, str(tmp_path / "mountinfo"))
    return share


def test_settings_refuses_a_library_on_a_network_drive_with_the_reason(
    qtbot, tmp_path, monkeypatch
):
    share = nfs_share(tmp_path, monkeypatch)
    dialog = SettingsDialog(Choices("tiny-shapes", "", 0), str(tmp_path / "default"))
    qtbot.addWidget(dialog)
    dialog.show()

    dialog.library.setText(str(share / "photoclip"))
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted and dialog.isVisible()
    assert dialog.refusal.isVisible()
    assert "network drive (nfs4)" in dialog.refusal.text()
    assert "write-ahead log" in dialog.refusal.text()
    dialog.refusal.accept()

    dialog.library.setText(str(tmp_path / "on this computer"))
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted


# -- a migration's backup: progress, off the GUI thread ---------------------------------------


def visible_progress() -> list[str]:
    return [
        w.labelText()
        for w in QApplication.topLevelWidgets()
        if isinstance(w, QProgressDialog) and w.isVisible()
    ]


def test_a_migration_backs_up_behind_a_progress_dialog_while_the_event_loop_runs(
    launch, qtbot, tmp_path, monkeypatch
):
    library = tmp_path / "library"
    library.mkdir()
    older_library(library / "library.db", monkeypatch, 2, megabytes=160)
    assert SCHEMA_VERSION > 2
    handed = tmp_path / "handed over"
    write_library(handed, 3, seed=5, min_side=200, max_side=300)
    name = f"photoclip-migrating-{os.getpid()}"
    seen: list[str] = []
    second_launch: list[threading.Thread] = []

    def tick() -> None:  # a GUI-thread timer: it fires only while the event loop runs
        for text in visible_progress():
            if not seen or seen[-1] != text:
                seen.append(text)
            if not second_launch:  # another photoclip started meanwhile, with a folder
                hand_off = threading.Thread(
                    target=lambda: SingleInstance(name).hand_off([str(handed)])
                )
                second_launch.append(hand_off)
                hand_off.start()
                hand_off.join(10)

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(1)
    try:
        window = launch(library=library, instance_name=name)
    finally:
        timer.stop()

    assert window.store.schema_version == SCHEMA_VERSION
    (backup,) = library.glob("library.db.v2.*.bak")
    with sqlite3.connect(backup) as old:
        assert old.execute("PRAGMA user_version").fetchone()[0] == 2
    old.close()
    assert seen and all(t.startswith("Updating your library") for t in seen), seen
    found = [re.search(r"backing up first: ([\d,]+) of ([\d,]+) MB", t) for t in seen]
    amounts = [tuple(int(n.replace(",", "")) for n in m.groups()) for m in found if m]
    # The dialog moved on while the backup ran: several different amounts were on screen.
    assert len({done for done, _ in amounts}) >= 2, seen
    assert max(total for _, total in amounts) >= 160
    assert visible_progress() == []
    # The folder handed over mid-migration reached the window, not the void.
    assert second_launch
    qtbot.waitUntil(lambda: str(handed) in [f.path for f in window.store.folders()], timeout=30_000)


# -- a damaged library: moved aside and rebuilt in one click ----------------------------------


def test_a_damaged_library_is_rebuilt_in_one_click_keeping_the_damaged_file(
    launch, qtbot, tmp_path
):
    photos = tmp_path / "photos"
    write_library(photos / "a", 8, seed=21, min_side=200, max_side=300)
    write_library(photos / "b", 5, seed=22, min_side=200, max_side=300)
    library = tmp_path / "library"
    first = launch([photos / "a", photos / "b"], library=library)
    wait_model(qtbot, first)
    wait_indexed(qtbot, first, at_least=13)
    folders = [f.path for f in first.store.folders()]
    app.close(first)
    db = library / "library.db"
    with open(db, "r+b") as f:
        f.write(b"\x00" * 100)  # the header: SQLite no longer knows the file
    damaged = db.read_bytes()

    clicker = when_shown(DamagedLibraryDialog, lambda d: d.rebuild_button.click())
    window = launch(library=library)
    clicker.stop()

    (kept,) = library.glob("library.damaged-*.db")
    assert kept.read_bytes() == damaged
    assert "The damaged library was kept as" in window.statusBar().currentMessage()
    assert [f.path for f in window.store.folders()] == folders
    wait_model(qtbot, window)
    wait_indexed(qtbot, window, at_least=13)
    assert library_is_consistent(db) == (13, [])
    assert kept.read_bytes() == damaged


def test_quit_leaves_a_damaged_library_as_it_is(qtbot, settings, tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    (library / "library.db").write_bytes(b"not a database " * 500)

    clicker = when_shown(DamagedLibraryDialog, lambda d: d.quit_button.click())
    options = app.Options([], str(library))
    assert app.launch(options, settings=settings, instance_name=f"q-{os.getpid()}") is None
    clicker.stop()

    assert [p.name for p in library.iterdir()] == ["library.db"]
    assert (library / "library.db").read_bytes() == b"not a database " * 500


def test_a_library_that_cant_be_used_where_it_is_can_move_at_launch(
    qtbot, tmp_path, monkeypatch, settings
):
    """On a network drive the app used to say why and quit; now it offers another folder,
    remembers it (the CLI uses it too), and opens there."""
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    share = nfs_share(tmp_path, monkeypatch)
    local = tmp_path / "on this computer"
    local.mkdir()
    asked: list[str] = []

    def answer(box: QMessageBox) -> int:  # the user reads why and clicks the first button
        asked.append(box.informativeText())
        box.buttons()[0].click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", answer)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(local))
    options = app.Options([], str(share / "photoclip"))
    window = app.launch_or_move_library(
        options, settings=settings, instance_name=f"photoclip-move-{os.getpid()}"
    )
    assert window is not None
    try:
        assert "network drive (nfs4)" in asked[0]
        assert window.store.path == local / "library.db"
        assert load_config(config_path()).library == str(local)
        assert not (share / "photoclip").exists()  # nothing was created on the share
    finally:
        app.close(window)

    monkeypatch.setattr(QMessageBox, "exec", lambda box: box.buttons()[1].click() or 0)  # Quit
    with pytest.raises(NetworkLibraryError, match="network drive"):  # Quit: the refusal stands
        app.launch_or_move_library(app.Options([], str(share / "photoclip")), settings=settings)

"""photoclip's settings file and the one resolver of library, model, weights and threads that
the CLI and the app share: flag > environment variable > settings file > library > default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import photoclip.config as config_module
from photoclip.config import (
    ConfigError,
    Resolver,
    UserConfig,
    config_path,
    load_config,
    save_config,
    set_weights,
    update_config,
)
from photoclip.models import DEFAULT_MODEL

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("PHOTOCLIP_LIBRARY", "PHOTOCLIP_MODEL", "PHOTOCLIP_WEIGHTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def test_the_settings_file_lives_in_the_config_folder(private_settings_file):
    assert config_path() == private_settings_file
    assert str(private_settings_file).startswith(os.environ["XDG_CONFIG_HOME"])


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG applies to Linux")
def test_without_xdg_config_home_the_settings_file_is_under_dot_config(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config_path() == tmp_path / "home" / ".config" / "photoclip" / "config.json"


def test_choices_round_trip_and_a_newer_photoclips_keys_are_kept(private_settings_file):
    assert load_config() == UserConfig()  # no file yet: the defaults
    private_settings_file.parent.mkdir(parents=True)
    private_settings_file.write_text(json.dumps({"library": "/a", "from_the_future": [1, 2]}))

    update_config(threads=3)
    set_weights("tiny-shapes", "~/w.safetensors")

    again = load_config()
    assert again.library == "/a" and again.threads == 3
    assert again.weights == {"tiny-shapes": str(Path.home() / "w.safetensors")}
    assert json.loads(private_settings_file.read_text())["from_the_future"] == [1, 2]
    set_weights("tiny-shapes", None)
    assert load_config().weights == {}


def test_a_save_interrupted_before_the_rename_leaves_the_old_file_whole(
    private_settings_file, monkeypatch
):
    save_config(UserConfig(library="/the/old/library"))
    before = private_settings_file.read_bytes()

    def power_cut(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(config_module.os, "replace", power_cut)
    with pytest.raises(ConfigError, match=r"couldn.t save its settings.*No space left"):
        update_config(library="/the/new/library")

    assert private_settings_file.read_bytes() == before
    assert [p.name for p in private_settings_file.parent.iterdir()] == ["config.json"]


def test_a_damaged_settings_file_is_refused_in_words_not_replaced_by_defaults(
    private_settings_file,
):
    private_settings_file.parent.mkdir(parents=True)
    private_settings_file.write_text('{"library": "/my/lib')  # cut short

    with pytest.raises(ConfigError) as err:
        Resolver()
    assert "is damaged" in str(err.value) and "delete it" in str(err.value)
    private_settings_file.write_text('{"threads": -2}')
    with pytest.raises(ConfigError, match="whole number"):
        load_config()


def test_library_precedence_flag_then_environment_then_settings_then_default(tmp_path, monkeypatch):
    assert Resolver().library().value == tmp_path / "data" / "photoclip" / "library.db"
    assert Resolver().library().source == "the default"

    update_config(library=str(tmp_path / "chosen"))
    got = Resolver().library()
    assert got.value == tmp_path / "chosen" / "library.db"
    assert got.source == "the settings file"

    monkeypatch.setenv("PHOTOCLIP_LIBRARY", str(tmp_path / "env.db"))
    assert Resolver().library().value == tmp_path / "env.db"
    assert Resolver().library().source == "$PHOTOCLIP_LIBRARY"

    assert Resolver().library(str(tmp_path / "flag")).value == tmp_path / "flag" / "library.db"
    assert Resolver().library(str(tmp_path / "flag")).source == "--library"


def test_model_precedence_flag_then_environment_then_library_then_default(monkeypatch):
    resolver = Resolver()
    assert resolver.model().value == DEFAULT_MODEL
    assert resolver.model(None, "ViT-B-16").value == "ViT-B-16"
    assert resolver.model(None, "ViT-B-16").source == "the library's setting"
    monkeypatch.setenv("PHOTOCLIP_MODEL", "tiny-shapes")
    assert resolver.model(None, "ViT-B-16").value == "tiny-shapes"
    assert resolver.model("ViT-L-14", "ViT-B-16").value == "ViT-L-14"
    monkeypatch.setenv("PHOTOCLIP_MODEL", "no-such-model")
    with pytest.raises(Exception, match="Unknown model 'no-such-model'"):
        resolver.model(None, None)


def test_weights_are_per_model_flag_then_environment_then_settings(monkeypatch):
    set_weights("tiny-shapes", "/w/tiny.safetensors")
    resolver = Resolver()
    assert resolver.weights("tiny-shapes").value == "/w/tiny.safetensors"
    assert resolver.weights("ViT-B-32").value is None  # that model's usual place
    monkeypatch.setenv("PHOTOCLIP_WEIGHTS", "/env.safetensors")
    assert resolver.weights("tiny-shapes").value == "/env.safetensors"
    assert resolver.weights("tiny-shapes", "/flag.bin").value == "/flag.bin"


def test_threads_flag_then_settings_then_automatic():
    assert Resolver().threads().value == 0
    update_config(threads=2)
    assert Resolver().threads().value == 2
    assert Resolver().threads(5).value == 5


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "photoclip", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_the_cli_uses_the_library_and_weights_chosen_in_the_settings_file(tmp_path):
    """What the Settings dialog saves, `photoclip status` (a separate process) uses, and says
    where each choice came from."""
    from photoclip.models import tiny_shapes_dir

    weights = str(Path(tiny_shapes_dir()) / "open_clip_model.safetensors")
    update_config(library=str(tmp_path / "chosen"))
    set_weights("tiny-shapes", weights)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOCLIP_")}
    env["PHOTOCLIP_MODEL"] = "tiny-shapes"

    done = _cli("status", "--json", env=env)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["library"] == str(tmp_path / "chosen" / "library.db")
    assert status["library_from"] == "the settings file"
    assert status["settings_file"] == str(config_path())
    assert (status["model"], status["model_from"]) == ("tiny-shapes", "$PHOTOCLIP_MODEL")
    assert (status["weights"], status["weights_from"]) == (weights, status["library_from"])
    assert (tmp_path / "chosen" / "library.db").is_file()
    assert not (tmp_path / "data" / "photoclip").exists()  # the old default is left alone

    text = _cli("status", env=env).stdout
    assert f"{tmp_path / 'chosen' / 'library.db'}  (from the settings file)" in text
    assert f"Settings file:      {config_path()}" in text
    assert "tiny-shapes  (from $PHOTOCLIP_MODEL)" in text

"""Where the library database lives: explicit override, PHOTOCLIP_LIBRARY, then the
per-user data folder."""

from __future__ import annotations

import sys

import pytest

from photoclip.paths import LIBRARY_ENV, library_db_path, library_dir

linux_only = pytest.mark.skipif(
    sys.platform in ("win32", "darwin"), reason="XDG_DATA_HOME applies to Linux and BSDs"
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv(LIBRARY_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)


def test_an_explicit_folder_holds_library_db(tmp_path):
    assert library_db_path(tmp_path / "mylib") == tmp_path / "mylib" / "library.db"
    assert library_db_path(str(tmp_path / "mylib")) == tmp_path / "mylib" / "library.db"
    assert library_dir(tmp_path / "mylib") == tmp_path / "mylib"


def test_an_explicit_db_file_is_used_as_is(tmp_path):
    assert library_db_path(str(tmp_path / "work" / "photos.db")) == tmp_path / "work" / "photos.db"
    assert library_dir(tmp_path / "work" / "photos.db") == tmp_path / "work"


def test_a_tilde_is_expanded(tmp_path):
    home = tmp_path / "home"

    assert library_db_path("~/lib") == home / "lib" / "library.db"
    assert library_db_path("~/lib/mine.db") == home / "lib" / "mine.db"


def test_the_environment_variable_is_used_without_an_override(tmp_path, monkeypatch):
    monkeypatch.setenv(LIBRARY_ENV, str(tmp_path / "from-env"))
    assert library_db_path() == tmp_path / "from-env" / "library.db"

    monkeypatch.setenv(LIBRARY_ENV, str(tmp_path / "from-env" / "x.db"))
    assert library_db_path() == tmp_path / "from-env" / "x.db"
    assert library_dir() == tmp_path / "from-env"


def test_an_explicit_override_beats_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(LIBRARY_ENV, str(tmp_path / "from-env.db"))

    assert library_db_path(str(tmp_path / "explicit")) == tmp_path / "explicit" / "library.db"
    assert library_db_path(str(tmp_path / "explicit.db")) == tmp_path / "explicit.db"


@linux_only
def test_the_default_is_under_xdg_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))

    assert library_db_path() == tmp_path / "data" / "photoclip" / "library.db"


@linux_only
def test_without_xdg_data_home_the_default_is_under_local_share(tmp_path):
    assert library_db_path() == tmp_path / "home" / ".local" / "share" / "photoclip" / "library.db"


@linux_only
def test_an_empty_environment_variable_means_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv(LIBRARY_ENV, "")

    assert library_db_path() == tmp_path / "home" / ".local" / "share" / "photoclip" / "library.db"

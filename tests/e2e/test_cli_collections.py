"""The album and favourite commands end to end on a real indexed library: what a script can
do with albums, favourites and export is what the app does, and the photos are never touched."""

from __future__ import annotations

import json
import os

import pytest

from photoclip.cli import MODEL_SETTING, main
from photoclip.indexer import Indexer
from photoclip.store import Store

from .helpers import photoclip


@pytest.fixture
def indexed(tmp_path, small_shapes_dir, tiny_embedder, monkeypatch):
    """(library folder, sorted photo paths): the 40 shapes indexed with the tiny model."""
    lib = tmp_path / "lib"
    store = Store(lib / "library.db")
    try:
        Indexer(store, tiny_embedder, batch_size=16).run([str(small_shapes_dir)], add=True)
        store.set_setting(MODEL_SETTING, "tiny-shapes")  # as `photoclip index` does
    finally:
        store.close()
    monkeypatch.setenv("PHOTOCLIP_LIBRARY", str(lib))
    return lib, sorted(str(p) for p in small_shapes_dir.rglob("*.jpg"))


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_albums_from_the_command_line(indexed, capsys, tmp_path):
    _lib, paths = indexed
    before = {p: os.stat(p).st_mtime_ns for p in paths}
    assert run(capsys, "album", "create", "Trip")[1] == "Made the album “Trip”.\n"
    code, _, err = run(capsys, "album", "create", "trip")
    assert code == 1 and "already an album called “trip”" in err
    code, out, err = run(capsys, "album", "add", "Trip", *paths[:3], str(tmp_path / "nope.jpg"))
    assert code == 0 and out == "Added 3 photos to “Trip”.\n"
    assert "nope.jpg isn't an indexed photo in this library" in err
    assert run(capsys, "album", "add", "Trip", paths[0])[1] == (
        "Added 0 photos to “Trip” (1 already in it).\n"
    )
    code, out, _ = run(capsys, "album", "list", "--json")
    assert json.loads(out) == [{"name": "Trip", "photos": 3}]
    shown = json.loads(run(capsys, "album", "show", "Trip", "--json")[1])
    assert sorted(r["path"] for r in shown) == paths[:3]

    assert run(capsys, "album", "remove", "Trip", paths[1])[1] == (
        "Took 1 photo out of “Trip”; they stay in the library.\n"
    )
    assert sorted(run(capsys, "album", "show", "Trip")[1].split()) == [paths[0], paths[2]]

    out_dir = tmp_path / "exported"
    code, out, _ = run(capsys, "album", "export", "Trip", str(out_dir))
    assert code == 0 and out.startswith(f"Copied 2 photos to {out_dir}")
    assert sorted(os.listdir(out_dir)) == sorted(os.path.basename(p) for p in (paths[0], paths[2]))

    assert run(capsys, "album", "rename", "Trip", "Rome 2024")[0] == 0
    code, _, err = run(capsys, "album", "show", "Trip")
    assert code == 1 and "no album called “Trip” (albums: Rome 2024)" in err
    out = run(capsys, "album", "delete", "Rome 2024")[1]
    assert "its 2 photos stay in the library and on disk" in out
    assert run(capsys, "album", "list")[1] == (
        "No albums yet. Make one with: photoclip album create NAME\n"
    )
    assert {p: os.stat(p).st_mtime_ns for p in paths} == before  # the photos untouched


def test_a_folder_adds_every_indexed_photo_under_it(indexed, capsys):
    _lib, paths = indexed
    folder = os.path.dirname(paths[0])
    under = [p for p in paths if p.startswith(folder + os.sep)]
    run(capsys, "album", "create", "All of it")
    assert run(capsys, "album", "add", "All of it", folder)[1] == (
        f"Added {len(under)} photos to “All of it”.\n"
    )


def test_favourites_from_the_command_line_in_a_real_process(indexed, capsys):
    lib, paths = indexed
    assert run(capsys, "favorite", *paths[:2])[1] == "Marked 2 photos as favourites.\n"
    assert run(capsys, "favorite", "--remove", paths[0])[1] == "Unmarked 1 photo as favourites.\n"
    # the installed entry point, options before the command as a user may type them
    proc = photoclip(lib, "--library", str(lib), "favorites", "--json")
    assert [r["path"] for r in json.loads(proc.stdout)] == [paths[1]]
    bad = photoclip(lib, "favorite", "/no/such/photo.jpg", check=False)
    assert bad.returncode == 1
    assert "None of those paths is an indexed photo in this library." in bad.stderr


def test_search_within_an_album_or_the_favourites(indexed, capsys):
    _lib, paths = indexed
    run(capsys, "album", "create", "Few")
    run(capsys, "album", "add", "Few", *paths[:3])
    run(capsys, "favorite", paths[5])
    code, out, err = run(capsys, "search", "a circle", "--album", "Few", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert code == 0 and result["total"] == 3
    assert sorted(r["path"] for r in result["results"]) == paths[:3]
    result = json.loads(run(capsys, "search", "a circle", "--favorites", "--json")[1])
    assert [r["path"] for r in result["results"]] == [paths[5]]
    code, _, err = run(capsys, "similar", paths[0], "--album", "Nope")
    assert code == 1 and "There is no album called “Nope” (albums: Few)." in err

"""Smart albums that learn (#10 part 2), end to end: held-out shape photos indexed with the tiny
trained model; a saved search, examples marked, the classifier's members, freezing, the CLI."""

from __future__ import annotations

import json

import pytest

from photoclip.cli import main
from photoclip.errors import AlbumError
from photoclip.indexer import Indexer
from photoclip.search import Searcher
from photoclip.smart_albums import SmartAlbum, SmartQuery
from photoclip.store import Store


@pytest.fixture
def searcher(tiny_embedder, shapes_dir, tmp_path):
    store = Store(tmp_path / "library.db")
    Indexer(store, tiny_embedder).run([str(shapes_dir)], add=True)
    yield Searcher(store, tiny_embedder)
    store.close()


def test_a_smart_album_is_a_saved_search_that_learns_from_examples(searcher, shapes_manifest):
    album = SmartAlbum.create(searcher, "Circles", SmartQuery("a circle"))
    assert searcher.store.album(album.album_id).kind == "smart"
    plain = album.members()
    assert not plain.learned and plain.photo_ids
    paths = {f.id: f.path for f in searcher.store.photo_files()}
    strong = [h.photo_id for h in searcher.search("a circle", limit=240).hits if h.strong]
    assert sorted(plain.photo_ids) == sorted(strong)

    # The user wants red circles only: 👍 on red ones, 👎 on circles of other colours.
    red = [p for p in plain.photo_ids if shapes_manifest[paths[p]]["colour"] == "red"][:5]
    other = [p for p in plain.photo_ids if shapes_manifest[paths[p]]["colour"] != "red"][:5]
    assert len(red) == 5 and len(other) == 5
    album.mark(red, 1)
    album.mark(other, -1)
    learned = album.members()
    assert learned.learned
    assert set(red) <= set(learned.photo_ids) and not set(other) & set(learned.photo_ids)
    marked = set(red) | set(other)

    def not_red(ids: list[int]) -> int:
        return sum(shapes_manifest[paths[p]]["colour"] != "red" for p in ids if p not in marked)

    # circles of other colours leave the album (the text query alone can't say "only red"):
    # 9 of 42 stay with the tiny model retrained for extra views (#11), under 0.2 before
    assert not_red(learned.photo_ids) <= 0.25 * not_red(plain.photo_ids), (
        not_red(learned.photo_ids),
        not_red(plain.photo_ids),
    )

    frozen = album.freeze("Red circles")
    assert sorted(searcher.store.album_photo_ids(frozen)) == sorted(learned.photo_ids)
    assert searcher.store.album(frozen).kind == "album"

    album.mark(red + other, None)
    assert not album.members().learned


def test_a_smart_album_needs_a_query(searcher):
    with pytest.raises(AlbumError):
        SmartAlbum.create(searcher, "Empty", SmartQuery("   "))


def test_the_command_line_makes_lists_and_shows_smart_albums(
    tmp_path, small_shapes_dir, capsys, monkeypatch
):
    monkeypatch.setenv("PHOTOCLIP_LIBRARY", str(tmp_path / "lib"))
    assert main(["index", str(small_shapes_dir), "--model", "tiny-shapes"]) == 0
    capsys.readouterr()
    assert main(["smart", "create", "Stars", "a star"]) == 0
    assert "Made the smart album “Stars”" in capsys.readouterr().out
    assert main(["smart", "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["name"] == "Stars" and listed["query"] == "a star" and not listed["learned"]
    assert main(["smart", "show", "Stars", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert len(shown) == listed["photos"]
    photos = sorted(str(p) for p in small_shapes_dir.rglob("*.jpg"))
    assert main(["smart", "mark", "Stars", "--no", photos[0], "--yes", photos[1]]) == 0
    assert "learned from your examples" in capsys.readouterr().out
    assert main(["smart", "freeze", "Stars", "Star photos"]) == 0
    assert "Made the album “Star photos”" in capsys.readouterr().out
    assert main(["smart", "show", "Nope"]) == 1

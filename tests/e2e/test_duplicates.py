"""Duplicates told apart (#10 part 4), end to end: real photographs (scikit-image's samples)
and their copies written as files, indexed by the production indexer with the tiny trained
model, scanned, resolved, searched, and the same from the command line."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from PIL import Image

from bench.bench_duplicates import score, write_duplicate_library
from photoclip.cli import main
from photoclip.duplicates import Duplicates
from photoclip.indexer import Indexer
from photoclip.search import Searcher
from photoclip.store import Store


@pytest.fixture(scope="module")
def held_out(tiny_embedder, tmp_path_factory):
    """The benchmark's held-out photos (not the set its constants were chosen on), indexed."""
    root = tmp_path_factory.mktemp("dups")
    truth = write_duplicate_library(root / "photos", held_out=True)
    store = Store(root / "library.db")
    report = Indexer(store, tiny_embedder).run([str(root / "photos")], add=True)
    assert report.failed == 0
    yield store, truth
    store.close()


def finder(store: Store, embedder) -> Duplicates:
    return Duplicates(store, store.model_id(embedder.identity), embedder.identity.dim)


def test_three_kinds_of_copies_are_told_apart(held_out, tiny_embedder):
    store, truth = held_out
    report = finder(store, tiny_embedder).scan()
    assert report.full and report.photos == store.counts()["vectors"]
    figures = score(store, truth)
    for kind, f in figures.items():
        print(f"\n{kind}: precision {f.precision:.3f}, recall {f.recall:.3f} ({f.found} found, "
              f"{f.true} true)")  # fmt: skip
    assert figures["exact"].precision == figures["exact"].recall == 1.0
    assert figures["same"].precision >= 0.95 and figures["same"].recall >= 0.9
    assert figures["similar"].precision >= 0.95 and figures["similar"].recall >= 0.9


def test_each_group_suggests_the_original_as_keeper(held_out, tiny_embedder):
    store, _ = held_out
    found = finder(store, tiny_embedder)
    found.scan()
    groups = found.groups("same")
    assert groups
    for g in groups:
        keeper = store.photo_files([g.keeper])[0]
        # the original: largest, and the camera's JPEG with its EXIF time (not the byte copy,
        # which is as large but written later)
        assert os.path.basename(os.path.dirname(keeper.path)) == "camera", keeper.path
        assert keeper.taken_at_source == "exif"


def test_new_photos_are_checked_against_the_library_as_they_are_indexed(tmp_path, tiny_embedder):
    from skimage import data

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("astronaut", "coffee", "rocket"):
        Image.fromarray(getattr(data, name)()).save(photos / f"{name}.jpg", quality=95)
    store = Store(tmp_path / "library.db")
    indexer = Indexer(store, tiny_embedder)
    indexer.run([str(photos)], add=True)
    dups = finder(store, tiny_embedder)
    assert dups.pending()
    assert dups.scan().full and dups.groups() == []
    assert not dups.pending()

    later = photos / "later"
    later.mkdir()
    shutil.copyfile(photos / "coffee.jpg", later / "coffee copy.jpg")
    Image.open(photos / "rocket.jpg").resize((320, 213)).save(later / "rocket small.png")
    indexer.run([str(photos)])
    assert dups.pending()
    report = dups.scan()
    assert not report.full and report.photos == 2
    groups = {g.kind: g for g in dups.groups()}
    paths = {f.id: f.path for f in store.photo_files()}
    assert sorted(os.path.basename(paths[p]) for p in groups["exact"].photo_ids) == [
        "coffee copy.jpg", "coffee.jpg"
    ]  # fmt: skip
    assert [os.path.basename(paths[p]) for p in groups["same"].photo_ids] == [
        "rocket.jpg", "rocket small.png"
    ]  # fmt: skip

    # Search folds exact copies into their best-placed member, which says how many it stands
    # for; the same photo (an inference) is not folded: five photos, four hits.
    searcher = Searcher(store, tiny_embedder)
    result = searcher.search("a red circle", limit=10)
    copies = {h.photo_id: h.copies for h in result.hits}
    assert result.total == 4 and sorted(copies.values()) == [1, 1, 1, 2]
    assert len(set(groups["exact"].photo_ids) & set(copies)) == 1
    assert set(groups["same"].photo_ids) <= set(copies)
    searcher.fold_copies = False
    assert searcher.search("a red circle", limit=10).total == 5

    # Hide the rest: the copy leaves search results (and comes back with undo); the file stays.
    small = groups["same"].rest[0]
    before = dups.hide_rest(groups["same"])
    assert small not in {h.photo_id for h in searcher.search("a red circle", limit=10).hits}
    assert os.path.isfile(paths[small])
    dups.undo(before)
    assert small in {h.photo_id for h in searcher.search("a red circle", limit=10).hits}
    store.close()


def test_the_command_line_lists_and_resolves_groups(tmp_path, tiny_embedder, capsys, monkeypatch):
    from skimage import data

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(data.chelsea()).save(photos / "chelsea.jpg", quality=95)
    Image.fromarray(data.chelsea()).save(photos / "chelsea again.jpg", quality=55)
    Image.fromarray(data.coins()).save(photos / "coins.jpg")
    lib = tmp_path / "lib"
    monkeypatch.setenv("PHOTOCLIP_LIBRARY", str(lib))
    assert main(["index", str(photos), "--model", "tiny-shapes"]) == 0
    capsys.readouterr()

    assert main(["duplicates", "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)
    assert [(g["kind"], [os.path.basename(p["path"]) for p in g["photos"]]) for g in groups] == [
        ("same", ["chelsea.jpg", "chelsea again.jpg"])
    ]
    assert main(["duplicates"]) == 0
    out = capsys.readouterr().out
    assert "The same photo (1 group)" in out and "chelsea.jpg" in out and "keep" in out

    assert main(["duplicates", "--hide-rest", "1"]) == 0
    assert "hid 1 from search" in capsys.readouterr().out
    assert main(["duplicates"]) == 0
    assert capsys.readouterr().out == "No copies found.\n"
    assert main(["search", "a cat", "--json", "--limit", "5"]) == 0
    found = json.loads(capsys.readouterr().out)
    hits = found["results"] if isinstance(found, dict) else found
    assert not any(h["path"].endswith("chelsea again.jpg") for h in hits)
    assert main(["duplicates", "--all", "--reset", "1"]) == 0
    assert main(["duplicates", "--hide-rest", "7"]) == 1
    assert "There is no group 7" in capsys.readouterr().err
    assert (photos / "chelsea again.jpg").is_file()

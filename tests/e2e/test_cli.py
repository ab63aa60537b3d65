"""The CLI end to end on real files: index, search, similar, status, problems, folders."""

from __future__ import annotations

import shutil
from collections import Counter

from photoclip.calibration import NEUTRAL_CAPTIONS
from photoclip.store import Store
from tools.shapes import read_manifest

from .helpers import photoclip, photoclip_json


def test_index_then_search_finds_red_circles(tmp_path, small_shapes_dir):
    lib = tmp_path / "lib"
    out = photoclip(lib, "index", str(small_shapes_dir), "--model", "tiny-shapes")
    assert "40 indexed" in out.stdout
    manifest = read_manifest(small_shapes_dir)
    pairs = Counter((e["colour"], e["shape"]) for e in manifest.values())
    (colour, shape), count = pairs.most_common(1)[0]
    assert count >= 2
    result = photoclip_json(lib, "search", f"a {colour} {shape}", "--limit", "3")
    top = [manifest[r["path"]] for r in result["results"]]
    assert [(e["colour"], e["shape"]) for e in top[:2]] == [(colour, shape)] * 2
    assert result["total"] == 40
    scores = [r["score"] for r in result["results"]]
    assert scores == sorted(scores, reverse=True)

    # The library remembers its model: no --model needed any more.
    status = photoclip_json(lib, "status")
    assert status["model"] == "tiny-shapes"
    assert status["indexed"] == 40 and status["vectors"] == 40
    # the phrase just searched for, worded as a photo caption too, and the neutral captions
    # a query is measured against (calibration.py)
    phrases = 2 + len(NEUTRAL_CAPTIONS)
    assert status["remembered_phrases"] == phrases
    lines = photoclip(lib, "status").stdout.splitlines()
    assert f"Remembered phrases: {phrases}" in [" ".join(line.split()) for line in lines]
    # The values line up in one column, whatever the labels' lengths.
    assert len({len(line) - len(line.split(":", 1)[1].lstrip()) for line in lines}) == 1

    text = photoclip(lib, "search", "a", colour, shape, "-n", "2")
    assert len(text.stdout.strip().splitlines()) == 2
    # With strong matches the header counts them; without (two or three photos of a phrase
    # among 40 may not clear the strong-match rule, README "Strong matches") it says so.
    if result["threshold"] is None:
        assert "No good matches — showing the closest photos, 1–2 of 40" in text.stderr
    else:
        assert "among 40 photos" in text.stderr
    assert "--page 2" in text.stderr

    probe = next(p for p, e in manifest.items() if (e["colour"], e["shape"]) == (colour, shape))
    sim = photoclip_json(lib, "similar", probe)
    assert len(sim["results"]) == 20 and probe not in [r["path"] for r in sim["results"]]
    assert (
        manifest[sim["results"][0]["path"]]["colour"],
        manifest[sim["results"][0]["path"]]["shape"],
    ) == (colour, shape)


def test_problems_lists_unreadable_files_with_reasons(tmp_path, small_shapes_dir):
    lib = tmp_path / "lib"
    good = next(small_shapes_dir.rglob("*.jpg"))
    (small_shapes_dir / "notes.jpg").write_text("not really a photo")
    (small_shapes_dir / "empty.png").write_bytes(b"")
    data = good.read_bytes()
    (small_shapes_dir / "cut.jpg").write_bytes(data[: len(data) // 3])
    out = photoclip(lib, "index", str(small_shapes_dir), "--model", "tiny-shapes")
    assert "40 indexed, 3 couldn't be read" in out.stdout
    assert "photoclip problems" in out.stderr
    problems = {p["path"].split("/")[-1]: p["reason"] for p in photoclip_json(lib, "problems")}
    assert set(problems) == {"notes.jpg", "empty.png", "cut.jpg"}
    assert "isn't an image" in problems["notes.jpg"]
    assert "empty" in problems["empty.png"]
    assert "truncated" in problems["cut.jpg"]
    human = photoclip(lib, "problems").stdout
    assert "cut.jpg" in human and "truncated" in human


def test_folders_and_remove_never_touch_files(tmp_path, small_shapes_dir):
    lib = tmp_path / "lib"
    before = {p: p.read_bytes() for p in small_shapes_dir.rglob("*") if p.is_file()}
    photoclip(lib, "index", str(small_shapes_dir), "--model", "tiny-shapes")
    assert str(small_shapes_dir) in photoclip(lib, "folders").stdout
    out = photoclip(lib, "remove", str(small_shapes_dir))
    assert "Forgot 40 photos" in out.stdout
    assert photoclip_json(lib, "status")["indexed"] == 0
    after = {p: p.read_bytes() for p in small_shapes_dir.rglob("*") if p.is_file()}
    assert after == before


def test_user_errors_are_sentences_not_tracebacks(tmp_path, small_shapes_dir):
    lib = tmp_path / "lib"
    out = photoclip(lib, "search", "a red circle", "--model", "tiny-shapes", check=False)
    assert out.returncode == 1
    assert "Nothing is indexed" in out.stderr and "Traceback" not in out.stderr
    out = photoclip(lib, "index", str(tmp_path / "nope"), check=False)
    assert out.returncode == 1 and "isn't a folder" in out.stderr
    photoclip(lib, "index", str(small_shapes_dir), "--model", "tiny-shapes")
    out = photoclip(lib, "search", "- people", check=False)
    assert out.returncode == 1 and "at least one thing to look for" in out.stderr
    out = photoclip(lib, "search", "./missing.jpg", check=False)
    assert out.returncode == 1 and "can't be found" in out.stderr


def test_moved_folder_is_relinked_without_re_embedding(tmp_path, small_shapes_dir):
    lib = tmp_path / "lib"
    photoclip(lib, "index", str(small_shapes_dir), "--model", "tiny-shapes")
    sub = sorted(p for p in small_shapes_dir.iterdir() if p.is_dir())[0]
    moved = len(list(sub.rglob("*.jpg")))
    assert moved > 0
    shutil.move(str(sub), str(small_shapes_dir / "renamed-album"))
    out = photoclip(lib, "index")
    assert f"0 indexed, 0 couldn't be read, {40 - moved} unchanged, {moved} moved, 0 removed" in (
        out.stdout
    )
    assert photoclip_json(lib, "status")["indexed"] == 40


def test_a_command_that_loaded_the_model_ends_at_once_with_its_work_whole(
    tmp_path, small_shapes_dir, tiny_embedder
):
    """Commands that imported torch skip the interpreter's second-long clean-up
    (photoclip.__main__._leave_now): what they printed arrives whole, the library is closed
    cleanly (no write-ahead log left behind) and holds everything, and the exit code stands."""
    lib = tmp_path / "lib"
    out = photoclip(lib, "index", str(small_shapes_dir), "--model", "tiny-shapes")
    assert out.stdout.rstrip().endswith("photos/s).")  # the last line, whole
    assert "40 indexed" in out.stdout
    assert not (lib / "library.db-wal").exists()
    assert photoclip_json(lib, "status")["vectors"] == 40
    # A photo from outside the library as the query embeds it with the model: torch again.
    outside = tmp_path / "query.jpg"
    shutil.copy(sorted(small_shapes_dir.rglob("*.jpg"))[0], outside)
    similar = photoclip_json(lib, "similar", str(outside), "--limit", "3")
    assert len(similar["results"]) == 3
    failed = photoclip(lib, "similar", str(tmp_path / "no-such.jpg"), check=False)
    assert failed.returncode != 0 and failed.stderr.strip()
    # A search and a rescan end the same way (photoclip.__main__._QUICK_EXIT): a search's
    # whole output, the phrase it remembered stored, the library closed cleanly.
    found = photoclip_json(lib, "search", "a red circle", "--limit", "40")
    assert len(found["results"]) == 40
    assert "0 indexed" in photoclip(lib, "index").stdout
    assert not (lib / "library.db-wal").exists()
    store = Store(lib / "library.db")
    try:
        model_id = store.model_id(tiny_embedder.identity)
        assert list(store.text_vectors(model_id, ["a red circle"])) == ["a red circle"]
    finally:
        store.close()

"""A library that has met its model before doesn't load it until something needs embedding:
an unchanged rescan and a repeated search run without torch, as whole CLI processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from photoclip.embedder import DeferredEmbedder
from photoclip.errors import ModelUnavailableError
from photoclip.models import ModelIdentity
from photoclip.search import Searcher
from photoclip.store import Store

from .helpers import cli_env, photoclip

# Runs the CLI in this process and reports whether torch got imported along the way.
PROBE = """
import contextlib, io, json, sys
from photoclip.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "stdout": out.getvalue(), "torch": "torch" in sys.modules}))
"""


def probe(library, *args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=cli_env(library), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["code"] == 0, proc.stderr
    return result


def test_unchanged_rescan_and_repeated_search_never_load_the_model(tmp_path, small_shapes_dir):
    lib = tmp_path / "lib"
    photoclip(lib, "index", str(small_shapes_dir), "--model", "tiny-shapes")

    rescan = probe(lib, "index")
    assert "0 indexed" in rescan["stdout"] and "40 unchanged" in rescan["stdout"]
    assert rescan["torch"] is False

    first = probe(lib, "search", "a red circle", "--json")
    assert first["torch"] is False  # a new phrase: the text tower exported at index time
    again = probe(lib, "search", "a red circle", "--json")
    assert again["torch"] is False  # ...a phrase searched before doesn't
    assert json.loads(again["stdout"]) == json.loads(first["stdout"])

    # A photo from the library as the query: its stored vector, no model either.
    some_photo = json.loads(first["stdout"])["results"][0]["path"]
    similar = probe(lib, "similar", some_photo, "--json")
    assert similar["torch"] is False and len(json.loads(similar["stdout"])["results"]) == 20

    # Something new to embed: the model loads then, and the photo is found.
    new = small_shapes_dir / "new" / "copy.jpg"
    new.parent.mkdir()
    shutil.copy(some_photo, new)
    added = probe(lib, "index")
    assert "1 indexed" in added["stdout"] and added["torch"] is True
    found = probe(lib, "similar", some_photo, "--json", "--limit", "1")
    assert json.loads(found["stdout"])["results"][0]["path"] == str(new.resolve())


def test_weights_file_changed_on_disk_loads_the_model_again(tmp_path, small_shapes_dir):
    """The remembered identity is tied to the weights file's path, size and mtime."""
    from photoclip.models import tiny_shapes_dir

    weights = tmp_path / "mine.safetensors"
    shutil.copy(os.path.join(tiny_shapes_dir(), "open_clip_model.safetensors"), weights)
    lib = tmp_path / "lib"
    args = ("--model", "tiny-shapes", "--weights", str(weights))
    photoclip(lib, "index", str(small_shapes_dir), *args)
    assert probe(lib, "index", *args)["torch"] is False

    os.utime(weights, ns=(1_000_000_000, 1_000_000_000))
    rerun = probe(lib, "index", *args)
    assert rerun["torch"] is True
    # Same bytes, so the same model identity: nothing needed re-embedding.
    assert "0 indexed" in rerun["stdout"] and "40 unchanged" in rerun["stdout"]


def test_deferred_model_loads_once_on_first_use_and_checks_its_identity(tiny_embedder, tmp_path):
    loads: list[int] = []

    def load():
        loads.append(1)
        return tiny_embedder

    deferred = DeferredEmbedder(
        tiny_embedder.spec, tiny_embedder.identity, tiny_embedder.image_size, load
    )
    assert not deferred.loaded
    # Images need the model (text may come from an exported text tower, test_text_tower.py).
    vec = deferred.encode_images([Image.new("RGB", (80, 60), "red")])
    np.testing.assert_array_equal(
        vec, tiny_embedder.encode_images([Image.new("RGB", (80, 60), "red")])
    )
    deferred.encode_images([Image.new("RGB", (80, 60), "blue")])
    assert loads == [1] and deferred.loaded

    other = ModelIdentity(**{**tiny_embedder.identity.__dict__, "weights_sha256": "0" * 64})
    wrong = DeferredEmbedder(tiny_embedder.spec, other, tiny_embedder.image_size, load)
    with pytest.raises(ModelUnavailableError, match="weights changed"):
        wrong.encode_images([Image.new("RGB", (80, 60), "red")])


def test_searcher_remembers_phrases_in_the_library(tiny_embedder, tmp_path, monkeypatch):
    """A phrase's vector is stored per model; a Searcher whose model can't load still answers
    it (and says why for a phrase it has never seen)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no exported text tower
    store = Store(tmp_path / "library.db")
    try:
        Searcher(store, tiny_embedder).query_vector("a red circle - 0.5:a blue star")

        def unavailable():
            raise ModelUnavailableError("no model here")

        spec, identity, size = tiny_embedder.spec, tiny_embedder.identity, tiny_embedder.image_size
        offline = Searcher(store, DeferredEmbedder(spec, identity, size, unavailable))
        np.testing.assert_allclose(
            offline.query_vector("a red circle - 0.5:a blue star"),
            Searcher(store, tiny_embedder).query_vector("a red circle - 0.5:a blue star"),
        )
        with pytest.raises(ModelUnavailableError):
            offline.query_vector("a green square")
    finally:
        store.close()


def test_a_busy_library_doesnt_hold_up_a_search(tiny_embedder, tmp_path):
    """Remembering a phrase is a nicety: with another writer holding the library, the search
    answers at once (the phrase is remembered next time)."""
    import sqlite3
    import time

    store = Store(tmp_path / "library.db")
    other = sqlite3.connect(store.path, isolation_level=None)
    try:
        searcher = Searcher(store, tiny_embedder)
        other.execute("BEGIN IMMEDIATE")  # e.g. an indexer writing a batch
        started = time.monotonic()
        searcher.query_vector("a red circle")
        assert time.monotonic() - started < 5  # not the 30 s a writer may otherwise wait
        other.execute("ROLLBACK")
        assert store.text_vectors(searcher.model_id, ["a red circle"]) == {}
        searcher.query_vector("a red circle")
        assert list(store.text_vectors(searcher.model_id, ["a red circle"])) == ["a red circle"]
    finally:
        other.close()
        store.close()


def test_a_model_that_fails_to_load_is_not_blamed_on_the_photos(
    tiny_embedder, tmp_path, small_shapes_dir
):
    from photoclip.indexer import Indexer

    def unreadable():
        raise PermissionError(13, "Permission denied", "/models/weights.safetensors")

    spec, identity, size = tiny_embedder.spec, tiny_embedder.identity, tiny_embedder.image_size
    store = Store(tmp_path / "library.db")
    try:
        with pytest.raises(ModelUnavailableError, match="tiny-shapes model couldn't be loaded"):
            Indexer(store, DeferredEmbedder(spec, identity, size, unreadable)).run(
                [str(small_shapes_dir)], add=True
            )
        assert store.problems() == [] and store.counts()["indexed"] == 0
        # With a model that loads, the same library indexes fully.
        loads = DeferredEmbedder(spec, identity, size, lambda: tiny_embedder)
        assert Indexer(store, loads).run().indexed == 40
    finally:
        store.close()


def test_photos_decoded_while_the_model_loads_are_embedded_as_any_other(
    tiny_embedder, tmp_path, small_shapes_dir
):
    """The decode pool starts on the first photos while a deferred model loads; those
    photos' model input is made once it has loaded. Their vectors are the model's own."""
    import time

    from photoclip.indexer import Indexer

    spec, identity, size = tiny_embedder.spec, tiny_embedder.identity, tiny_embedder.image_size
    decoded_during_load: list[int] = []
    original = Indexer._prepare

    def slow_load():
        time.sleep(0.5)  # long enough for the pool to decode its whole lookahead
        return tiny_embedder

    def counting(self, job):
        out = original(self, job)
        if not self._model_ready.is_set():
            decoded_during_load.append(1)
        return out

    vectors = []
    for embedder in (DeferredEmbedder(spec, identity, size, slow_load), tiny_embedder):
        store = Store(tmp_path / f"{len(vectors)}.db")
        try:
            Indexer._prepare = counting  # type: ignore[method-assign]
            report = Indexer(store, embedder).run([str(small_shapes_dir)], add=True)
            assert report.indexed == 40 and report.failed == 0
            dim = tiny_embedder.encode_text(["a"]).shape[1]
            ids, matrix, _ = store.vectors_since(store.model_id(identity), 0, dim)
            paths = [r["path"] for r in store.photos_by_id([int(i) for i in ids])]
            vectors.append(dict(zip(paths, matrix, strict=True)))
        finally:
            Indexer._prepare = original  # type: ignore[method-assign]
            store.close()
    assert decoded_during_load, "nothing was decoded while the model loaded"
    assert vectors[0].keys() == vectors[1].keys()
    for path, vector in vectors[0].items():
        assert float(np.dot(vector, vectors[1][path])) > 0.9999, path

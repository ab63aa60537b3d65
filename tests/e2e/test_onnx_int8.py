"""onnx-int8: once a model has been loaded on this computer (its towers exported), a new
library is indexed and searched without torch, as whole CLI processes, and finds what fp32
finds."""

from __future__ import annotations

import json
import statistics

import numpy as np
from PIL import Image

from photoclip import precision
from photoclip.search import Searcher
from photoclip.store import Store

from .helpers import photoclip
from .test_deferred_model import probe
from .test_retrieval import colour_shape_queries

TINY = ("--model", "tiny-shapes", "--precision", "onnx-int8")


def test_a_new_library_is_indexed_and_searched_without_torch(
    tmp_path, small_shapes_dir, shapes_dir, shapes_manifest, tiny_embedder
):
    # The first load on this computer: torch, which exports both towers.
    photoclip(tmp_path / "first", "index", str(small_shapes_dir), *TINY)

    lib = tmp_path / "lib"
    indexed = probe(lib, "index", str(shapes_dir), *TINY)
    assert indexed["torch"] is False
    assert "240 indexed, 0 couldn't be read" in indexed["stdout"]
    found = probe(lib, "search", "a red circle", "--json", *TINY)
    assert found["torch"] is False
    assert len(json.loads(found["stdout"])["results"]) == 20

    store = Store(lib / "library.db")
    try:
        searcher = Searcher(store, tiny_embedder)  # the same weights: one identity
        assert store.counts()["vectors"] == 240
        # Its vectors are fp32's, within int8's rounding.
        paths = sorted(shapes_manifest)
        ours = np.stack([
            store.vector_for_photo(store.photo_id_for_path(p), searcher.model_id) for p in paths
        ])  # fmt: skip
        fp32 = tiny_embedder.encode_images([Image.open(p).convert("RGB") for p in paths])
        assert float(np.mean(np.sum(ours * fp32, axis=1))) >= precision.MIN_COSINE
        # ...and search finds the held-out photos as fp32's do (tests/e2e/test_retrieval.py).
        hits, precisions = [], []
        for query, relevant in colour_shape_queries(shapes_manifest):
            top = [h.path for h in searcher.search(query, limit=5).hits]
            hits.append(any(p in relevant for p in top))
            precisions.append(sum(p in relevant for p in top) / min(5, len(relevant)))
        assert statistics.mean(hits) >= 0.95
        assert statistics.mean(precisions) >= 0.80
    finally:
        store.close()

    status = photoclip(lib, "status", *TINY).stdout
    assert "onnx-int8" in status

    # As a whole process, a command that ran onnxruntime skips the interpreter's clean-up
    # (photoclip.__main__._leave_now): its output arrives whole, the library is closed
    # cleanly and holds everything.
    again = tmp_path / "again"
    out = photoclip(again, "index", str(small_shapes_dir), *TINY)
    assert out.stdout.rstrip().endswith("photos/s).") and "40 indexed" in out.stdout
    assert not (again / "library.db-wal").exists()
    assert json.loads(photoclip(again, "status", "--json", *TINY).stdout)["vectors"] == 40


def test_a_device_or_precision_that_cant_run_is_said_plainly(tmp_path, small_shapes_dir):
    def refused(*args: str) -> str:
        proc = photoclip(tmp_path / "lib", "index", str(small_shapes_dir), "--model",
                         "tiny-shapes", *args, check=False)  # fmt: skip
        assert proc.returncode != 0 and "Traceback" not in proc.stderr
        return proc.stderr

    assert "onnx-int8 runs on the CPU only" in refused(
        "--precision", "onnx-int8", "--device", "mps"
    )
    import torch

    if not torch.cuda.is_available():  # (before: "The weights ... don't fit the model")
        assert "There is no CUDA GPU" in refused("--device", "cuda")


def test_batches_embedded_side_by_side_keep_each_photo_its_own_vector(
    tmp_path, small_shapes_dir, tiny_embedder, monkeypatch
):
    """onnx-int8 runs a batch on one thread and several batches at once, in the indexer's
    pool between its decoding (Indexer._process): every photo still gets its own vector,
    one that can't be read is recorded, and a stop keeps the batches begun."""
    import threading

    from photoclip.embedder import load_embedder
    from photoclip.indexer import Indexer

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    loaded = load_embedder("tiny-shapes", device="cpu", precision="onnx-int8", threads=3)
    assert loaded.parallel_batches == 3
    (small_shapes_dir / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"not a photo" * 50)
    paths = sorted(str(p) for p in small_shapes_dir.rglob("*.jpg") if p.name != "broken.jpg")

    stopped = Store(tmp_path / "stopped" / "library.db")
    try:
        stop = threading.Event()
        batches: list[list[int]] = []

        def first_batch_only(ids: list[int]) -> None:
            batches.append(ids)
            stop.set()

        report = Indexer(stopped, loaded, batch_size=3).run(
            [str(small_shapes_dir)], add=True, on_batch=first_batch_only, stop=stop
        )
        assert report.cancelled
        # The batches already running when it stopped were written, nothing more.
        assert 3 <= report.indexed == sum(map(len, batches)) <= 3 * 3
        assert stopped.counts()["vectors"] == report.indexed
    finally:
        stopped.close()

    store = Store(tmp_path / "lib" / "library.db")
    try:
        report = Indexer(store, loaded, batch_size=3).run([str(small_shapes_dir)], add=True)
        assert (report.indexed, report.failed) == (40, 1)
        model_id = store.model_id(loaded.identity)
        ours = np.stack([store.vector_for_photo(store.photo_id_for_path(p), model_id)
                         for p in paths])  # fmt: skip
        fp32 = tiny_embedder.encode_images([Image.open(p).convert("RGB") for p in paths])
        cosines = np.sum(ours * fp32, axis=1)
        assert float(cosines.min()) >= 0.99 and float(cosines.mean()) >= precision.MIN_COSINE
        # Each photo is nearest its own fp32 vector: none was written under another's name.
        assert np.array_equal(np.argmax(ours @ fp32.T, axis=1), np.arange(len(paths)))
    finally:
        store.close()

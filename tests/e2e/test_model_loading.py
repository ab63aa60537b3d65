"""Loading real models the way users get them: from the standard Hugging Face cache offline,
by first-run download with progress (from a local stand-in for the hub), or from a file the
user names. Uses a random-weight twin of the default architecture."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch

from photoclip.embedder import load_embedder, resolve_weights
from photoclip.errors import ModelUnavailableError
from photoclip.indexer import Indexer
from photoclip.models import DEFAULT_MODEL, get_spec
from photoclip.search import Searcher
from photoclip.store import Store


@pytest.fixture(scope="module")
def twin(twin_cache):
    return load_embedder(DEFAULT_MODEL, device="cpu", precision="fp32", allow_download=False)


def test_default_model_loads_offline_from_the_hf_cache(twin, twin_cache):
    resolved = resolve_weights(get_spec(DEFAULT_MODEL), allow_download=False)
    assert resolved.path.startswith(str(twin_cache))
    assert Path(resolved.path).name == "open_clip_model.safetensors"
    blob = Path(os.path.realpath(resolved.path))
    assert resolved.sha256 == blob.name == hashlib.sha256(blob.read_bytes()).hexdigest()
    ident = twin.identity
    assert (ident.arch, ident.pretrained, ident.dim) == ("ViT-B-32-256", "datacomp_s34b_b86k", 512)
    assert twin.image_size == 256
    assert not twin.model.training
    text = twin.encode_text(["a dog", "a cat"])
    assert text.shape == (2, 512)
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1.0, rtol=1e-5)


def test_missing_model_offline_says_which_where_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    import huggingface_hub.constants as hfc

    monkeypatch.setattr(hfc, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(ModelUnavailableError) as err:
        load_embedder("ViT-B-32", allow_download=True)  # HF_HUB_OFFLINE=1 in tests
    msg = str(err.value)
    assert "ViT-B-32 model" in msg
    assert "laion/CLIP-ViT-B-32-laion2B-s34B-b79K" in msg
    assert str(tmp_path / "empty-cache") in msg
    assert "--weights" in msg and "Connect to the internet" in msg


def test_weights_file_named_by_the_user(tmp_path, twin_cache):
    resolved = resolve_weights(get_spec(DEFAULT_MODEL), allow_download=False)
    mine = tmp_path / "my-clip.safetensors"
    os.symlink(resolved.path, mine)
    emb = load_embedder(DEFAULT_MODEL, weights=str(mine), device="cpu", precision="fp32")
    assert emb.identity.weights_sha256 == resolved.sha256
    with pytest.raises(ModelUnavailableError, match="doesn't exist"):
        load_embedder(DEFAULT_MODEL, weights=str(tmp_path / "nope.safetensors"))


def test_pickled_checkpoints_load_only_as_plain_weights(tmp_path, tiny_embedder):
    """A .bin state dict loads (torch.load weights_only=True); a pickle carrying code is
    refused rather than executed."""
    plain = tmp_path / "tiny.bin"
    torch.save(tiny_embedder.model.state_dict(), plain)
    emb = load_embedder("tiny-shapes", weights=str(plain), device="cpu", precision="fp32")
    probe = ["a red circle", "a blue star"]
    np.testing.assert_allclose(emb.encode_text(probe), tiny_embedder.encode_text(probe), atol=1e-5)

    marker = tmp_path / "executed"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    evil = tmp_path / "evil.bin"
    with open(evil, "wb") as f:
        pickle.dump({"state_dict": Evil()}, f)
    with pytest.raises(ModelUnavailableError, match="plain weights"):
        load_embedder("tiny-shapes", weights=str(evil), device="cpu")
    assert not marker.exists()


def test_vectors_of_two_models_are_never_ranked_together(tmp_path, small_shapes_dir,
                                                         tiny_embedder, twin):  # fmt: skip
    store = Store(tmp_path / "library.db")
    Indexer(store, tiny_embedder).run([str(small_shapes_dir)], add=True)
    other = Searcher(store, twin)
    assert len(other.search("a red circle").hits) == 0  # nothing of the twin's yet
    # Switching model re-embeds every photo with the new one; both sets live side by side.
    report = Indexer(store, twin).run()
    assert (report.indexed, report.new) == (40, 0)
    counts = dict(store.conn.execute("SELECT model_id, COUNT(*) FROM vectors GROUP BY model_id"))
    assert sorted(counts.values()) == [40, 40]
    tiny_hits = Searcher(store, tiny_embedder).search("a red circle", limit=100)
    assert tiny_hits.total == 40
    twin_hits = Searcher(store, twin).search("a red circle", limit=100)
    assert twin_hits.total == 40
    assert tiny_embedder.identity.key != twin.identity.key
    store.close()


class _FakeHub(http.server.BaseHTTPRequestHandler):
    """Answers the two requests huggingface_hub makes for one file: HEAD, then GET."""

    files: ClassVar[dict[str, bytes]] = {}
    commit = "1" * 40

    def _lookup(self):
        # /{org}/{name}/resolve/{revision}/{filename}
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) == 5 and parts[2] == "resolve":
            return self.files.get(f"{parts[0]}/{parts[1]}/{parts[4]}")
        return None

    def _headers(self, body):
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Repo-Commit", self.commit)
        self.send_header("ETag", '"' + hashlib.sha256(body).hexdigest() + '"')
        self.end_headers()

    def do_HEAD(self):
        body = self._lookup()
        if body is None:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.end_headers()
            return
        self.send_response(200)
        self._headers(body)

    def do_GET(self):
        body = self._lookup()
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self._headers(body)
        for i in range(0, len(body), 1 << 16):
            self.wfile.write(body[i : i + 1 << 16])

    def log_message(self, *args):
        pass


def test_first_run_download_reports_progress_into_the_standard_cache(tmp_path, tiny_embedder):
    """The real download path (huggingface_hub against a hub on loopback), with progress."""
    from photoclip.models import tiny_shapes_dir

    payload = (Path(tiny_shapes_dir()) / "open_clip_model.safetensors").read_bytes()
    _FakeHub.files = {"laion/CLIP-ViT-B-32-laion2B-s34B-b79K/open_clip_model.safetensors": payload}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = dict(os.environ)
        env.pop("HF_HUB_OFFLINE", None)
        env["HF_ENDPOINT"] = f"http://127.0.0.1:{server.server_port}"
        env["HF_HUB_CACHE"] = str(tmp_path / "cache")
        env["HF_HUB_DISABLE_XET"] = "1"
        script = (
            "import json\n"
            "from photoclip.embedder import resolve_weights\n"
            "from photoclip.models import get_spec\n"
            "seen = []\n"
            "r = resolve_weights(get_spec('ViT-B-32'), progress=lambda d, t: seen.append((d, t)))\n"
            "print(json.dumps({'path': r.path, 'sha256': r.sha256, 'progress': seen}))\n"
        )
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, timeout=120)  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["path"].startswith(str(tmp_path / "cache" / "models--laion--CLIP-ViT-B-32"))
    assert Path(got["path"]).read_bytes() == payload
    assert got["sha256"] == hashlib.sha256(payload).hexdigest()
    progress = got["progress"]
    assert progress and progress[-1] == [len(payload), len(payload)]
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)


def test_every_catalogue_model_downloads_from_where_open_clip_says():
    """photoclip finds cached weights without importing open_clip, from the catalogue's own
    repo names: they must stay what open_clip's pretrained configs say."""
    import open_clip

    from photoclip.models import MODELS

    for spec in MODELS.values():
        if spec.is_local_dir:
            assert spec.hf_repo == ""
            continue
        cfg = open_clip.get_pretrained_cfg(spec.arch, spec.pretrained)
        assert cfg, f"open_clip doesn't know {spec.arch} {spec.pretrained}"
        assert spec.hf_repo == cfg["hf_hub"].strip("/"), spec.key


def test_weights_arrive_exactly_and_in_the_models_dtype(twin, tmp_path):
    """The model takes the file's tensors as they are (not a second copy of them), and a
    half-precision file still makes a full-precision model on the CPU."""
    from safetensors.torch import load_file, save_file

    resolved = resolve_weights(get_spec(DEFAULT_MODEL), allow_download=False)
    on_disk = load_file(resolved.path)
    params = twin.model.state_dict()
    assert set(on_disk) <= set(params)
    for key, tensor in on_disk.items():
        assert torch.equal(params[key], tensor), key

    half = tmp_path / "half.safetensors"
    save_file({k: v.half().contiguous() for k, v in on_disk.items()}, str(half))
    del on_disk
    emb = load_embedder(DEFAULT_MODEL, weights=str(half), device="cpu", precision="fp32")
    assert {p.dtype for p in emb.model.parameters()} == {torch.float32}
    probe = ["a red car", "snow on a mountain"]
    np.testing.assert_allclose(emb.encode_text(probe), twin.encode_text(probe), atol=0.02)

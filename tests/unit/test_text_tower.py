"""The numpy text tower exported from a loaded model: the same tokens as open_clip's, the
same vectors as torch's, and a deferred model answers text with it without loading."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from photoclip import text_tower
from photoclip.embedder import DeferredEmbedder, load_embedder

PHRASES = [
    "a red circle", "A BLUE SQUARE on green", "  two   yellow\ttriangles ", "naïve café – 2 €",
    "it's a dog's life, isn't it?", "日本の写真", "x", "",
    "a very long description " * 12,  # longer than the tiny model's 16-token context
    "emoji 🐶🏖️ and &amp; html", "<start_of_text> tokens <end_of_text> in the text",
]  # fmt: skip


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_tokenizer_matches_open_clips(tiny_embedder):
    import open_clip

    theirs = open_clip.get_tokenizer("ViT-B-32")  # 77 tokens: nothing cut
    ours = text_tower.Tokenizer(text_tower._bpe_path(), 77)
    for phrase, mine, row in zip(PHRASES, ours(PHRASES), theirs(PHRASES).tolist(), strict=True):
        assert row[: len(mine)] == mine and not any(row[len(mine) :]), phrase
    short = text_tower.Tokenizer(text_tower._bpe_path(), 16)
    cut = short([PHRASES[8]])[0]
    assert len(cut) == 16 and cut[-1] == short.eot


def test_the_exported_tower_gives_torchs_vectors(cache, tiny_embedder):
    sha = tiny_embedder.identity.weights_sha256
    assert text_tower.load(sha) is None
    assert text_tower.export(tiny_embedder.model, tiny_embedder.tokenizer, sha)
    tower = text_tower.load(sha)
    assert tower is not None
    # The phrases torch embedded at the export (the neutral captions indexing needs) come
    # without reading the tokenizer's vocabulary; a new phrase reads it.
    known = list(tower.known)[:5]
    assert np.allclose(tower.encode(known), tiny_embedder.encode_text(known), atol=1e-5)
    assert "tokenizer" not in vars(tower)
    got, ref = tower.encode(PHRASES), tiny_embedder.encode_text(PHRASES)
    assert "tokenizer" in vars(tower)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert np.sum(got * ref, axis=1).min() >= text_tower.MIN_COSINE
    # The nearest phrase to each phrase is the same under both.
    assert (
        np.argsort(-(got @ got.T), axis=1)[:, 1] == np.argsort(-(ref @ ref.T), axis=1)[:, 1]
    ).all()


def test_many_phrases_are_one_batch_per_length_and_each_keeps_its_vector(cache, tiny_embedder):
    from photoclip.calibration import NEUTRAL_CAPTIONS

    sha = tiny_embedder.identity.weights_sha256
    assert text_tower.export(tiny_embedder.model, tiny_embedder.tokenizer, sha)
    tower = text_tower.load(sha)
    # The export keeps the neutral captions, embedded by torch: read back, not computed.
    assert set(tower.known) == set(NEUTRAL_CAPTIONS)
    known = tower.encode(list(NEUTRAL_CAPTIONS[:5]))
    assert np.allclose(known, tiny_embedder.encode_text(list(NEUTRAL_CAPTIONS[:5])), atol=1e-6)
    tower.known = {}
    # Phrases of many lengths, repeated, in one call (batched per length) or one at a time.
    phrases = [*PHRASES, *PHRASES[:4], *[f"a photo of {n} dogs" for n in range(40)]]
    together = tower.encode(phrases)
    alone = np.stack([tower.encode([p])[0] for p in phrases])
    assert together.shape == (len(phrases), alone.shape[1])
    assert np.sum(together * alone, axis=1).min() >= text_tower.MIN_COSINE
    assert np.sum(together * tiny_embedder.encode_text(phrases), axis=1).min() >= (
        text_tower.MIN_COSINE
    )


def test_a_deferred_model_answers_text_without_loading(cache, tiny_embedder):
    loads = []

    def load():
        loads.append(1)
        return tiny_embedder

    deferred = DeferredEmbedder(tiny_embedder.spec, tiny_embedder.identity, 64, load)
    deferred.encode_text(["a red circle"])  # no export yet: the model loads
    assert loads == [1]
    fresh = load_embedder("tiny-shapes", device="cpu", precision="fp32", allow_download=False)
    assert text_tower.load(fresh.identity.weights_sha256) is not None  # exported by the load
    deferred = DeferredEmbedder(tiny_embedder.spec, tiny_embedder.identity, 64, load)
    vecs = deferred.encode_text(PHRASES[:4])
    assert loads == [1] and not deferred.loaded
    assert np.sum(vecs * tiny_embedder.encode_text(PHRASES[:4]), axis=1).min() >= 0.9999


def test_a_new_phrase_from_the_cli_never_imports_torch(cache, tmp_path, small_shapes_dir):
    lib = str(tmp_path / "lib")
    env_run = [sys.executable, "-m", "photoclip"]
    args = ["--library", lib, "--model", "tiny-shapes"]
    subprocess.run([*env_run, "index", *args, str(small_shapes_dir)], check=True,
                   capture_output=True, env=_env(cache))  # fmt: skip
    probe = (
        "import sys; from photoclip.cli import main; "
        f"rc = main(['search', 'a green triangle never searched', *{args!r}, '--json']); "
        "print('TORCH' if 'torch' in sys.modules else 'NO TORCH', rc)"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True, env=_env(cache)).stdout  # fmt: skip
    assert out.strip().endswith("NO TORCH 0")
    assert '"results"' in out


def _env(cache):
    import os

    return {**os.environ, "XDG_CACHE_HOME": str(cache)}


def test_the_app_gets_a_stand_in_for_weights_loaded_before(cache, tiny_embedder):
    """The app's loader: weights this computer loaded before come back at once as a deferred
    model answering text from the exported tower; the model loads for a photo."""
    from PIL import Image

    from photoclip.embedder import deferred_for

    loads = []

    def load():
        loads.append(1)
        return load_embedder("tiny-shapes", device="cpu", precision="fp32", allow_download=False)

    assert deferred_for("tiny-shapes", None, load) is None  # never loaded here
    load()
    stand_in = deferred_for("tiny-shapes", None, load)
    assert stand_in is not None and not stand_in.loaded
    assert stand_in.identity == tiny_embedder.identity
    text = stand_in.encode_text(["a red circle"])
    assert loads == [1] and not stand_in.loaded
    assert float(text[0] @ tiny_embedder.encode_text(["a red circle"])[0]) >= 0.9999
    stand_in.encode_images([Image.new("RGB", (64, 64), "red")])
    assert loads == [1, 1] and stand_in.loaded


def test_the_torch_text_tower_stops_at_the_end_of_text(tiny_embedder):
    """Embedder.encode_text computes only up to the batch's last end-of-text token: the
    same vectors as open_clip's full 77-position (here 16) pass."""
    import torch

    tokens = tiny_embedder.tokenizer(PHRASES)
    with torch.inference_mode():
        full = tiny_embedder.model.encode_text(tokens)
        trimmed = text_tower.encode_trimmed(tiny_embedder.model, tokens)
    assert trimmed is not None
    assert torch.allclose(full, trimmed, atol=1e-5)
    short = tiny_embedder.tokenizer(["a dog", "x"])
    assert int(short.argmax(-1).max()) + 1 < short.shape[1]  # really trimmed


def test_plain_text_is_tokenized_as_open_clip_does_without_ftfy_or_regex():
    """Printable ASCII skips ftfy and the regex module (50 ms of imports per search
    command); its tokens must be exactly open_clip's, and anything else takes the full way."""
    import random
    import string

    import open_clip

    theirs = open_clip.get_tokenizer("ViT-B-32")
    ours = text_tower.Tokenizer(text_tower._bpe_path(), 77)
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits + " \t\n'.,!?-:;()\"/#%+<>_" * 2
    phrases = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(300)]
    phrases += ["don't stop", "it'll be   OK", "<end_of_text>x", "A1B2", "'s'''t", "a\tb\nc"]
    unusual = ["a\x1cb", "a\x0bb", "a\rb", "Tom &amp; Jerry", "a\x7fb", "café", "a\u00a0b"]
    for phrase in phrases + unusual:
        row = theirs([phrase])[0].tolist()
        mine = ours([phrase])[0]
        assert row[: len(mine)] == mine and not any(row[len(mine) :]), repr(phrase)
    assert all(text_tower._PLAIN.fullmatch(p) for p in phrases)
    assert not any(text_tower._PLAIN.fullmatch(p) for p in unusual)


def test_the_tokenizers_tables_are_kept_beside_the_tower(cache, tiny_embedder):
    """A new phrase in a fresh process reads the kept tables instead of open_clip's 49k
    merges; tables that are damaged or made from another vocabulary file are made again."""
    sha = tiny_embedder.identity.weights_sha256
    assert text_tower.export(tiny_embedder.model, tiny_embedder.tokenizer, sha)
    folder = text_tower.export_dir(sha)
    want = text_tower.Tokenizer(text_tower._bpe_path(), 16)(PHRASES)
    (folder / text_tower.VOCAB).unlink(missing_ok=True)
    assert text_tower.load(sha).tokenizer(PHRASES) == want
    kept = folder / text_tower.VOCAB
    assert kept.is_file()
    stamp = kept.stat().st_mtime_ns
    assert text_tower.load(sha).tokenizer(PHRASES) == want  # from the kept tables
    assert kept.stat().st_mtime_ns == stamp
    # Tables that can't be kept (the temporary file's name taken by a folder: the write
    # fails as on a read-only or full disk) cost only the time.
    kept.unlink()
    blocker = folder / f"{text_tower.VOCAB}.{os.getpid()}.tmp"
    blocker.mkdir()
    assert text_tower.load(sha).tokenizer(PHRASES) == want
    assert not kept.exists()
    blocker.rmdir()
    for damage in ("{not json", '{"source": [1, 2], "ids": {}, "ranks": {}}'):
        kept.write_text(damage, encoding="utf-8")
        assert text_tower.load(sha).tokenizer(PHRASES) == want
        assert json.loads(kept.read_text(encoding="utf-8"))["ranks"]  # made again

"""The image tower without torch: photos made the model's input in Pillow and numpy exactly
as open_clip's transform does, and the int8 onnxruntime export agreeing with fp32 torch."""

from __future__ import annotations

from typing import Any

import numpy as np
import open_clip
import pytest
from PIL import Image
from skimage import data

from photoclip import image_tower, precision
from photoclip.image_tower import CentreTransform


def _photos() -> list[Image.Image]:
    astronaut = Image.fromarray(data.astronaut())  # 512 x 512 RGB
    chelsea = Image.fromarray(data.chelsea())  # 451 x 300 landscape
    return [
        astronaut,
        chelsea,
        chelsea.transpose(Image.Transpose.ROTATE_90),  # portrait
        Image.fromarray(data.camera()),  # greyscale ("L")
        astronaut.convert("RGBA").resize((333, 517)),
        chelsea.convert("P"),
        chelsea.resize((700, 3)),  # a strip, narrower than the model's input
        astronaut.resize((256, 256)),  # already the input's size: no resize at all
    ]


@pytest.mark.parametrize("size", [256, 64])
def test_numpy_input_is_open_clips_transform(size):
    mean, std = open_clip.OPENAI_DATASET_MEAN, open_clip.OPENAI_DATASET_STD
    theirs = open_clip.image_transform(size, is_train=False, mean=mean, std=std)
    ours = CentreTransform(size, mean, std)
    for photo in _photos():
        a, b = ours(photo), theirs(photo).numpy()
        assert a.dtype == np.float32 and a.shape == b.shape == (3, size, size)
        assert float(np.max(np.abs(a - b))) < 1e-5, photo.size


def test_only_a_transform_it_reproduces_is_taken():
    cfg = {"size": (256, 256), "mean": (0.5,) * 3, "std": (0.5,) * 3}
    assert CentreTransform.from_config(cfg).size == 256
    assert CentreTransform.from_config({**cfg, "resize_mode": "squash"}) is None
    assert CentreTransform.from_config({**cfg, "interpolation": "bilinear"}) is None
    assert CentreTransform.from_config({**cfg, "size": (256, 192)}) is None


def test_the_int8_export_agrees_with_fp32_torch(tiny_embedder, small_shapes_dir, tmp_path,
                                                monkeypatch):  # fmt: skip
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    model = tiny_embedder.model
    sha = "f" * 64
    cfg = open_clip.get_model_preprocess_cfg(model)
    assert image_tower.load(sha) is None
    assert image_tower.export(model, cfg, tiny_embedder.preprocess.centre, sha)
    assert (image_tower.export_dir(sha) / "model.onnx").stat().st_size > 0
    assert not list(image_tower.export_dir(sha).glob("*.tmp"))
    tower = image_tower.load(sha)
    assert tower is not None

    photos = [Image.open(p).convert("RGB") for p in sorted(small_shapes_dir.rglob("*.jpg"))]
    reference = tiny_embedder.encode_images(photos)  # fp32 torch, open_clip's transform
    ours = tower.encode(np.stack([tower.centre(p) for p in photos]), threads=2)
    cosines = np.sum(reference * ours, axis=1)
    assert ours.shape == reference.shape and np.allclose(np.linalg.norm(ours, axis=1), 1)
    assert float(cosines.mean()) >= precision.MIN_COSINE, cosines.mean()
    assert precision.same_neighbours(reference, ours)
    # On more threads, the batch is split between them, each part one run of the graph:
    # every photo keeps its place. (Activations are quantised per run, so another split
    # gives a photo nearly, not exactly, the same vector.)
    seven = np.stack([tower.centre(p) for p in photos[:7]])
    alone = tower.encode(seven, threads=1)
    split = tower.encode(seven, threads=3)
    assert split.shape == alone.shape == (7, reference.shape[1])
    assert float(np.min(np.sum(split * alone, axis=1))) >= precision.MIN_COSINE
    assert np.array_equal(np.argmax(split @ alone.T, axis=1), np.arange(7))
    one = seven[:1]  # one photo, on any number of threads: one run
    assert np.array_equal(tower.encode(one, threads=4), tower.encode(one, threads=1))

    # A damaged graph (a disk that filled while it was written) is refused when it loads,
    # not met by the first batch of photos: torch runs them instead.
    graph = image_tower.export_dir(sha) / "model.onnx"
    graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 2])
    assert image_tower.load(sha) is None


def test_an_export_it_cant_trust_is_not_used(tiny_embedder, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cfg = open_clip.get_model_preprocess_cfg(tiny_embedder.model)
    # A transform the numpy input doesn't reproduce: nothing is exported at all.
    other = open_clip.image_transform(
        tiny_embedder.image_size, is_train=False, resize_mode="squash"
    )
    assert not image_tower.export(tiny_embedder.model, cfg, other, "e" * 64)
    assert not image_tower.export_dir("e" * 64).exists()
    # An unreadable export: ignored (logged), and torch runs the photos.
    unreadable = image_tower.export_dir("d" * 64)
    unreadable.mkdir(parents=True)
    (unreadable / "meta.json").write_text("{not json", encoding="utf-8")
    assert image_tower.load("d" * 64) is None


def test_a_model_loaded_at_onnx_int8_lets_torchs_go(tiny_embedder, small_shapes_dir, tmp_path,
                                                    monkeypatch):  # fmt: skip
    from photoclip.embedder import load_embedder

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    loaded = load_embedder("tiny-shapes", device="cpu", precision="onnx-int8")
    assert isinstance(loaded, image_tower.OnnxEmbedder)  # both towers exported: no torch model
    assert loaded.identity == tiny_embedder.identity and loaded.precision == "onnx-int8"
    photos = [Image.open(p).convert("RGB") for p in sorted(small_shapes_dir.rglob("*.jpg"))]
    cosines = np.sum(loaded.encode_images(photos) * tiny_embedder.encode_images(photos), axis=1)
    assert float(cosines.mean()) >= precision.MIN_COSINE
    phrases = ["a red circle", "two blue squares"]
    text = np.sum(loaded.encode_text(phrases) * tiny_embedder.encode_text(phrases), axis=1)
    assert float(text.min()) >= 0.99999


@pytest.mark.parametrize("batch_first", [True, False])
def test_attention_is_exported_as_three_projections_with_the_same_result(batch_first):
    import torch

    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(64, 4, batch_first=batch_first).eval()
    x = torch.randn(3, 9, 64) if batch_first else torch.randn(9, 3, 64)
    assert image_tower._SplitAttention.applies(mha)
    split = image_tower._SplitAttention.make(mha)
    with torch.no_grad():
        want = mha(x, x, x, need_weights=False)[0]
        got = split(x, x, x, need_weights=False)[0]
    assert got.shape == want.shape and torch.allclose(got, want, atol=1e-5)
    # Only plain self-attention is rewritten; anything else is left to PyTorch's module.
    assert not image_tower._SplitAttention.applies(torch.nn.MultiheadAttention(64, 4, kdim=32))
    assert not image_tower._SplitAttention.applies(
        torch.nn.MultiheadAttention(64, 4, add_bias_kv=True)
    )
    with pytest.raises(NotImplementedError):
        split(x, x, x, attn_mask=torch.zeros(9, 9))


def _tiny_vit() -> Any:
    """A small ViT CLIP with random weights: the tower kind every default model is."""
    import torch

    torch.manual_seed(0)
    vision = {"image_size": 64, "patch_size": 16, "width": 64, "layers": 2, "head_width": 16}
    text = {"context_length": 16, "vocab_size": 1000, "width": 32, "heads": 2, "layers": 1}
    return open_clip.model.CLIP(32, vision, text).eval()


def test_the_export_leaves_the_model_as_it_was_and_replaces_old_formats(tmp_path, monkeypatch):
    import onnx
    import torch

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    model, sha = _tiny_vit(), "c" * 64
    before = [type(m).__name__ for m in model.visual.modules()]
    assert "MultiheadAttention" in before
    old = image_tower.export_dir(sha).with_name(f"{sha[:32]}-v1")  # an earlier format's
    old.mkdir(parents=True)
    (old / "model.onnx").write_bytes(b"an old graph")
    mean, std = open_clip.OPENAI_DATASET_MEAN, open_clip.OPENAI_DATASET_STD
    cfg = {"size": 64, "mean": mean, "std": std, "interpolation": "bicubic"}
    transform = open_clip.image_transform(64, is_train=False, mean=mean, std=std)
    assert image_tower.export(model, cfg, transform, sha)
    assert [type(m).__name__ for m in model.visual.modules()] == before  # torch's, as it was
    assert not old.exists()  # never read again: not left to fill the disk
    graph = onnx.load(str(image_tower.export_dir(sha) / "model.onnx"))
    ops = [node.op_type for node in graph.graph.node]
    # No convolution (onnxruntime's int8 one is slow): the patch embedding is a matrix
    # product too, and all are int8, q, k and v each its own: the patches, 2 blocks x 6, and
    # the projection. The input is the photo's pixels as they are.
    assert "Conv" not in ops and "ConvInteger" not in ops
    assert ops.count("MatMulInteger") == 1 + 2 * 6 + 1, ops
    assert graph.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8
    # Sequence first, in the graph onnxruntime runs, each block's attention keeps one
    # transpose (of its heads' output): the others are folded into its matrix products.
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimised.onnx")
    ort.InferenceSession(str(image_tower.export_dir(sha) / "model.onnx"), options,
                         providers=["CPUExecutionProvider"])  # fmt: skip
    optimised = onnx.load(options.optimized_model_filepath).graph.node
    attention = [n for n in optimised if n.op_type == "Transpose" and "/attn/" in n.name]
    assert len(attention) == 2, [n.name for n in attention]
    photos = [Image.fromarray(a) for a in (data.astronaut(), data.chelsea(), data.coffee())]
    with torch.no_grad():
        want = model.encode_image(torch.stack([transform(p) for p in photos]), normalize=True)
    tower = image_tower.load(sha)
    got = tower.encode(np.stack([tower.centre.pixels(p) for p in photos]), threads=1)
    assert float(np.min(np.sum(got * want.numpy(), axis=1))) >= precision.MIN_COSINE
    # open_clip's normalised input (what torch's transform gives, as in the precision probe)
    # is taken back to the same pixels: the same vectors.
    normalised = np.stack([transform(p).numpy() for p in photos])
    assert np.array_equal(tower.centre.to_pixels(normalised),
                          np.stack([tower.centre.pixels(p) for p in photos]))  # fmt: skip
    assert np.array_equal(tower.encode(normalised, threads=1), got)


@pytest.mark.parametrize("pool", ["tok", "avg"])
def test_the_export_form_computes_only_what_the_vector_needs(pool):
    """Inside the export, the module takes uint8 pixels, its patch embedding is one matrix
    product with open_clip's normalisation folded in, attention is three projections and,
    where the vector is the class token's, the last block computes only that token: the
    same vectors as open_clip's input through torch's model, which is restored after."""
    import torch

    model = _tiny_vit()
    visual = model.visual
    visual.pool_type = pool
    mean, std = open_clip.OPENAI_DATASET_MEAN, open_clip.OPENAI_DATASET_STD
    centre = CentreTransform(64, mean, std)
    transform = open_clip.image_transform(64, is_train=False, mean=mean, std=std)
    photos = [Image.fromarray(a) for a in (data.astronaut(), data.chelsea(), data.coffee())]
    pixels = torch.from_numpy(np.stack([centre.pixels(p) for p in photos]))
    with torch.no_grad():
        want = visual(torch.stack([transform(p) for p in photos]))
        blocks = visual.transformer.resblocks
        originals = list(blocks)
        stem = visual.conv1
        with image_tower._export_form(visual, centre) as exported:
            kinds = [type(b).__name__ for b in blocks]
            got = exported(pixels)
            attention = [type(b.attn).__name__ for b in originals]
            patches = type(visual.conv1).__name__
            sequence_first = not visual.transformer.batch_first
        assert torch.allclose(got, want, atol=1e-4)
        assert attention == ["Split", "Split"] and patches == "Patches" and sequence_first
        assert visual.transformer.batch_first
        # avg pooling needs every token's output: the last block stays whole.
        assert kinds == (["ResidualAttentionBlock", "ClsOnly"] if pool == "tok" else
                         ["ResidualAttentionBlock"] * 2)  # fmt: skip
        assert list(blocks) == originals and visual.conv1 is stem
        assert all(type(b.attn).__name__ == "MultiheadAttention" for b in blocks)
        assert torch.equal(visual(torch.stack([transform(p) for p in photos])), want)


def test_a_rewrite_that_doesnt_fit_the_tower_is_left_out(monkeypatch):
    """A tower built otherwise than a rewrite expects (here: a patch embedding that fails)
    is exported without that rewrite, with the others, and gives open_clip's vectors."""
    import torch

    class Broken(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("shape mismatch")

    monkeypatch.setattr(image_tower, "_patches", lambda *a: Broken())
    model = _tiny_vit()
    visual = model.visual
    mean, std = open_clip.OPENAI_DATASET_MEAN, open_clip.OPENAI_DATASET_STD
    centre = CentreTransform(64, mean, std)
    transform = open_clip.image_transform(64, is_train=False, mean=mean, std=std)
    photos = [Image.fromarray(a) for a in (data.astronaut(), data.chelsea())]
    with torch.no_grad():
        want = visual(torch.stack([transform(p) for p in photos]))
        with image_tower._export_form(visual, centre) as exported:
            got = exported(torch.from_numpy(np.stack([centre.pixels(p) for p in photos])))
            assert type(visual.conv1).__name__ == "Conv2d"  # left as it was
            assert type(visual.transformer.resblocks[-1]).__name__ == "ClsOnly"
    assert torch.allclose(got, want, atol=1e-4)

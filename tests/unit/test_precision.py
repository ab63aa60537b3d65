"""The precision probe, through the real loader and the tiny trained model: what it chooses
keeps fp32's vectors, is cached per weights and machine, and never changes the identity."""

from __future__ import annotations

import numpy as np
import pytest

from photoclip import precision
from photoclip.embedder import load_embedder
from photoclip.imaging import decode_photo


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "photoclip" / precision.CACHE_NAME


def _photos(small_shapes_dir, embedder, n=24):
    paths = sorted(small_shapes_dir.rglob("*.jpg"))[:n]
    assert len(paths) >= 12
    return [decode_photo(str(p), embedder.image_size).image for p in paths]


@pytest.mark.parametrize("chosen", ["int8", "bf16"])
def test_a_precision_keeps_the_identity_and_fp32s_vectors(tiny_embedder, small_shapes_dir, chosen):
    other = load_embedder("tiny-shapes", device="cpu", precision=chosen, allow_download=False)
    assert other.precision == chosen and other.precision_choice.source == "your choice"
    assert other.identity == tiny_embedder.identity  # one model identity, any precision
    photos = _photos(small_shapes_dir, tiny_embedder)
    ref, got = tiny_embedder.encode_images(photos), other.encode_images(photos)
    cosines = np.sum(ref * got, axis=1)
    assert cosines.mean() >= precision.MIN_COSINE, cosines
    phrases = ["a red circle", "a blue square on green", "a yellow triangle"]
    text_cos = np.sum(tiny_embedder.encode_text(phrases) * other.encode_text(phrases), axis=1)
    assert text_cos.min() >= precision.MIN_COSINE, text_cos


def test_auto_measures_once_then_reads_the_cache(cache, tiny_embedder, small_shapes_dir):
    first = load_embedder("tiny-shapes", device="cpu", allow_download=False)
    choice = first.precision_choice
    assert choice.source == "measured"
    assert "fp32" in choice.rates and choice.precision in choice.rates
    assert choice.precision == "fp32"  # tiny-shapes is too fast for a timing to tell
    assert choice.precision not in choice.rejected
    assert first.identity == tiny_embedder.identity
    assert cache.is_file()
    again = load_embedder("tiny-shapes", device="cpu", allow_download=False)
    assert again.precision_choice.source == "measured earlier"
    assert again.precision == first.precision
    assert again.precision_choice.rates == choice.rates
    photos = _photos(small_shapes_dir, tiny_embedder)
    cosines = np.sum(tiny_embedder.encode_images(photos) * again.encode_images(photos), axis=1)
    assert cosines.mean() >= precision.MIN_COSINE


def test_the_cache_is_per_weights_and_machine(cache, monkeypatch):
    choice = precision.PrecisionChoice("int8", "measured", rates={"int8": 9.0, "fp32": 6.0})
    precision.save_choice("a" * 64, choice)
    assert precision.cached_choice("a" * 64, "cpu").precision == "int8"
    assert precision.cached_choice("b" * 64, "cpu") is None  # other weights
    assert precision.cached_choice("a" * 64, "cuda") is None  # other device
    monkeypatch.setattr(precision, "torch_version", lambda: "9.9.9")
    assert precision.cached_choice("a" * 64, "cpu") is None  # another torch: measure again


def test_a_damaged_cache_means_measuring_again(cache):
    cache.parent.mkdir(parents=True)
    cache.write_text("{ not json")
    assert precision.cached_choice("a" * 64, "cpu") is None
    precision.save_choice("a" * 64, precision.PrecisionChoice("fp32", "measured"))
    assert precision.cached_choice("a" * 64, "cpu").precision == "fp32"


def test_the_neighbour_check_tells_a_good_copy_from_a_bad_one(tiny_embedder, small_shapes_dir):
    vecs = tiny_embedder.encode_images(_photos(small_shapes_dir, tiny_embedder))
    assert precision.same_neighbours(vecs, vecs.copy())
    rng = np.random.default_rng(0)
    noisy = vecs + rng.normal(0, 0.08, vecs.shape).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    assert not precision.same_neighbours(vecs, noisy)


def test_the_probe_leaves_the_model_at_its_choice():
    import open_clip

    model = _small_vit()
    tokenizer = open_clip.get_tokenizer("ViT-B-32")
    choice = precision.probe(model, _to_tensor, lambda texts: tokenizer(texts, context_length=16),
                             64, "cpu", ["fp32", "int8"])  # fmt: skip
    assert set(choice.rates) == {"fp32", "int8"}  # both ran; a rejected one isn't chosen
    assert choice.precision not in choice.rejected
    assert "int8" not in choice.rejected, choice.rejected  # its vectors pass the check
    int8_layers = [m for m in model.modules() if type(m).__name__ == "Int8Linear"]
    assert bool(int8_layers) == (choice.precision == "int8")


def test_status_says_which_precision_and_why(cache, tmp_path, small_shapes_dir, capsys):
    from photoclip.cli import main

    lib = str(tmp_path / "lib")
    assert main(["index", "--library", lib, "--model", "tiny-shapes", str(small_shapes_dir)]) == 0
    capsys.readouterr()
    assert main(["status", "--library", lib, "--model", "tiny-shapes"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("Precision:"))
    assert "measured" in line and "photos/s" in line
    assert main(["status", "--library", lib, "--model", "tiny-shapes", "--precision", "int8"]) == 0
    assert "int8 (your choice)" in capsys.readouterr().out


def test_settings_and_status_read_the_choice_without_torch(cache):
    assert precision.describe_for("tiny-shapes") == "measured the first time the model loads"
    loaded = load_embedder("tiny-shapes", device="cpu", allow_download=False)
    said = precision.describe_for("tiny-shapes")
    assert said.startswith(loaded.precision + " (measured earlier on this machine")


def test_int8_quantises_a_vit_image_tower_and_keeps_its_vectors():
    """A small ViT CLIP (random weights, the default model's architecture in miniature):
    int8 reaches its Linear layers and its self-attention, and its vectors stay at fp32's."""
    import open_clip
    import torch

    model = _small_vit()
    images = torch.stack([_to_tensor(im) for im in precision.calibration_images(64)])
    tokens = open_clip.get_tokenizer("ViT-B-32")(["a red circle", "a dog"], context_length=16)
    with torch.inference_mode():
        ref_img, ref_txt = model.encode_image(images), model.encode_text(tokens)
    swapped = precision.quantize_int8(precision.image_tower(model))
    kinds = {type(m).__name__ for m in model.visual.modules()}
    assert {"Int8Linear", "Int8SelfAttention"} <= kinds
    assert "MultiheadAttention" not in kinds and "Linear" not in kinds
    with torch.inference_mode():
        img, txt = model.encode_image(images), model.encode_text(tokens)
    cos = torch.nn.functional.cosine_similarity(img, ref_img).mean().item()
    assert precision.MIN_COSINE <= cos < 1.0  # quantised, and still fp32's vectors
    assert torch.equal(txt, ref_txt)  # the text tower stays fp32
    precision.restore_linears(swapped)
    with torch.inference_mode():
        assert torch.equal(model.encode_image(images), ref_img)


def _small_vit():
    import open_clip
    import torch

    torch.manual_seed(0)
    return open_clip.CLIP(
        embed_dim=64,
        vision_cfg={"image_size": 64, "layers": 3, "width": 128, "patch_size": 16},
        text_cfg={"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 4,
                  "layers": 2},
    ).eval()  # fmt: skip


def _to_tensor(image):
    import torch

    return torch.from_numpy(np.asarray(image, np.float32) / 255.0).permute(2, 0, 1)


def test_onnx_int8_kept_below_another_says_why():
    kept = precision.PrecisionChoice(
        "onnx-int8", "measured", rates={"int8": 70.0, "onnx-int8": 58.3}
    )
    assert "kept unless another is 1.5x faster: it starts without torch" in kept.describe()
    fastest = precision.PrecisionChoice(
        "onnx-int8", "measured", rates={"int8": 50.0, "onnx-int8": 58.3}
    )
    assert "kept unless" not in fastest.describe()


def test_the_command_line_offers_every_precision():
    from photoclip.cli import build_parser

    parser = build_parser()
    actions = [a for a in parser._actions if "--precision" in a.option_strings]
    if not actions:  # on the subcommands' shared parent
        sub = next(a for a in parser._actions if a.dest == "command")
        actions = [a for p in sub.choices.values() for a in p._actions
                   if "--precision" in a.option_strings]  # fmt: skip
    assert actions and all(tuple(a.choices) == precision.PRECISIONS for a in actions)

"""CLIP's image tower in onnxruntime at int8, so that indexing needs neither torch nor
open_clip once a model has been loaded on this computer.

When a model is loaded with torch, its image tower is exported once into the cache folder:
``torch.onnx`` writes the fp32 graph of the user's own weights, and onnxruntime's dynamic
quantisation makes its matrix products int8 (weights per tensor, activations per batch).
The precision probe (``photoclip.precision``) then times it beside torch's precisions and
checks its vectors against fp32's like theirs; only where it wins does it become the
model's precision ("onnx-int8"). From then on a run with photos to embed loads onnxruntime
and the int8 graph (a fraction of a second) instead of importing torch and open_clip and
reading the fp32 weights (seconds), and makes each photo the model's input with Pillow and
numpy exactly as open_clip's transform does (checked on the export's calibration photos).

Why onnxruntime's quantisation rather than ``torch.ao``'s: torch.ao.quantization is
deprecated in favour of torchao, while onnxruntime's dynamic quantisation is its supported
CPU int8 path. The export uses torch.onnx's TorchScript exporter (``dynamo=False``), which
needs no extra package; were a future torch to drop it, the export fails, is logged, and the
model simply keeps running in torch."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from .embedder import PhotosAndPhrases, default_threads, model_threads, unit_rows
from .models import ModelIdentity, ModelSpec

log = logging.getLogger(__name__)

# v2: the patch embedding stays fp32 and attention is exported as three projections; v3: the
# last block computes only the class token; v4: uint8 pixels in, the patch embedding int8;
# v5: the blocks sequence first (README "Performance"). An export of another format is
# replaced, not reused.
FORMAT = 5
PRECISION = "onnx-int8"
MAX_PIXEL_ERROR = 1e-4  # numpy's input against open_clip's transform (the same arithmetic)


def export_dir(weights_sha256: str, cache: Path | None = None) -> Path:
    from .precision import cache_dir

    return (cache or cache_dir()) / "image" / f"{weights_sha256[:32]}-v{FORMAT}"


def available() -> bool:
    """onnxruntime (to run the graph) and onnx (to quantise it) are installed."""
    return find_spec("onnxruntime") is not None and find_spec("onnx") is not None


# -- the model's input without torch -------------------------------------------------------


class CentreTransform:
    """open_clip's eval transform for a "shortest" resize (resize the short side to ``size``
    with bicubic, cut the centre square, RGB, scale to 0..1, normalise) in Pillow and numpy:
    photo (PIL) -> CHW float32 array."""

    def __init__(self, size: int, mean: Sequence[float], std: Sequence[float]) -> None:
        self.size = int(size)
        self.mean = np.asarray(mean, np.float32)[:, None, None]
        self.std = np.asarray(std, np.float32)[:, None, None]

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> CentreTransform | None:
        """From ``open_clip.get_model_preprocess_cfg``; None for a transform this class
        doesn't reproduce (another resize or interpolation)."""
        size = cfg.get("size")
        size = size[0] if isinstance(size, (list, tuple)) and len(set(size)) == 1 else size
        if not isinstance(size, int) or cfg.get("resize_mode", "shortest") != "shortest":
            return None
        if cfg.get("interpolation", "bicubic") != "bicubic":
            return None
        return cls(size, cfg["mean"], cfg["std"])

    def pixels(self, image: Any) -> np.ndarray:
        """The square the model sees, as uint8 pixels (HWC): the exported tower's input."""
        from .imaging import centre_resize

        s = self.size
        image = centre_resize(image, s)  # torchvision's Resize(int)
        nw, nh = image.size
        left, top = round((nw - s) / 2.0), round((nh - s) / 2.0)  # torchvision's CenterCrop
        image = image.crop((left, top, left + s, top + s))
        if image.mode != "RGB":
            image = image.convert("RGB")
        return np.asarray(image, np.uint8)

    def __call__(self, image: Any) -> np.ndarray:
        """open_clip's input: CHW float32, normalised."""
        x = self.pixels(image).transpose(2, 0, 1).astype(np.float32) / np.float32(255)
        return np.ascontiguousarray((x - self.mean) / self.std)

    def to_pixels(self, batch: np.ndarray) -> np.ndarray:
        """open_clip's normalised NCHW input back to the uint8 NHWC pixels it was made from
        (exactly: each value is a pixel over 255, shifted and scaled)."""
        x = (np.asarray(batch, np.float64) * self.std + self.mean) * 255.0
        return np.ascontiguousarray(
            np.clip(np.rint(x), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
        )


# -- export --------------------------------------------------------------------------------


def export(model: Any, cfg: dict[str, Any], torch_preprocess: Any, weights_sha256: str) -> bool:
    """Write ``model``'s image tower (an fp32 open_clip CLIP) as an int8 onnxruntime graph,
    once; True when an export is there now. ``cfg`` is open_clip's preprocess config and
    ``torch_preprocess`` its transform, which the numpy one must match."""
    folder = export_dir(weights_sha256)
    if (folder / "meta.json").is_file():
        return True
    if not available():
        return False
    centre = CentreTransform.from_config(cfg)
    if centre is None or not _same_input(centre, torch_preprocess):
        log.info("The image tower stays with torch: its input isn't reproduced without it")
        return False
    tmp = folder.with_name(folder.name + f".{os.getpid()}.tmp")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        _write_int8(model.visual, centre, tmp)
        meta = {
            "format": FORMAT,
            "size": centre.size,
            "mean": [float(v) for v in centre.mean.ravel()],
            "std": [float(v) for v in centre.std.ravel()],
        }
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
        _forget_other_formats(folder)
        return True
    except Exception as exc:  # a graph the exporter can't write, a full disk: torch it is
        log.info("The image tower stays with torch: %s: %s", type(exc).__name__, exc)
        shutil.rmtree(tmp, ignore_errors=True)
        return False


def _same_input(centre: CentreTransform, torch_preprocess: Any) -> bool:
    from PIL import Image

    from .precision import calibration_images

    photos = calibration_images(centre.size * 2, 3)
    photos += [photos[0].resize((300, 700)), photos[1].convert("L").resize((901, 402))]
    photos += [Image.new("RGBA", (centre.size, centre.size), (10, 200, 30, 128))]
    for photo in photos:
        ours, theirs = centre(photo), torch_preprocess(photo).numpy()
        if ours.shape != theirs.shape or float(np.max(np.abs(ours - theirs))) > MAX_PIXEL_ERROR:
            return False
    return True


def _forget_other_formats(folder: Path) -> None:
    """Remove this model's exports of other formats (they are never read again)."""
    stem = folder.name.rsplit("-v", 1)[0]
    for other in folder.parent.glob(f"{stem}-v*"):
        if other != folder and other.is_dir() and not other.name.endswith(".tmp"):
            shutil.rmtree(other, ignore_errors=True)


class _SplitAttention:
    """``nn.MultiheadAttention``'s arithmetic written as open three projections (q, k, v)
    with plain reshapes, for the export only. Traced, PyTorch's own module becomes a tangle
    of 5-D transposes, gathers and shape arithmetic around one packed projection that cost
    onnxruntime about a fifth of the tower's time (README "Performance"); here each
    projection is quantised as its own matrix product, the queries' scale is folded into
    theirs, and sequence first (``sequence_first``) the heads need one transpose, of their
    output: onnxruntime folds the others into its matrix products, where batch first they
    took 6 % of the tower's time. The query may be fewer tokens than the keys
    (``_ClsOnlyBlock``)."""

    @staticmethod
    def applies(module: Any) -> bool:
        import torch

        return (
            isinstance(module, torch.nn.MultiheadAttention)
            and module._qkv_same_embed_dim
            and module.in_proj_weight is not None
            and module.bias_k is None
            and module.bias_v is None
            and not module.add_zero_attn
            and module.embed_dim % module.num_heads == 0
        )

    @staticmethod
    def make(mha: Any) -> Any:
        import math

        import torch

        class Split(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                e = mha.embed_dim
                self.heads, self.batch_first = mha.num_heads, mha.batch_first
                self.scale = 1.0 / math.sqrt(e // mha.num_heads)
                bias = mha.in_proj_bias
                self.q, self.k, self.v = (torch.nn.Linear(e, e, bias=bias is not None)
                                          for _ in range(3))  # fmt: skip
                for i, lin in enumerate((self.q, self.k, self.v)):
                    lin.weight.data = mha.in_proj_weight.data[i * e : (i + 1) * e].clone()
                    if bias is not None:
                        lin.bias.data = bias.data[i * e : (i + 1) * e].clone()
                # the queries' scale, folded into their projection
                self.q.weight.data *= self.scale
                if bias is not None:
                    self.q.bias.data *= self.scale
                self.out = mha.out_proj

            def forward(self, query: Any, key: Any, value: Any, need_weights: bool = False,
                        attn_mask: Any = None) -> tuple[Any, None]:  # fmt: skip
                if attn_mask is not None or value is not key:
                    raise NotImplementedError("only unmasked attention to one sequence")
                if not self.batch_first:
                    return self.sequence_first(query, key), None
                n, length, e = query.shape  # N, L, E

                def heads(t: Any) -> Any:  # N, H, L, D
                    return t.reshape(n, t.shape[1], self.heads, -1).permute(0, 2, 1, 3)

                q, k, v = heads(self.q(query)), heads(self.k(key)), heads(self.v(key))
                a = torch.softmax(torch.matmul(q, k.transpose(-1, -2)), dim=-1)
                out = self.out(torch.matmul(a, v).permute(0, 2, 1, 3).reshape(n, length, e))
                return out, None

            def sequence_first(self, query: Any, key: Any) -> Any:  # (L, N, E) in and out
                lq, n, e = query.shape
                length, nh = key.shape[0], n * self.heads
                q = self.q(query).reshape(lq, nh, -1).transpose(0, 1)  # NH, Lq, D
                k = self.k(key).reshape(length, nh, -1).permute(1, 2, 0)  # NH, D, L
                v = self.v(key).reshape(length, nh, -1).transpose(0, 1)  # NH, L, D
                a = torch.softmax(torch.matmul(q, k), dim=-1)
                return self.out(torch.matmul(a, v).transpose(0, 1).reshape(lq, n, e))

        return Split().eval()


class _ClsOnlyBlock:
    """The last transformer block of a tower whose vector is its class token's: only that
    token's output is kept, so only its query, attention, projection and MLP are computed
    (the keys and values still come from every token). The same numbers, about 6 % of a
    ViT-B/32's arithmetic less (12 blocks, 65 tokens)."""

    @staticmethod
    def applies(visual: Any) -> bool:
        blocks = getattr(getattr(visual, "transformer", None), "resblocks", None)
        if not blocks or getattr(visual, "attn_pool", None) is not None:
            return False
        if getattr(visual, "pool_type", None) != "tok" or getattr(visual, "output_tokens", 1):
            return False
        last = blocks[-1]
        parts = ("ln_1", "attn", "ls_1", "ln_2", "mlp", "ls_2")
        return all(hasattr(last, a) for a in parts) and not hasattr(last, "ln_1_kv")

    @staticmethod
    def make(block: Any, transformer: Any) -> Any:
        import torch

        class ClsOnly(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.block = block

            def forward(self, x: Any, k_x: Any = None, v_x: Any = None,
                        attn_mask: Any = None) -> Any:  # fmt: skip
                if attn_mask is not None or k_x is not None or v_x is not None:
                    raise NotImplementedError("only the plain self-attention block")
                b = self.block
                # (the layout it is traced in: _export_rewrites may make it sequence first)
                batch_first = getattr(transformer, "batch_first", True)
                cls = x[:, :1] if batch_first else x[:1]
                h = b.ln_1(x)
                q = h[:, :1] if batch_first else h[:1]
                y = cls + b.ls_1(b.attn(q, h, h, need_weights=False)[0])
                return y + b.ls_2(b.mlp(b.ln_2(y)))

        return ClsOnly().eval()


class _Pixels:
    """The module exported: uint8 pixels (N, H, W, 3) in, the tower's vectors out. It
    normalises them as open_clip's transform does (``normalise``), or, where the patch
    embedding has been folded (``_patches``), hands their values straight to it."""

    @staticmethod
    def make(visual: Any, mean: np.ndarray, std: np.ndarray) -> Any:
        import torch

        class Normalise(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.register_buffer(
                    "mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
                )
                self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

            def forward(self, pixels: Any) -> Any:
                # ToTensor's x / 255, then Normalize's (x - mean) / std, in float32.
                return (pixels.permute(0, 3, 1, 2).float() / 255.0 - self.mean) / self.std

        class Pixels(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.normalise: Any = Normalise()
                self.visual = visual

            def forward(self, pixels: Any) -> Any:
                return self.visual(self.normalise(pixels))

        return Pixels().eval()


class _AsValues:
    """Pixels handed on as their values (float, NHWC): the folded patch embedding's input."""

    @staticmethod
    def make() -> Any:
        import torch

        class AsValues(torch.nn.Module):
            def forward(self, pixels: Any) -> Any:
                return pixels.float()

        return AsValues()


def _patches(visual: Any, mean: np.ndarray, std: np.ndarray) -> Any | None:
    """A ViT's patch embedding (a convolution with stride = kernel) as one matrix product
    over each patch's pixel values (NHWC), open_clip's normalisation folded into its weights
    and bias; None for another stem. A matrix product is quantised to int8 with the others,
    and its input, pixel values 0-255, is uint8 as it is: the convolution in fp32 was 7 % of
    the tower's time, and the normalisation and float copies of every photo's input went."""
    import torch

    conv = getattr(visual, "conv1", None)
    if not isinstance(conv, torch.nn.Conv2d) or conv.in_channels != 3 or conv.groups != 1:
        return None
    k = conv.kernel_size
    if k[0] != k[1] or tuple(conv.stride) != tuple(k) or tuple(conv.padding) != (0, 0):
        return None
    if tuple(conv.dilation) != (1, 1) or conv.padding_mode != "zeros":
        return None
    p, out = k[0], conv.out_channels
    w = conv.weight.detach().double()
    scale = torch.tensor(1.0 / (255.0 * std), dtype=torch.float64).view(1, 3, 1, 1)
    shift = torch.tensor(-mean / std, dtype=torch.float64).view(1, 3, 1, 1)
    bias = (w * shift).sum(dim=(1, 2, 3))
    if conv.bias is not None:
        bias = bias + conv.bias.detach().double()
    weight = (w * scale).permute(0, 2, 3, 1).reshape(out, p * p * 3)  # rows: (kh, kw, c)

    class Patches(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = torch.nn.Linear(p * p * 3, out)
            self.proj.weight.data = weight.float()
            self.proj.bias.data = bias.float()

        def forward(self, x: Any) -> Any:  # N, H, W, 3 pixel values -> N, out, H/p, W/p
            n, h, w_, c = x.shape
            x = x.reshape(n, h // p, p, w_ // p, p, c).permute(0, 1, 3, 2, 4, 5)
            y = self.proj(x.reshape(n, (h // p) * (w_ // p), p * p * c))
            return y.permute(0, 2, 1).reshape(n, out, h // p, w_ // p)

    return Patches().eval()


def _export_rewrites(
    visual: Any, pixels: Any, mean: np.ndarray, std: np.ndarray
) -> list[list[tuple[Any, str, Any]]]:
    """The rewrites for the export, each a list of (parent, name, new module)."""
    split = [(parent, name, _SplitAttention.make(child))
             for parent in visual.modules() for name, child in parent.named_children()
             if _SplitAttention.applies(child)]  # fmt: skip
    rewrites = [split] if split else []
    transformer = getattr(visual, "transformer", None)
    if split and getattr(transformer, "batch_first", False):
        # The blocks run sequence first (L, N, E), as open_clip's transformer can: then each
        # head's queries, keys and values are plain reshapes of a projection, and the
        # transposes left are ones onnxruntime folds into its matrix products
        # (_SplitAttention's sequence_first).
        first = [(transformer, "batch_first", False)]
        rewrites.append(first + [(split_, "batch_first", False) for _, _, split_ in split])
    if _ClsOnlyBlock.applies(visual):
        blocks = visual.transformer.resblocks
        last = _ClsOnlyBlock.make(blocks[-1], visual.transformer)
        rewrites.append([(blocks, str(len(blocks) - 1), last)])
    patches = _patches(visual, mean, std)
    if patches is not None:
        rewrites.append([(visual, "conv1", patches), (pixels, "normalise", _AsValues.make())])
    return rewrites


@contextlib.contextmanager
def _export_form(visual: Any, centre: CentreTransform) -> Iterator[Any]:
    """Within: the module to export (``_Pixels``: uint8 pixels in) over ``visual``
    rewritten for a faster graph (``_export_rewrites``), each rewrite kept only where the
    tower still gives open_clip's vectors (checked here on a random batch); torch's model as
    it was after."""
    import torch

    mean, std = centre.mean.ravel().astype(np.float64), centre.std.ravel().astype(np.float64)
    size = centre.size
    u8 = torch.randint(0, 256, (2, size, size, 3), dtype=torch.uint8,
                       generator=torch.Generator().manual_seed(0))  # fmt: skip
    pixels = _Pixels.make(visual, mean, std)
    undo: list[tuple[Any, str, Any]] = []
    try:
        with torch.no_grad():
            want = visual(pixels.normalise(u8))
            for rewrite in _export_rewrites(visual, pixels, mean, std):
                # (the last block is rewritten over the split attention: its parent is the
                # block list, whose entry is read now)
                old = [(parent, name, getattr(parent, name)) for parent, name, _ in rewrite]
                for parent, name, new in rewrite:
                    setattr(parent, name, new)
                try:
                    got = pixels(u8)
                    same = got.shape == want.shape and torch.allclose(
                        got, want, rtol=1e-4, atol=1e-4 * float(want.abs().max()))  # fmt: skip
                except Exception as exc:  # a tower built otherwise than the rewrite expects
                    log.info("Export without a rewrite that doesn't fit: %s", exc)
                    same = False
                if same:
                    undo = old + undo
                else:
                    for parent, name, module in old:
                        setattr(parent, name, module)
        yield pixels
    finally:
        for parent, name, module in undo:
            setattr(parent, name, module)


def _write_int8(visual: Any, centre: CentreTransform, folder: Path) -> None:
    import warnings

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32 = folder / "fp32.onnx"
    size = centre.size
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)  # the exporter traces the plain path
    try:
        with torch.no_grad(), warnings.catch_warnings(), _export_form(
            visual.eval(), centre
        ) as pixels:  # fmt: skip
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            torch.onnx.export(
                pixels, (torch.zeros(1, size, size, 3, dtype=torch.uint8),), str(fp32),
                input_names=["pixels"], output_names=["vectors"],
                dynamic_axes={"pixels": {0: "n"}, "vectors": {0: "n"}},
                opset_version=18, dynamo=False,
            )  # fmt: skip
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    logging.disable(logging.WARNING)  # onnxruntime's advice to pre-process, on the root logger
    try:
        # Only the matrix products (the folded patch embedding is one): onnxruntime's int8
        # convolution (ConvInteger) ran a patch embedding, 3% of the arithmetic, in a quarter
        # of the tower's time.
        quantize_dynamic(str(fp32), str(folder / "model.onnx"), weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul"])  # fmt: skip
    finally:
        logging.disable(logging.NOTSET)
        fp32.unlink()


# -- running it ----------------------------------------------------------------------------


class ImageTower:
    """An exported int8 image tower: ``encode(batch, threads)`` gives unit vectors. Safe to
    call from several threads at once: each call runs on its own threads."""

    def __init__(self, folder: Path) -> None:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError("an export of another format")
        self.meta = meta
        self.path = folder / "model.onnx"
        if not self.path.is_file():
            raise FileNotFoundError(self.path)
        self.centre = CentreTransform(int(meta["size"]), meta["mean"], meta["std"])
        # Opened now: a damaged graph is refused here (torch runs the photos), not met by
        # the first batch of photos.
        import onnxruntime as ort

        options = ort.SessionOptions()
        # Each run on the one thread that asks for it. Several threads run batches side by
        # side instead (``encode``, and the indexer's decode pool): no thread waits at each
        # operator for the others, or spins waiting while photos are being decoded.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(self.path), options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name

    def encode(self, batch: np.ndarray, threads: int) -> np.ndarray:
        """Unit vectors of a batch of uint8 pixels (NHWC, ``CentreTransform.pixels``) or of
        open_clip's normalised input (NCHW float, from torch's transform), on up to
        ``threads`` CPU threads: the batch split between them, one run of the graph each."""
        if batch.dtype != np.uint8:
            batch = self.centre.to_pixels(batch)
        parts = np.array_split(batch, max(1, min(threads, len(batch))))
        if len(parts) == 1:
            return unit_rows(self._run(batch))
        with ThreadPoolExecutor(len(parts) - 1, thread_name_prefix="image-tower") as pool:
            rest = [pool.submit(self._run, part) for part in parts[1:]]
            first = self._run(parts[0])
            return unit_rows(np.concatenate([first, *(f.result() for f in rest)]))

    def _run(self, pixels: np.ndarray) -> np.ndarray:
        out = self._session.run(None, {self._input: np.ascontiguousarray(pixels)})
        return np.asarray(out[0], np.float32)


def load(weights_sha256: str) -> ImageTower | None:
    """The exported tower of these weights, or None (not exported, unreadable, or
    onnxruntime missing or unable to run it)."""
    folder = export_dir(weights_sha256)
    if not (folder / "meta.json").is_file() or find_spec("onnxruntime") is None:
        return None
    try:
        return ImageTower(folder)
    except Exception as exc:  # onnxruntime's own errors included (a truncated graph)
        log.info("The exported image tower at %s is unusable: %s", folder, exc)
        return None


# -- a model without torch -----------------------------------------------------------------


class OnnxEmbedder(PhotosAndPhrases):
    """The interface of ``embedder.Embedder`` on an exported image tower and text tower:
    embeds photos and phrases with onnxruntime and numpy, never importing torch."""

    def __init__(
        self,
        spec: ModelSpec,
        identity: ModelIdentity,
        tower: ImageTower,
        text: Any,
        threads: int,
        choice: Any,
    ) -> None:
        from .preprocess import ViewTransform

        self.spec = spec
        self.identity = identity
        self.tower = tower
        self.text = text  # text_tower.TextTower
        self.threads = threads
        self.precision_choice = choice
        self.device = "cpu"
        self.precision = PRECISION
        self.image_size = tower.centre.size
        cfg = {"size": tower.centre.size, "mean": tower.meta["mean"], "std": tower.meta["std"]}
        self.preprocess = ViewTransform(identity.preprocess, cfg, tower.centre)
        self._text_cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def load(self) -> OnnxEmbedder:
        return self

    @property
    def parallel_batches(self) -> int:
        return model_threads(self.threads)

    def encode_tensors(self, batch: Any, threads: int | None = None) -> np.ndarray:
        return self.tower.encode(np.asarray(batch), threads or model_threads(self.threads))

    def with_preprocess(self, method: str) -> OnnxEmbedder:
        if method == self.identity.preprocess:
            return self
        twin = OnnxEmbedder(
            self.spec, self.identity.with_preprocess(method), self.tower, self.text,
            self.threads, self.precision_choice,
        )  # fmt: skip
        return twin

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.text.encode(texts), np.float32)


def embedder_for(
    spec: ModelSpec,
    identity: ModelIdentity,
    image_size: int,
    threads: int | None,
    measured: bool = True,
) -> OnnxEmbedder | None:
    """The torch-free model for weights whose towers are both exported and whose measured
    precision on this machine is onnx-int8 (or, ``measured`` False, asked to be); None
    otherwise (then torch loads it)."""
    from . import precision, text_tower

    sha = identity.weights_sha256
    if measured:
        choice = precision.cached_choice(sha, "cpu")
        if choice is None or choice.precision != PRECISION:
            return None
        if any(precision.cached_choice(sha, d) is not None for d in ("cuda", "mps")):
            return None  # this computer has run the model on a GPU: let torch choose the device
    else:
        choice = precision.PrecisionChoice(PRECISION, "your choice")
    threads = threads or default_threads()
    tower = load(sha)
    text = text_tower.load(sha) if tower is not None else None
    if tower is None or text is None or tower.centre.size != image_size:
        return None
    return OnnxEmbedder(spec, identity, tower, text, threads, choice)

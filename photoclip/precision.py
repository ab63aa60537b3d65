"""Chooses the numeric precision a model runs at on this machine by measuring it, once.

No fixed rule is right everywhere: bf16 autocast is 1.4x fp32 on a Xeon with AMX and 2x
*slower* on an AVX-512 EPYC without it, where int8 dynamic quantisation of the Linear layers
is 1.57x. So on the first load of a model the probe times each precision the device offers
on a short calibration batch, keeps those whose vectors match fp32's (mean cosine and the
same nearest neighbours), picks the fastest, and caches the choice per weights file, CPU
and torch version. Vectors of one weights file at any precision are one model identity."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from . import APP_NAME

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "int8", "onnx-int8", "fp16")  # onnx-int8: image_tower.py
MIN_COSINE = 0.999  # mean cosine to fp32 a precision must reach
NEIGHBOURS = 10  # ... and each calibration photo keeps its 10 nearest (where fp32 tells)
CALIBRATION_SIZE = 16
MIN_GAIN = 1.15  # another precision replaces fp32 only when this much faster
# ...and replaces onnx-int8 only when this much faster on the calibration batch. onnx-int8
# starts without torch (0.3 s against ~3 s of importing torch and open_clip and reading fp32
# weights) and indexes in a third of the memory; and torch's int8 times far better alone
# than beside the indexer's decode threads: six lone probes on one 2-core machine put it at
# 0.85x to 1.4x onnx-int8, while whole indexing runs embedded as fast with onnx-int8
# (README "Performance").
ONNX_LEAD = 1.5
SMALL_MODEL_S = 0.25  # a model whose calibration batch takes less stays fp32 (tiny-shapes: ~10 ms)
_TIE = 0.02  # fp32 scores closer than this don't tell two neighbours apart (see same_neighbours)
_PHRASES = ("a dog on a beach", "a red car in the snow", "two people at a birthday party",
            "a bowl of fruit on a table")  # fmt: skip
CACHE_NAME = "precision.json"
# What the probe offers changed (v2: onnx-int8; v3: its new export, image_tower.FORMAT 4;
# v4: FORMAT 5, its batches split between the threads): measure again.
PROBE_VERSION = 4


@dataclass
class PrecisionChoice:
    """The precision a model runs at, and why."""

    precision: str
    source: str  # "measured", "measured earlier", "your choice", "the only one here"
    rates: dict[str, float] = field(default_factory=dict)  # photos/s on the calibration batch
    cosines: dict[str, float] = field(default_factory=dict)  # mean cosine to fp32
    rejected: dict[str, str] = field(default_factory=dict)  # precision -> why not
    device: str = "cpu"

    def describe(self) -> str:
        """One line for `photoclip status` and Settings."""
        if not self.rates:
            return f"{self.precision} ({self.source})"
        rates = ", ".join(
            f"{p} {r:.1f}" for p, r in sorted(self.rates.items(), key=lambda kv: -kv[1])
        )
        text = f"{self.precision} ({self.source} on this machine: {rates} photos/s"
        if self.precision == "onnx-int8" and max(self.rates.values()) > self.rates.get(
            "onnx-int8", 0.0
        ):
            text += (f"; onnx-int8 is kept unless another is {ONNX_LEAD:g}x faster: it starts "
                     "without torch and indexes in less memory")  # fmt: skip
        if self.rejected:
            text += "; " + "; ".join(f"{p} not used: {why}" for p, why in self.rejected.items())
        return text + ")"


def cache_dir() -> Path:
    """The per-user cache folder: $XDG_CACHE_HOME/photoclip (else ~/.cache/photoclip) on
    Linux, ~/Library/Caches/photoclip on macOS, %LOCALAPPDATA%\\photoclip\\cache on Windows."""
    home = Path.home()
    if sys.platform == "win32":
        return (
            Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / APP_NAME / "cache"
        )
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / APP_NAME
    return Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / APP_NAME


def cpu_description() -> str:
    """The CPU's model name and feature flags (what decides which precision is fastest)."""
    name, flags = platform.processor() or platform.machine(), ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for text_line in f:
                key, _, value = text_line.partition(":")
                key = key.strip()
                if key == "model name" and name in ("", platform.machine(), platform.processor()):
                    name = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = " ".join(sorted(value.split()))
                if name and flags:
                    break
    except OSError:
        pass  # not Linux: the processor name and the machine's type are what we have
    return f"{name} | {flags}"


def torch_version() -> str:
    return package_version("torch")


def package_version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def machine_key(weights_sha256: str, device: str) -> str:
    """What a cached choice holds for: these weights, this CPU (model and flags), this torch
    and onnxruntime, this device and what the probe offers. Cheap: no torch import."""
    runtimes = f"{torch_version()}|{package_version('onnxruntime')}|probe-v{PROBE_VERSION}"
    text = json.dumps([weights_sha256, cpu_description(), runtimes, device])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cached_choice(
    weights_sha256: str, device: str, folder: Path | None = None
) -> PrecisionChoice | None:
    """The choice measured earlier for these weights on this machine, if any."""
    entry = _read_cache((folder or cache_dir()) / CACHE_NAME).get(
        machine_key(weights_sha256, device)
    )
    if not isinstance(entry, dict) or entry.get("precision") not in PRECISIONS:
        return None
    try:
        choice = PrecisionChoice(
            **{k: entry[k] for k in asdict(PrecisionChoice("", "")) if k in entry}
        )
    except TypeError:
        return None
    choice.source = "measured earlier"
    return choice


def save_choice(weights_sha256: str, choice: PrecisionChoice, folder: Path | None = None) -> None:
    """Remember the choice (best effort: a read-only cache only means measuring again)."""
    folder = folder or cache_dir()
    path = folder / CACHE_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
        data = _read_cache(path)
        data[machine_key(weights_sha256, choice.device)] = {
            **asdict(choice), "cpu": cpu_description().split(" | ")[0],
            "torch": torch_version(), "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        }  # fmt: skip
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        log.info("Precision choice not cached: %s", exc)


# -- applying a precision ------------------------------------------------------------------


def candidates(device: str) -> list[str]:
    """The precisions worth timing on ``device``, fp32 (the reference) first."""
    if device.startswith("cuda") or device == "mps":
        return ["fp32", "fp16"]
    import torch

    found = ["fp32"]
    # bf16 autocast runs anywhere, but without AVX-512 it is emulated and far slower: only
    # worth timing where the CPU has wide vectors (AVX-512, with or without bf16 and AMX).
    if "AVX512" in torch.backends.cpu.get_cpu_capability():
        found.append("bf16")
    if int8_available():
        found.append("int8")
    return found


def int8_available() -> bool:
    """Dynamic int8 Linear layers (torch.ao's, on fbgemm/onednn/x86): present in this torch?"""
    try:
        import torch
        from torch.ao.nn.quantized import dynamic  # noqa: F401

        return bool(torch.backends.quantized.supported_engines)
    except Exception:  # a future torch without it: the probe simply doesn't offer int8
        return False


def autocast_for(precision: str, device: str) -> Any:
    import torch

    if precision == "bf16" and device == "cpu":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return nullcontext()


def quantize_int8(model: Any) -> list[tuple[Any, str, Any]]:
    """Swap every plain ``nn.Linear`` of ``model`` for a dynamic int8 one, and every
    self-attention (``nn.MultiheadAttention``) for one whose two projections are int8 too,
    in place. Returns what was swapped, so :func:`restore_linears` can undo it. (Linear
    layers inside other attention modules are left alone: those read their weights.)"""
    import torch
    from torch.ao.quantization import default_dynamic_qconfig

    swapped: list[tuple[Any, str, Any]] = []
    with warnings.catch_warnings():
        # torch.ao's quantized tensors are deprecated in favour of torchao (see README:
        # torchao's int8 path measured slower than fp32 on these CPUs); the probe drops int8
        # in a torch that no longer has them.
        warnings.simplefilter("ignore")
        for parent in list(model.modules()):
            if "Att" in type(parent).__name__ and "Block" not in type(parent).__name__:
                continue  # attention pools and the like read their projections' weights
            for name, child in list(parent.named_children()):
                if type(child) is torch.nn.Linear:
                    child.qconfig = default_dynamic_qconfig  # type: ignore[assignment]
                    setattr(parent, name, _int8_linear_class().from_float(child))
                    swapped.append((parent, name, child))
                elif type(child) is torch.nn.MultiheadAttention and _plain(child):
                    setattr(parent, name, _int8_attention_class()(child))
                    swapped.append((parent, name, child))
    return swapped


def _plain(mha: Any) -> bool:
    """An attention whose query, key and value come from one input through one projection."""
    return bool(
        mha._qkv_same_embed_dim
        and mha.in_proj_bias is not None
        and mha.bias_k is None
        and not mha.add_zero_attn
        and mha.dropout == 0.0
    )


_INT8_ATTENTION: Any = None


def _int8_attention_class() -> Any:
    """Self-attention with int8 dynamic projections (a third of a transformer block's
    Linear work, which ``nn.MultiheadAttention`` keeps in fp32) and torch's fused attention.
    Called as open_clip's blocks call ``nn.MultiheadAttention``: ``(x, x, x, need_weights=
    False, attn_mask=...)``."""
    global _INT8_ATTENTION
    if _INT8_ATTENTION is None:
        import torch
        import torch.nn.functional as F
        from torch.ao.quantization import default_dynamic_qconfig

        class Int8SelfAttention(torch.nn.Module):
            def __init__(self, mha: Any) -> None:
                super().__init__()
                self.heads = mha.num_heads
                self.batch_first = mha.batch_first
                width = mha.embed_dim
                # built on "meta" (no memory, no random init: 0.18 s of a ViT-B's load),
                # then given the attention's own projection
                qkv = torch.nn.Linear(width, 3 * width, device="meta")
                qkv.weight, qkv.bias = mha.in_proj_weight, mha.in_proj_bias
                for lin in (qkv, mha.out_proj):
                    lin.qconfig = default_dynamic_qconfig
                linear = _int8_linear_class()
                self.qkv = linear.from_float(qkv)
                self.out = linear.from_float(mha.out_proj)

            def forward(self, query: Any, key: Any, value: Any, need_weights: bool = False,
                        attn_mask: Any = None, key_padding_mask: Any = None) -> Any:  # fmt: skip
                if key is not query or value is not query or key_padding_mask is not None:
                    raise ValueError("int8 attention handles self-attention only")
                x = query if self.batch_first else query.transpose(0, 1)
                n, length, width = x.shape
                qkv = self.qkv(x).view(n, length, 3, self.heads, width // self.heads)
                q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
                y = self.out(y.transpose(1, 2).reshape(n, length, width))
                return (y if self.batch_first else y.transpose(0, 1)), None

        _INT8_ATTENTION = Int8SelfAttention
    return _INT8_ATTENTION


_INT8_LINEAR: Any = None


def _int8_linear_class() -> Any:
    """torch.ao's dynamic int8 Linear, with a ``weight`` attribute as a float Linear has:
    open_clip reads ``mlp.c_fc.weight.dtype`` to choose the dtype of its text input."""
    global _INT8_LINEAR
    if _INT8_LINEAR is None:
        import torch
        from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

        class Int8Linear(DynamicLinear):
            _dtype_probe = torch.empty(0)  # what .weight tells: float32 in, float32 out

            @property
            def weight(self) -> Any:
                return self._dtype_probe

        _INT8_LINEAR = Int8Linear
    return _INT8_LINEAR


def restore_linears(swapped: list[tuple[Any, str, Any]]) -> None:
    for parent, name, original in swapped:
        setattr(parent, name, original)


# -- the probe -----------------------------------------------------------------------------


def calibration_images(size: int, count: int = CALIBRATION_SIZE) -> list[Any]:
    """``count`` varied, deterministic pictures (colour fields, stripes, blobs) as PIL images."""
    from PIL import Image

    rng = np.random.default_rng(20261129)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    out = []
    for i in range(count):
        base = rng.uniform(0, 255, 3)
        grad = rng.uniform(-120, 120, 3)
        angle = rng.uniform(0, np.pi)
        t = np.cos(angle) * xx + np.sin(angle) * yy
        img = base + grad * t[..., None]
        freq = 2 + i % 7
        img += 40 * np.sin(2 * np.pi * freq * (xx if i % 2 else yy))[..., None]
        for _ in range(1 + i % 4):
            cx, cy, r = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.05, 0.3)
            mask = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
            img[mask] = rng.uniform(0, 255, 3)
        img += rng.normal(0, 8, img.shape)
        out.append(Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB"))
    return out


def same_neighbours(reference: np.ndarray, other: np.ndarray, k: int = NEIGHBOURS) -> bool:
    """Whether each row keeps its ``k`` nearest other rows, where ``reference`` tells them
    apart (a near-tie at the k-th place may swap)."""
    ref_sim = reference @ reference.T
    oth_sim = other @ other.T
    n = len(reference)
    k = min(k, n - 1)
    for i in range(n):
        r = np.delete(ref_sim[i], i)
        o = np.delete(oth_sim[i], i)
        order = np.argsort(-r, kind="stable")
        if k < len(r) and r[order[k - 1]] - r[order[k]] < _TIE:
            # A tie across the cut: only the rows clearly inside must stay inside.
            clear = set(order[:k][r[order[:k]] - r[order[k]] >= _TIE].tolist())
        else:
            clear = set(order[:k].tolist())
        theirs = set(np.argsort(-o, kind="stable")[:k].tolist())
        if not clear <= theirs:
            return False
    return True


def probe(
    model: Any,
    preprocess: Callable[[Any], Any],
    tokenizer: Callable[..., Any],
    image_size: int,
    device: str,
    offered: Sequence[str] | None = None,
    rounds: int = 3,
    tower: Any = None,
) -> PrecisionChoice:
    """Time each precision of ``offered`` (default: :func:`candidates`) on a calibration
    batch and pick the fastest whose vectors match fp32's. ``model`` is fp32 on entry and
    left at the chosen precision (int8 swaps its Linear layers; fp16 halves it; onnx-int8
    leaves it fp32 and runs ``tower``, an ``image_tower.ImageTower`` of its weights)."""
    import torch

    offered = list(offered or candidates(device))
    if "fp32" not in offered:
        offered.insert(0, "fp32")
    images = torch.stack([preprocess(im) for im in calibration_images(image_size)]).to(device)
    tokens = tokenizer(list(_PHRASES)).to(device)
    timing_batch = images  # as many as the indexer's batches hold (16)

    def run(precision: str, batch: Any) -> tuple[np.ndarray, float]:
        if precision == "onnx-int8":
            # The pixels the indexer hands the tower (uint8), made outside the timing as
            # the indexer makes them outside the model.
            pixels = tower.centre.to_pixels(batch.cpu().numpy())
            start = time.perf_counter()
            vecs = tower.encode(pixels, torch.get_num_threads())
            return vecs, time.perf_counter() - start
        x = batch.half() if precision == "fp16" else batch
        with torch.inference_mode(), autocast_for(precision, device):
            start = time.perf_counter()
            feats = model.encode_image(x)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
        return _unit(feats.float().cpu().numpy()), elapsed

    def text(precision: str) -> np.ndarray:
        with torch.inference_mode(), autocast_for(precision, device):  # onnx-int8: fp32's
            return _unit(model.encode_text(tokens).float().cpu().numpy())

    swapped: list[tuple[Any, str, Any]] = []

    def switch(precision: str) -> None:
        nonlocal swapped, model
        if swapped and precision != "int8":
            restore_linears(swapped)
            swapped = []
        if precision == "int8" and not swapped:
            swapped = quantize_int8(image_tower(model))
        want_half = precision == "fp16"
        is_half = next(model.parameters()).dtype == torch.float16
        if want_half != is_half:
            model = model.half() if want_half else model.float()

    choice = PrecisionChoice("fp32", "measured", device=device)
    ref_img: np.ndarray | None = None
    ref_txt: np.ndarray | None = None
    first: dict[str, float] = {}  # the check's run (warm-up included), seconds
    for precision in offered:
        try:
            switch(precision)
            vecs, first[precision] = run(precision, images)
            if ref_img is None:
                ref_img, ref_txt = vecs, text(precision)
                continue
            assert ref_txt is not None
            cos = min(float(np.mean(np.sum(vecs * ref_img, axis=1))),
                      float(np.mean(np.sum(text(precision) * ref_txt, axis=1))))  # fmt: skip
            choice.cosines[precision] = round(cos, 6)
            if cos < MIN_COSINE:
                choice.rejected[precision] = f"mean cosine to fp32 {cos:.5f}"
            elif not same_neighbours(ref_img, vecs):
                choice.rejected[precision] = "nearest neighbours differ from fp32's"
        except Exception as exc:  # a precision this torch or device can't run
            if ref_img is None:
                raise  # fp32 itself: the model is broken, not a precision
            log.info("Precision %s unavailable: %s", precision, exc)
            choice.rejected[precision] = f"it doesn't run here ({type(exc).__name__})"
    passed = [p for p in first if p not in choice.rejected]
    # One that took over twice the fastest's time even with its warm-up counted in both is
    # out of the running: not worth timing again (bf16 without native support).
    fastest = min(first[p] for p in passed)
    passed = [p for p in passed if first[p] <= 2 * fastest]
    times: dict[str, list[float]] = {p: [] for p in passed}
    # Timing, alternated between the precisions left so drift hits them alike; the median of
    # the rounds (one lucky round on a busy machine once decided it).
    for _ in range(rounds if len(passed) > 1 else 0):
        for precision in passed:
            switch(precision)
            times[precision].append(run(precision, timing_batch)[1])
    n, m = len(timing_batch), len(images)
    # Each one's median timed rate; the check's run (warm-up included) for one not timed.
    choice.rates = {
        p: round(float(np.median([n / x for x in times[p]])) if times.get(p) else m / first[p], 2)
        for p in first
    }
    best = max(times, key=lambda p: choice.rates[p]) if times else "fp32"
    if device == "cpu" and first.get("fp32", 1.0) < SMALL_MODEL_S:
        best = "fp32"  # timings of a model this fast are noise, and it costs nothing anyway
    else:
        if choice.rates.get(best, 0.0) < MIN_GAIN * choice.rates.get("fp32", 0.0):
            best = "fp32"  # not clearly faster: a timing's noise never changes the vectors
        if "onnx-int8" in times and choice.rates[best] < ONNX_LEAD * choice.rates["onnx-int8"]:
            best = "onnx-int8"
    switch(best)  # Module.half() and .float() convert in place
    choice.precision = best
    return choice


def _unit(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32, copy=False)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def apply_precision(model: Any, precision: str, device: str) -> Any:
    """``model`` (fp32) made ready to run at ``precision``; bf16 needs autocast around calls."""
    if precision == "fp16" and device != "cpu":
        return model.half()
    if precision == "int8":
        quantize_int8(image_tower(model))
    return model


def image_tower(model: Any) -> Any:
    """What int8 applies to: the image tower, where indexing spends its time. The text tower
    stays fp32: a query is one short phrase (and usually runs in numpy, text_tower.py), and
    int8 there was measured at cosine 0.998 to fp32, under the 0.999 an image reaches."""
    return getattr(model, "visual", model)


def describe_for(key: str, weights: str | None = None) -> str:
    """The precision model ``key`` runs at on this machine and why, from the caches alone
    (no torch, no hashing): for Settings and `photoclip status`."""
    from .embedder import locate_weights, profile_setting
    from .models import get_spec

    path = locate_weights(get_spec(key), weights)
    if path is None:
        return "measured the first time the model loads"
    profiles = _read_cache(cache_dir() / "profiles.json")  # embedder._remember_profile's
    try:
        sha = json.loads(profiles.get(profile_setting(key, path), "{}")).get("weights_sha256")
    except (ValueError, AttributeError):
        sha = None
    for device in ("cpu", "cuda", "mps"):
        choice = cached_choice(sha, device) if sha else None
        if choice is not None:
            return choice.describe()
    return "measured the first time the model loads"

"""Loads a CLIP model through open_clip and turns photos and text into unit vectors.

Weights come from the standard Hugging Face cache (offline first), a first-run download
(``photoclip.download``: resumable, verified) with a progress callback, or a local file the
user names. They always load safely: safetensors, or ``torch.load(weights_only=True)``."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import preprocess as preprocess_module

# Imported before anything imports huggingface_hub: it turns the hub's telemetry off.
from .download import (
    DownloadCancelled,
    DownloadError,
    DownloadProgress,
    FileNotOnServer,
    Offline,
    cached_file,
    download,
    is_offline,
    partial_files,
)
from .errors import ModelUnavailableError, PhotoclipError
from .models import DEFAULT_MODEL, ModelIdentity, ModelSpec, get_spec
from .preprocess import ViewTransform, blend, flatten_views, split_views

log = logging.getLogger(__name__)

WEIGHTS_ENV = "PHOTOCLIP_WEIGHTS"
SAFE_WEIGHTS_NAME = "open_clip_model.safetensors"
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# The files a Hugging Face model repo may hold open_clip weights in, best first.
_HF_NAMES = (SAFE_WEIGHTS_NAME, "open_clip_pytorch_model.bin")


@dataclass(frozen=True)
class ResolvedWeights:
    path: str
    sha256: str


def hf_cache_dir() -> str:
    """The standard Hugging Face cache (``HF_HUB_CACHE``, read now, else the hub's default)."""
    from_env = os.environ.get("HF_HUB_CACHE")
    if from_env:
        return from_env
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def _local_dir_weights(spec: ModelSpec) -> Path:
    return Path(spec.arch.removeprefix("local-dir:")) / SAFE_WEIGHTS_NAME


def locate_weights(spec: ModelSpec, weights: str | None = None) -> str | None:
    """The file loading ``spec`` (or the named ``weights``) would read, when it is already on
    this computer. Cheap: no hashing, no network, no torch."""
    weights = weights or os.environ.get(WEIGHTS_ENV) or None
    if weights:
        path = Path(weights).expanduser()
    elif spec.is_local_dir:
        path = _local_dir_weights(spec)
    else:
        cache = hf_cache_dir()
        for name in _HF_NAMES:
            cached = cached_file(cache, spec.hf_repo, name)
            if cached is not None:
                return cached
        return None
    return str(path) if path.is_file() else None


class ModelNotHereError(ModelUnavailableError):
    """The model has to be downloaded and can't be now (offline, turned off, the download
    failed or was cancelled). ``str()`` is for the command line; ``app_message`` says the
    same in the app's words (a Retry button and a file chooser are right beside it)."""

    def __init__(self, spec: ModelSpec, where: str, why: str, *, kind: str, done: int = 0):
        self.spec = spec
        self.kind = kind  # "offline", "cancelled" or "failed"
        self.done = done  # bytes kept for the next attempt
        repo = spec.hf_repo
        what = f"The {spec.key} model ({spec.download_mb} MB, from Hugging Face {repo})"
        use_file = f"--weights FILE (or {WEIGHTS_ENV}=FILE)"
        if kind == "offline":
            super().__init__(
                f"{what} isn't on this computer and can't be downloaded now: {why}. Photoclip "
                f"looked in {where}. Connect to the internet and try again, or point photoclip "
                f"at a weights file you have with {use_file}."
            )
        else:
            super().__init__(
                f"{what} isn't on this computer and couldn't be downloaded. {why} Or point "
                f"photoclip at a weights file you have with {use_file}."
            )
        size = f"{spec.download_mb:,} MB"
        if kind == "offline":
            self.app_message = (
                f"photoclip needs to download its search model once ({size}). Connect to the "
                "internet and click Retry, or choose a model file you already have."
            )
        elif kind == "cancelled":
            kept = f" at {done / 1e6:,.0f} MB" if done else ""
            self.app_message = (
                f"The download of the search model ({size}) was cancelled{kept}. Click Retry "
                "to continue from where it stopped, or choose a model file you already have."
            )
        else:
            self.app_message = (
                f"photoclip needs to download its search model once ({size}), and the "
                f"download didn't finish. {why} Click Retry, or choose a model file you "
                "already have."
            )


def resolve_weights(
    spec: ModelSpec,
    weights: str | None = None,
    *,
    allow_download: bool = True,
    progress: DownloadProgress | None = None,
    stop: threading.Event | None = None,
) -> ResolvedWeights:
    """Find the model's weights file, downloading it only if allowed and needed (``stop``
    cancels a download; what arrived is kept and the next attempt continues from there)."""
    weights = weights or os.environ.get(WEIGHTS_ENV) or None
    found = locate_weights(spec, weights)
    if weights and found is None:
        raise ModelUnavailableError(
            f"The weights file {Path(weights).expanduser()} doesn't exist. Check the path "
            f"given with --weights (or {WEIGHTS_ENV})."
        )
    if spec.is_local_dir and found is None:
        raise ModelUnavailableError(
            f"The {spec.key} model folder is incomplete: {_local_dir_weights(spec)}."
        )
    if found is not None:
        # A Hugging Face blob is named by its hash; any other file is hashed (once per run).
        from_hub = not (weights or spec.is_local_dir)
        return ResolvedWeights(found, _hf_blob_sha256(found) if from_hub else file_sha256(found))
    if not spec.hf_repo:
        raise PhotoclipError(f"{spec.key} has no download location.")

    where = hf_cache_dir()
    if not allow_download or is_offline():
        why = "downloads are turned off" if not allow_download else "HF_HUB_OFFLINE is set"
        raise ModelNotHereError(spec, where, why, kind="offline")
    not_found: DownloadError | None = None
    for name in _HF_NAMES:
        try:
            got = download(spec.hf_repo, name, where, progress=progress, stop=stop)
        except FileNotOnServer as exc:
            not_found = exc
            continue
        except DownloadCancelled as exc:
            kept = sum(p.stat().st_size for p in partial_files(where, spec.hf_repo))
            raise ModelNotHereError(spec, where, str(exc), kind="cancelled", done=kept) from exc
        except Offline as exc:
            raise ModelNotHereError(spec, where, str(exc).rstrip("."), kind="offline") from exc
        except DownloadError as exc:
            raise ModelNotHereError(spec, where, str(exc), kind="failed") from exc
        return ResolvedWeights(got, _hf_blob_sha256(got))
    raise ModelNotHereError(spec, where, str(not_found), kind="failed")


def _hf_blob_sha256(path: str) -> str:
    # Hugging Face stores large (LFS) files content-addressed: the blob's name is its sha256.
    blob = os.path.basename(os.path.realpath(path))
    return blob if _SHA256_RE.match(blob) else file_sha256(path)


_hash_lock = threading.Lock()
_hash_cache: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str) -> str:
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    with _hash_lock:
        if key in _hash_cache:
            return _hash_cache[key]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    with _hash_lock:
        _hash_cache[key] = digest
    return digest


def choose_device(device: str = "auto") -> str:
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def choose_precision(device: str, precision: str = "auto") -> str:
    """The precision asked for, or without a measurement (see ``photoclip.precision``, which
    measures): fp16 on GPUs, fp32 on CPUs."""
    if precision != "auto":
        return precision
    return "fp16" if device.startswith("cuda") or device == "mps" else "fp32"


def default_threads() -> int:
    return max(1, os.cpu_count() or 1)


_chosen_threads: int | None = None  # set_model_threads(): wins over a model's own count


def set_model_threads(threads: int | None) -> None:
    """From their next call on, loaded models use ``threads`` CPU threads (0: all), whichever
    thread runs them: the app's Settings take effect without reloading. None: each model's
    own count again."""
    global _chosen_threads
    _chosen_threads = None if threads is None else threads or default_threads()


def model_threads(own: int) -> int:
    """The CPU threads a model whose own count is ``own`` runs on now (set_model_threads)."""
    return _chosen_threads or own


class PhotosAndPhrases:
    """What every loaded model does on top of its own ``encode_tensors`` (a batch of the
    model's input, torch or numpy) and ``_embed_texts`` (phrases not seen lately): photos to
    vectors through ``preprocess``, and phrases through a cache of recent ones."""

    spec: ModelSpec
    identity: ModelIdentity
    preprocess: Any
    image_size: int
    device: str
    precision: str
    precision_choice: Any  # precision.PrecisionChoice: what was chosen, and why
    threads: int
    _text_cache: OrderedDict[str, np.ndarray]

    def load(self) -> PhotosAndPhrases:
        """Already loaded (the same call as DeferredEmbedder's)."""
        return self

    @property
    def parallel_batches(self) -> int:
        """How many batches this model runs best side by side, each on one of its threads
        (``encode_photos(..., threads=1)`` from as many threads); 1: one batch at a time, on
        all its threads."""
        return 1

    def encode_tensors(self, batch: Any, threads: int | None = None) -> np.ndarray:
        """Unit vectors of a batch of the model's input; ``threads`` (where
        ``parallel_batches`` > 1) caps the CPU threads this call runs on."""
        raise NotImplementedError

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def encode_views(self, tensors: Sequence[Any]) -> np.ndarray:
        """One unit vector per photo from ``preprocess``'s outputs (one view or several)."""
        batch, counts = flatten_views(tensors)
        return blend(self.encode_tensors(batch), counts)

    def extra_views(self, image: Any) -> Any | None:
        """``image``'s extra views (preprocess.extra_view_boxes) ready for the model, None
        when it has none."""
        extras = getattr(self.preprocess, "extras", None)
        return extras(image) if extras is not None else None

    def encode_photos(
        self, tensors: Sequence[Any], extras: Sequence[Any | None], threads: int | None = None
    ) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Per photo, from ``preprocess`` and ``extra_views`` outputs: its vector and its extra
        views' vectors (None when it has none), in one pass of the model (``threads``: as
        ``encode_tensors``)."""
        batch, counts = flatten_views(tensors)
        more = [e for e in extras if e is not None]
        if more:
            batch, _ = flatten_views([batch, *more])  # (all VCHW: concatenated)
        rows = self.encode_tensors(batch, threads)
        return split_views(rows, counts, [0 if e is None else int(e.shape[0]) for e in extras])

    def encode_images(self, images: Sequence[Any]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.identity.dim), np.float32)
        return self.encode_views([self.preprocess(im) for im in images])

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """Embed prompts; recent prompts are cached (typing re-sends the same words)."""
        out: list[np.ndarray | None] = [self._text_cache.get(t) for t in texts]
        missing = [t for t, v in zip(texts, out, strict=True) if v is None]
        if missing:
            fresh = dict(zip(missing, self._embed_texts(list(missing)), strict=True))
            for text, vec in fresh.items():
                self._text_cache[text] = vec
                self._text_cache.move_to_end(text)
            while len(self._text_cache) > 256:
                self._text_cache.popitem(last=False)
            # From what was found and what was made, not from the cache again: a batch bigger
            # than the cache (or than its room) evicts some of its own texts.
            out = [fresh[t] if v is None else v for t, v in zip(texts, out, strict=True)]
        return np.stack([v for v in out if v is not None]).astype(np.float32)


class Embedder(PhotosAndPhrases):
    """A loaded CLIP model. Thread-safe: calls into the model are serialised."""

    def __init__(
        self,
        spec: ModelSpec,
        model: Any,
        preprocess: Callable[[Any], Any],
        tokenizer: Callable[..., Any],
        identity: ModelIdentity,
        device: str,
        precision: str,
    ) -> None:
        self.spec = spec
        self.model = model
        self.preprocess = preprocess  # PIL image -> CHW tensor; safe to call from any thread
        self.tokenizer = tokenizer
        self.identity = identity
        self.device = device
        self.precision = precision
        self._lock = threading.Lock()
        self._text_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.threads = default_threads()
        self.image_size = _image_size(preprocess)
        self.precision_choice: Any = None  # precision.PrecisionChoice: what was chosen, why
        self.tower: Any = None  # image_tower.ImageTower: runs the photos at onnx-int8

    def _autocast(self) -> Any:
        import torch

        # torch's intra-op thread count is per calling thread (OpenMP): apply ours in
        # whichever thread runs the model, not only in the one that loaded it.
        wanted = model_threads(self.threads)
        if torch.get_num_threads() != wanted:
            torch.set_num_threads(wanted)

        from .precision import autocast_for

        return autocast_for(self.precision, self.device)

    @property
    def parallel_batches(self) -> int:
        return 1 if self.tower is None else model_threads(self.threads)

    def encode_tensors(self, batch: Any, threads: int | None = None) -> np.ndarray:
        """Embed a stacked NCHW batch of preprocessed images. Rows are unit vectors."""
        import torch

        if self.tower is not None:
            return self.tower.encode(batch.numpy(), threads or model_threads(self.threads))
        with self._lock, torch.inference_mode(), self._autocast():
            x = batch.to(self.device)
            if self.precision == "fp16" and self.device != "cpu":
                x = x.half()
            feats = self.model.encode_image(x)
        return unit_rows(feats.float().cpu().numpy())

    def with_preprocess(self, method: str) -> Embedder:
        """The same loaded model fed photos by ``method`` (its vectors are of that identity):
        searches keep using a library's older vectors while it is re-embedded."""
        if method == self.identity.preprocess:
            return self
        twin = Embedder.__new__(Embedder)
        twin.__dict__.update(self.__dict__)  # the model, its lock and its text cache shared
        views: Any = self.preprocess  # a ViewTransform
        twin.preprocess = ViewTransform(method, views.cfg, views.centre)
        twin.identity = self.identity.with_preprocess(method)
        return twin

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        from .text_tower import torch_vectors

        with self._lock, self._autocast():
            return torch_vectors(self.model, self.tokenizer(texts).to(self.device))


class DeferredEmbedder:
    """Stands in for an :class:`Embedder` whose identity and input size are known from an
    earlier load of the same weights file; the model itself loads on first use. So a run with
    nothing to embed (an unchanged library) never imports torch nor reads the weights."""

    def __init__(
        self,
        spec: ModelSpec,
        identity: ModelIdentity,
        image_size: int,
        load: Callable[[], PhotosAndPhrases],
        *,
        without_torch: bool = False,
        asked: str = "auto",
        threads: int | None = None,
    ) -> None:
        self.spec = spec
        self.identity = identity
        self.image_size = image_size
        self._load = load
        # May load as image_tower.OnnxEmbedder (no torch) where onnx-int8 was measured best
        # here: only where no device and no other precision was asked for.
        self.without_torch = without_torch
        self.asked = asked  # the precision asked for: "auto", or "onnx-int8" whatever was measured
        self.threads = threads
        self._lock = threading.Lock()
        self._model: Any = None  # an Embedder, or an image_tower.OnnxEmbedder
        self._tower: Any = False  # text_tower.TextTower, None when there is none; False: unread

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def device(self) -> str:
        if self._model is None:
            return "the CPU (the image side loads when photos need it)"
        return self._model.device

    def load(self) -> Any:
        """The real model, loaded now if it wasn't (once, whichever thread asks first). Any
        failure is a ModelUnavailableError, never mistaken for a problem with a photo."""
        with self._lock:
            if self._model is None:
                try:
                    model = self._without_torch() or self._load()
                except PhotoclipError:
                    raise
                except Exception as exc:  # e.g. an unreadable weights file (OSError)
                    raise ModelUnavailableError(
                        f"The {self.spec.key} model couldn't be loaded: {exc}"
                    ) from exc
                if (model.identity, model.image_size) != (self.identity, self.image_size):
                    raise ModelUnavailableError(
                        f"The {self.spec.key} weights changed while photoclip was starting. "
                        "Run the command again."
                    )
                self._model = model
            return self._model

    def _without_torch(self) -> Any:
        if not self.without_torch:
            return None
        from . import image_tower

        try:
            return image_tower.embedder_for(
                self.spec, self.identity, self.image_size, self.threads,
                measured=self.asked == "auto",
            )  # fmt: skip
        except Exception as exc:  # e.g. an onnxruntime that can't run here: torch can
            log.info("The model loads with torch: %s", exc)
            return None

    def preprocess(self, image: Any) -> Any:
        return self.load().preprocess(image)

    @property
    def parallel_batches(self) -> int:
        return int(self.load().parallel_batches)

    def encode_tensors(self, batch: Any, threads: int | None = None) -> np.ndarray:
        return self.load().encode_tensors(batch, threads)

    def encode_views(self, tensors: Sequence[Any]) -> np.ndarray:
        return self.load().encode_views(tensors)

    def extra_views(self, image: Any) -> Any | None:
        return self.load().extra_views(image)

    def encode_photos(
        self, tensors: Sequence[Any], extras: Sequence[Any | None], threads: int | None = None
    ) -> list[tuple[np.ndarray, np.ndarray | None]]:
        return self.load().encode_photos(tensors, extras, threads)

    def with_preprocess(self, method: str) -> DeferredEmbedder:
        if method == self.identity.preprocess:
            return self
        identity = self.identity.with_preprocess(method)
        return DeferredEmbedder(
            self.spec, identity, self.image_size, lambda: self.load().with_preprocess(method)
        )  # (loads self, which may run without torch)

    def encode_images(self, images: Sequence[Any]) -> np.ndarray:
        return self.load().encode_images(images)

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """Before the model loads, the text tower exported from these weights (numpy, no
        torch: a new phrase in a fresh process costs milliseconds, not seconds)."""
        if self._model is None:
            tower = self._text_tower()
            if tower is not None:
                return tower.encode(texts)
        return self.load().encode_text(texts)

    def _text_tower(self) -> Any:
        with self._lock:
            if self._tower is False:
                from . import text_tower

                self._tower = text_tower.load(self.identity.weights_sha256)
            return self._tower


AnyEmbedder = Embedder | DeferredEmbedder


def profile_of(embedder: PhotosAndPhrases) -> str:
    """What a :class:`DeferredEmbedder` needs to stand in for ``embedder`` later (JSON)."""
    return json.dumps({**asdict(embedder.identity), "image_size": embedder.image_size})


def deferred_from_profile(
    spec: ModelSpec,
    profile: str,
    load: Callable[[], PhotosAndPhrases],
    *,
    device: str = "auto",
    precision: str = "auto",
    threads: int | None = None,
) -> DeferredEmbedder | None:
    """A deferred model from :func:`profile_of`'s text; None if the text is unusable, or was
    written for photos fed to the model another way than photoclip's now. ``device``,
    ``precision`` and ``threads`` are what ``load`` was asked for: with "auto" (or cpu and
    onnx-int8) it may load without torch (image_tower.py)."""
    try:
        p = json.loads(profile)
        identity = ModelIdentity(
            str(p["arch"]),
            str(p["pretrained"]),
            str(p["weights_sha256"]),
            int(p["dim"]),
            str(p["preprocess"]),  # a profile from before it was recorded: load the model
        )
        if identity.preprocess != preprocess_module.DEFAULT_PREPROCESS:
            return None
        without_torch = device in ("auto", "cpu") and precision in ("auto", "onnx-int8")
        return DeferredEmbedder(
            spec, identity, int(p["image_size"]), load,
            without_torch=without_torch, asked=precision, threads=threads,
        )  # fmt: skip
    except (ValueError, KeyError, TypeError):
        return None


def profile_setting(key: str, weights_path: str) -> str:
    """The library setting that holds :func:`profile_of` for this very weights file."""
    st = os.stat(weights_path)
    return f"model_profile|{key}|{os.path.realpath(weights_path)}|{st.st_size}|{st.st_mtime_ns}"


def known_identity(
    spec: ModelSpec, weights: str | None, get_setting: Callable[[str], str | None]
) -> ModelIdentity | None:
    """The identity of the weights ``spec`` would load, when a library has seen that very
    file before (its profile setting); None otherwise. No torch, no hashing."""
    path = locate_weights(spec, weights)
    if path is None:
        return None
    saved = get_setting(profile_setting(spec.key, path))
    found = deferred_from_profile(spec, saved, lambda: None) if saved else None  # type: ignore[arg-type,return-value]
    return found.identity if found is not None else None


_PROFILES = "profiles.json"


def _remember_profile(key: str, weights_path: str, embedder: PhotosAndPhrases) -> None:
    """Keep :func:`profile_of` in the cache folder too, for :func:`deferred_for` (the app
    starts before any library is open). Best effort."""
    from .precision import cache_dir

    path = cache_dir() / _PROFILES
    try:
        entry = profile_setting(key, weights_path)
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        if not isinstance(data, dict) or data.get(entry) == profile_of(embedder):
            return
        data[entry] = profile_of(embedder)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    except (OSError, ValueError) as exc:
        log.info("Model profile not cached: %s", exc)


def machine_profile(key: str, weights_path: str) -> str | None:
    """:func:`profile_of` of this very weights file as it was last loaded on this computer
    (kept in the cache folder by :func:`_remember_profile`); None if it never was."""
    from .precision import cache_dir

    try:
        data = json.loads((cache_dir() / _PROFILES).read_text(encoding="utf-8"))
        saved = data.get(profile_setting(key, weights_path)) if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, str) else None


def deferred_for(
    key: str, weights: str | None, load: Callable[[], PhotosAndPhrases], threads: int | None = None
) -> DeferredEmbedder | None:
    """A stand-in for the model ``key`` whose weights file was loaded before on this
    computer (same path, size and mtime), so that it answers text at once from its exported
    text tower while ``load`` waits for the first photo; None when there is no such record
    or no exported text tower (then loading the model is the quickest way to a search)."""
    spec = get_spec(key)
    path = locate_weights(spec, weights)
    saved = machine_profile(key, path) if path is not None else None
    deferred = deferred_from_profile(spec, saved, load, threads=threads) if saved else None
    if deferred is None or deferred._text_tower() is None:
        return None
    return deferred


def unit_rows(x: np.ndarray) -> np.ndarray:
    """``x`` (float) with each row scaled to length 1 (a zero row stays zero)."""
    x = x.astype(np.float32, copy=False)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def _image_size(preprocess: Any) -> int:
    if isinstance(preprocess, ViewTransform):
        return preprocess.size
    for t in getattr(preprocess, "transforms", []):
        size = getattr(t, "size", None)
        if isinstance(size, int):
            return size
        if isinstance(size, (tuple, list)) and size:
            return int(size[0])
    return 224


def load_embedder(
    model: str = DEFAULT_MODEL,
    *,
    weights: str | None = None,
    device: str = "auto",
    precision: str = "auto",
    threads: int | None = None,
    allow_download: bool = True,
    progress: DownloadProgress | None = None,
    stop: threading.Event | None = None,
    preprocessing: str | None = None,
) -> PhotosAndPhrases:
    """Load ``model`` (a key of ``photoclip.models.MODELS``) ready for inference, fed photos
    by ``preprocessing`` (``photoclip.preprocess``; None: photoclip's choice): an
    :class:`Embedder` (torch), or where onnx-int8 runs, an ``image_tower.OnnxEmbedder``."""
    preprocessing = preprocessing or preprocess_module.DEFAULT_PREPROCESS
    spec = get_spec(model)
    resolved = resolve_weights(
        spec, weights, allow_download=allow_download, progress=progress, stop=stop
    )

    import open_clip
    import torch

    torch.set_num_threads(threads or default_threads())
    dev = choose_device(device)
    _check_device(dev, precision)
    try:
        if spec.is_local_dir:
            clip, _, preprocess = open_clip.create_model_and_transforms(spec.arch, device=dev)
            if weights:  # the user's own weights for this architecture
                open_clip.load_checkpoint(clip, resolved.path, weights_only=True, device=dev)
        else:
            with _build_for_strict_load():
                clip, _, preprocess = open_clip.create_model_and_transforms(
                    spec.arch, pretrained=resolved.path, device=dev, weights_only=True
                )
    except pickle.UnpicklingError as exc:
        raise ModelUnavailableError(
            f"{resolved.path} isn't a file of plain weights (it holds other Python objects), "
            "so photoclip won't load it. Use a .safetensors file or a plain state dict."
        ) from exc
    except (RuntimeError, KeyError, ValueError) as exc:  # weights of another architecture
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelUnavailableError(
            f"The weights in {resolved.path} don't fit the {spec.key} model ({first_line})."
        ) from exc
    tokenizer = open_clip.get_tokenizer(spec.arch)
    clip.eval()
    from . import image_tower, text_tower

    text_tower.export(clip, tokenizer, resolved.sha256)  # once, from the fp32 weights
    tower = _image_tower(clip, preprocess, resolved.sha256, dev, precision)
    choice = _precision(clip, preprocess, tokenizer, resolved.sha256, dev, precision, tower)
    dim = _embed_dim(clip)
    identity = ModelIdentity(
        arch=_identity_arch(spec),
        pretrained=spec.pretrained or spec.key,
        weights_sha256=resolved.sha256,
        dim=dim,
        preprocess=preprocessing,
    )
    if choice.precision == image_tower.PRECISION:
        text = text_tower.load(resolved.sha256)
        if text is not None:  # both towers run without torch: the torch model is let go
            onnx = image_tower.OnnxEmbedder(
                spec, identity, tower, text, threads or default_threads(), choice
            )
            _remember_profile(spec.key, resolved.path, onnx)
            return onnx
    views = ViewTransform(preprocessing, open_clip.get_model_preprocess_cfg(clip), preprocess)
    embedder = Embedder(spec, clip, views, tokenizer, identity, dev, choice.precision)
    embedder.threads = threads or default_threads()
    embedder.precision_choice = choice
    if choice.precision == image_tower.PRECISION:
        embedder.tower = tower  # (its text tower wasn't exported: torch answers phrases)
    _remember_profile(spec.key, resolved.path, embedder)
    return embedder


def _check_device(device: str, precision: str) -> None:
    """Say plainly when the device asked for isn't here (torch's own error would read as
    weights that don't fit the model), or can't run the precision asked for."""
    import torch

    if precision == "onnx-int8" and device != "cpu":
        raise ModelUnavailableError("onnx-int8 runs on the CPU only: use --device cpu or auto.")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelUnavailableError(
            "There is no CUDA GPU (or no working driver for one) here: use --device cpu or auto."
        )
    mps = getattr(torch.backends, "mps", None)
    if device == "mps" and not (mps is not None and mps.is_available()):
        raise ModelUnavailableError("Apple's GPU (mps) isn't available here: use --device auto.")


def _image_tower(clip: Any, preprocess: Any, sha256: str, device: str, asked: str) -> Any:
    """The int8 onnxruntime image tower of these weights (exported once, from fp32) where it
    may be chosen: on the CPU, for "auto" or "onnx-int8"; else None."""
    from . import image_tower

    if device != "cpu" or asked not in ("auto", image_tower.PRECISION):
        return None
    import open_clip

    cfg = open_clip.get_model_preprocess_cfg(clip)
    if image_tower.export(clip, cfg, preprocess, sha256):
        tower = image_tower.load(sha256)
        if tower is not None:
            return tower
    if asked == image_tower.PRECISION:
        raise ModelUnavailableError(
            "This model can't run at onnx-int8 here (onnxruntime and onnx are needed, and an "
            "image tower they can export). Use --precision auto."
        )
    return None


def _precision(
    clip: Any,
    preprocess: Any,
    tokenizer: Any,
    sha256: str,
    device: str,
    asked: str,
    tower: Any = None,
) -> Any:
    """Turn the fp32 ``clip`` to the precision asked for, or, for "auto", to the one measured
    fastest on this machine (once per weights file, CPU and torch; then cached). Returns the
    :class:`photoclip.precision.PrecisionChoice`. ``tower``: the onnx-int8 image tower, a
    candidate too."""
    from . import precision as p

    if asked != "auto":
        p.apply_precision(clip, asked, device)
        return p.PrecisionChoice(asked, "your choice", device=device)
    offered = p.candidates(device) + (["onnx-int8"] if tower is not None else [])
    if offered == ["fp32"]:
        return p.PrecisionChoice("fp32", "the only one here", device=device)
    choice = p.cached_choice(sha256, device)
    if choice is not None and choice.precision in offered:
        p.apply_precision(clip, choice.precision, device)
        return choice
    choice = p.probe(
        clip, preprocess, tokenizer, _image_size(preprocess), device, offered, tower=tower
    )
    p.save_choice(sha256, choice)
    return choice


@contextmanager
def _build_for_strict_load() -> Iterator[None]:
    """While open_clip builds a model only to receive a strict state-dict load:

    - torch.nn.init's fillers are no-ops: random initialisation of a ViT-B costs about a
      second of start-up, and every weight is overwritten anyway;
    - the load hands the loaded tensors to the model (``assign=True``) instead of copying
      them into its own, so the weights aren't held twice: about 540 MB less peak memory
      for a ViT-B (the model's never-written tensors were never resident). Tensors of
      another dtype than the model's are converted, so an fp16 file still makes an fp32
      model."""
    import torch

    names = [n for n in dir(torch.nn.init) if n.endswith("_") and not n.startswith("_")]
    # ...and the fillers modules imported by name (nn.MultiheadAttention's: 0.11 s of a ViT-B)
    importers = [torch.nn.modules.activation, torch.nn.modules.transformer]
    by_name = [(m, n) for m in importers for n in names if getattr(m, n, None) is not None]
    saved = {n: getattr(torch.nn.init, n) for n in names}
    saved_by_name = [(m, n, getattr(m, n)) for m, n in by_name]
    load_state_dict = torch.nn.Module.load_state_dict

    def load_in_place(module: Any, state_dict: Any, strict: bool = True, assign: bool = False):
        own = module.state_dict(keep_vars=True)
        matched = {
            k: v.to(own[k].dtype) if k in own and v.dtype != own[k].dtype else v
            for k, v in state_dict.items()
        }
        return load_state_dict(module, matched, strict=strict, assign=True)

    def skip(tensor: Any, *args: Any, **kwargs: Any) -> Any:
        return tensor

    for n in names:
        setattr(torch.nn.init, n, skip)
    for m, n in by_name:
        setattr(m, n, skip)
    torch.nn.Module.load_state_dict = load_in_place  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        torch.nn.Module.load_state_dict = load_state_dict  # type: ignore[method-assign]
        for n, fn in saved.items():
            setattr(torch.nn.init, n, fn)
        for m, n, fn in saved_by_name:
            setattr(m, n, fn)


def _identity_arch(spec: ModelSpec) -> str:
    if not spec.is_local_dir:
        return spec.arch
    cfg_path = Path(spec.arch.removeprefix("local-dir:")) / "open_clip_config.json"
    cfg = json.loads(cfg_path.read_text())
    return str(cfg.get("model_name") or spec.key)


def _embed_dim(model: Any) -> int:
    dim = getattr(model, "embed_dim", None)
    if isinstance(dim, int):
        return dim
    proj = getattr(model, "text_projection", None)
    if proj is not None:
        return int(proj.shape[-1])
    visual = model.visual
    return int(getattr(visual, "output_dim", 0) or visual.proj.shape[-1])

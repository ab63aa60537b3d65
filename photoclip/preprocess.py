"""How a photo becomes the model's square input: the views of it the model sees. The method's
name is part of every vector's identity (``models.ModelIdentity.preprocess``).

``centre`` is open_clip's own eval transform (resize the short side, cut the centre square:
a 16:9 photo loses 22 % on each side). ``squash`` resizes the whole photo into the square,
``longest`` fits its long side and pads, ``crops`` sees overlapping squares covering it, and
``whole`` squashes a photo up to 4:3 into one view (a stretch open_clip's training crops
reach) and sees a wider one as a few overlapping windows of aspect 4:3 at most. Several views
make one vector: the normalised mean of theirs. ``DEFAULT_PREPROCESS`` is photoclip's choice;
bench/bench_framing.py measures them all (README "The whole photo")."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

CENTRE = "centre"
SQUASH = "squash"
LONGEST = "longest"
CROPS = "crops"
WHOLE = "whole"
DEFAULT_PREPROCESS = CENTRE
METHODS = (CENTRE, SQUASH, LONGEST, CROPS, WHOLE)

WINDOW_ASPECT = 4 / 3  # the widest window open_clip's training crops (aspect 3/4 to 4/3)
# Extra views: a photo wider (or taller) than EXTRA_VIEWS_BEYOND also gets overlapping squares
# that cover what its centre square leaves out, each its own vector, and search scores the
# photo by its best view: the centre's, or an extra's less EXTRA_VIEW_MARGIN robust standard
# deviations of the query's scores (a crop that cuts a subject can pass for something else; the
# margin keeps such near misses below photos that show the thing whole). The vector a photo
# has always had stays its centre square's. Tuned on a tuning library, not the reported one
# (README "The whole photo").
EXTRA_VIEWS = "squares-v1"  # the name stored with extra views: another way, another name
EXTRA_VIEWS_BEYOND = 1.6  # 4:3 and 3:2 camera photos: one view, as before; 16:9 and wider: more
EXTRA_VIEW_MARGIN = 0.2
SQUASH_LIMIT = WINDOW_ASPECT  # ``whole`` squashes photos up to 4:3 into one view, windows beyond
MAX_WINDOWS = 6

Box = tuple[float, float, float, float]  # left, top, right, bottom in pixels


def windows(
    width: int, height: int, aspect: float = WINDOW_ASPECT, overlap: bool = False
) -> list[Box]:
    """Evenly spaced windows along the long side of a ``width`` x ``height`` photo, as tall
    (or wide) as its short side and at most ``aspect`` long, that together cover it; with
    ``overlap``, neighbours share at least a quarter of a window (``crops``)."""
    long, short = max(width, height), min(width, height)
    if long <= short * aspect * 1.01:  # (4032 x 3024 is 4:3 however 4/3 rounds)
        return [(0.0, 0.0, float(width), float(height))]
    side = short * aspect
    count = math.ceil((long - side) / (0.75 * side)) + 1 if overlap else math.ceil(long / side)
    count = min(count, MAX_WINDOWS)
    side = max(side, long / count)  # capped at MAX_WINDOWS: wider windows still cover it
    step = (long - side) / (count - 1)
    boxes = [(i * step, 0.0, i * step + side, float(short)) for i in range(count)]
    if height > width:
        boxes = [(y0, x0, y1, x1) for x0, y0, x1, y1 in boxes]
    return boxes


def needs_extra_views(width: int, height: int) -> bool:
    """Whether a ``width`` x ``height`` photo shows enough outside its centre square to be
    seen as extra views too (``extra_view_boxes``)."""
    long, short = max(width, height), min(width, height)
    return short > 0 and long > short * EXTRA_VIEWS_BEYOND


def extra_view_boxes(width: int, height: int) -> list[Box]:
    """The overlapping squares, beside the centre square, that a photo is seen as too: none
    for a photo up to EXTRA_VIEWS_BEYOND (a 4:3 or 3:2 camera photo costs one view, as
    before); a 16:9 photo gets its two end squares, a 3:1 panorama four squares."""
    if not needs_extra_views(width, height):
        return []
    short = min(width, height)
    centre = (max(width, height) - short) / 2
    boxes = windows(width, height, 1.0, overlap=True)
    near = 0.1 * short  # a square this close to the centre one sees nothing new
    return [b for b in boxes if abs((b[0] if width >= height else b[1]) - centre) > near]


def view_boxes(method: str, width: int, height: int) -> list[Box]:
    """The parts of a ``width`` x ``height`` photo that ``method`` squashes into views."""
    whole = (0.0, 0.0, float(width), float(height))
    if method == SQUASH:
        return [whole]
    if method == CROPS:
        return windows(width, height, 1.0, overlap=True)
    if method == WHOLE:
        return windows(width, height, SQUASH_LIMIT)
    raise ValueError(f"{method!r} doesn't make views from boxes")


class ViewTransform:
    """Photo (PIL, RGB) -> the model's input: a CHW tensor when the method sees the photo as
    one view, else a VCHW tensor of its views (``blend`` makes them one vector). With a
    ``centre`` of image_tower.CentreTransform (the exported tower's input), no torch: each
    view is its uint8 pixels, HWC (VHWC for several), which the tower normalises itself."""

    def __init__(self, method: str, cfg: dict[str, Any], centre: Callable[[Any], Any]) -> None:
        if method not in METHODS:
            known = ", ".join(METHODS)
            raise ValueError(f"Unknown preprocessing {method!r}; choose one of: {known}.")
        self.method = method
        self.size = int(cfg["size"][0] if isinstance(cfg["size"], (list, tuple)) else cfg["size"])
        self.mean = np.asarray(cfg["mean"], np.float32)[:, None, None]
        self.std = np.asarray(cfg["std"], np.float32)[:, None, None]
        self.fill = int(cfg.get("fill_color", 0))
        self.cfg = cfg
        self.centre = centre  # open_clip's transform, for CENTRE: the vectors of old libraries
        from .image_tower import CentreTransform

        self.numpy = isinstance(centre, CentreTransform)

    def _array(self, arrays: list[np.ndarray]) -> Any:
        out = arrays[0] if len(arrays) == 1 else np.stack(arrays)
        if self.numpy:
            return out
        import torch

        return torch.from_numpy(out)

    def __call__(self, image: Any) -> Any:
        if self.method == CENTRE:
            return self._centre(image)
        if image.mode != "RGB":
            image = image.convert("RGB")
        if self.method == LONGEST:
            views = [self._letterbox(image)]
        else:
            views = [self._squash(image, box) for box in view_boxes(self.method, *image.size)]
        return self._array([self._normalise(v) for v in views])

    def extras(self, image: Any) -> Any | None:
        """The photo's extra views (``extra_view_boxes``) as a VCHW tensor, each square made
        by the same transform as the centre view; None when it has none."""
        boxes = extra_view_boxes(*image.size) if self.method == CENTRE else []
        if not boxes:
            return None
        views = [self._centre(image.crop(tuple(round(v) for v in box))) for box in boxes]
        if self.numpy:
            return np.stack(views)
        import torch

        return torch.stack(views)

    def _squash(self, image: Any, box: Box) -> Any:
        from PIL import Image

        return image.resize((self.size, self.size), Image.Resampling.BICUBIC, box=box)

    def _letterbox(self, image: Any) -> Any:
        from PIL import Image

        w, h = image.size
        scale = self.size / max(w, h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        canvas = Image.new("RGB", (self.size, self.size), (self.fill,) * 3)
        canvas.paste(
            image.resize((nw, nh), Image.Resampling.BICUBIC),
            ((self.size - nw) // 2, (self.size - nh) // 2),
        )
        return canvas

    def _centre(self, image: Any) -> Any:
        # The exported tower's input is the centre square's pixels; torch's, open_clip's
        # transform of it.
        return self.centre.pixels(image) if self.numpy else self.centre(image)  # type: ignore[attr-defined]

    def _normalise(self, view: Any) -> np.ndarray:
        if self.numpy:
            return np.asarray(view, np.uint8)  # the tower's input: its pixels
        x = np.asarray(view, np.float32).transpose(2, 0, 1) * np.float32(1 / 255)
        return np.ascontiguousarray((x - self.mean) / self.std)


def flatten_views(tensors: Sequence[Any]) -> tuple[Any, list[int]]:
    """Per-photo inputs (CHW or VCHW; torch tensors, or numpy arrays, which may be pixels,
    HWC or VHWC) -> one batch (NCHW, or NHWC) of the same kind and each photo's view count."""
    counts = [1 if t.ndim == 3 else int(t.shape[0]) for t in tensors]
    stack: Any
    cat: Any
    if tensors and isinstance(tensors[0], np.ndarray):
        stack, cat = np.stack, np.concatenate
    else:
        import torch

        stack, cat = torch.stack, torch.cat
    if all(c == 1 for c in counts):
        return stack([t if t.ndim == 3 else t[0] for t in tensors]), counts
    return cat([t[None] if t.ndim == 3 else t for t in tensors]), counts


def split_views(
    vectors: np.ndarray, counts: Sequence[int], extra_counts: Sequence[int]
) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """The model's rows for a batch of photos laid out as ``flatten_views`` then each photo's
    extra views -> per photo (its vector, its extra views or None)."""
    main_rows = int(sum(counts))
    main = blend(vectors[:main_rows], counts)
    out: list[tuple[np.ndarray, np.ndarray | None]] = []
    at = main_rows
    for vector, k in zip(main, extra_counts, strict=True):
        out.append((vector, vectors[at : at + k] if k else None))
        at += k
    return out


def blend(vectors: np.ndarray, counts: Sequence[int]) -> np.ndarray:
    """One unit vector per photo: the normalised mean of its views' unit vectors."""
    if all(c == 1 for c in counts):
        return vectors
    out = np.empty((len(counts), vectors.shape[1]), np.float32)
    start = 0
    for i, n in enumerate(counts):
        mean = vectors[start : start + n].mean(axis=0)
        out[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        start += n
    return out

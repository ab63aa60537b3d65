"""Procedural "photo" generator: one coloured shape on a coloured background.

Pure Pillow + numpy and fully deterministic from a seed (every random choice
comes from the ``random.Random`` that is passed in).  Used to train and test
the tiny CLIP model in ``resources/models/tiny-shapes`` and to build photo
libraries for end-to-end tests.

``render`` keeps the shape fully inside the *central square* of the image
(side = short side of the image), where a centre-cropping preprocess sees it;
``render_placed`` puts it wherever it is told (off centre, partly outside the
frame) and also returns its mask, for training views and for measuring how
much of a photo a preprocessing sees (bench/bench_framing.py).

CLI::

    python -m tools.shapes OUT_DIR --count N --seed S
"""

from __future__ import annotations

import argparse
import io
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 25, 30),
    "green": (30, 165, 55),
    "blue": (30, 70, 215),
    "yellow": (245, 220, 30),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
    "orange": (250, 135, 0),
    "purple": (135, 40, 175),
}

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star")

# Sub-folders used by write_library (nested, photo-library-like).
_LIBRARY_FOLDERS: tuple[str, ...] = (
    "2023/holiday",
    "2023/garden",
    "2024/misc/scans",
    "inbox",
)


@dataclass(frozen=True)
class Scene:
    colour: str
    shape: str
    background: str

    @property
    def caption(self) -> str:
        return f"a {self.colour} {self.shape} on a {self.background} background"

    @property
    def short_caption(self) -> str:
        return f"a {self.colour} {self.shape}"


def random_scene(rng: random.Random) -> Scene:
    """A random scene; the background colour always differs from the shape colour."""
    names = list(COLOURS)
    colour = rng.choice(names)
    shape = rng.choice(SHAPES)
    background = rng.choice([c for c in names if c != colour])
    return Scene(colour, shape, background)


def all_scenes() -> list[Scene]:
    """Every valid (colour, shape, background) combination (8 * 4 * 7 = 224)."""
    return [Scene(c, s, b) for c in COLOURS for s in SHAPES for b in COLOURS if b != c]


# --------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------


def _jitter(rgb: tuple[int, int, int], rng: random.Random, amount: int = 12) -> np.ndarray:
    return np.array(
        [min(255, max(0, v + rng.randint(-amount, amount))) for v in rgb], dtype=np.float32
    )


def _shape_polygon(
    shape: str, cx: float, cy: float, radius: float, angle: float
) -> list[tuple[float, float]]:
    """Vertices of a regular shape inscribed in the circle (cx, cy, radius)."""
    if shape == "square":
        pts = [(radius, angle + math.pi / 4 + k * math.pi / 2) for k in range(4)]
    elif shape == "triangle":
        pts = [(radius, angle - math.pi / 2 + k * 2 * math.pi / 3) for k in range(3)]
    elif shape == "star":
        inner = radius * 0.45
        pts = [
            (radius if k % 2 == 0 else inner, angle - math.pi / 2 + k * math.pi / 5)
            for k in range(10)
        ]
    else:  # pragma: no cover - circle handled separately
        raise ValueError(shape)
    return [(cx + r * math.cos(a), cy + r * math.sin(a)) for r, a in pts]


def _shape_mask(
    shape: str, box: int, radius: float, cx: float, cy: float, angle: float
) -> Image.Image:
    """Anti-aliased 'L' mask of side ``box`` (4x supersampled)."""
    ss = 4
    big = Image.new("L", (box * ss, box * ss), 0)
    draw = ImageDraw.Draw(big)
    if shape == "circle":
        r = radius * ss
        draw.ellipse([cx * ss - r, cy * ss - r, cx * ss + r, cy * ss + r], fill=255)
    else:
        poly = _shape_polygon(shape, cx * ss, cy * ss, radius * ss, angle)
        draw.polygon(poly, fill=255)
    return big.resize((box, box), Image.Resampling.BOX)


def _light_fields(
    w: int, h: int, rng: random.Random, nprng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel multiplicative and additive lighting fields (float32 HxW).

    A linear brightness gradient in a random direction plus a smooth
    low-frequency "texture" (a small random grid upsampled bicubically); the
    additive part also varies black and white backgrounds.
    """
    theta = rng.uniform(0, 2 * math.pi)
    strength = rng.uniform(0.0, 0.15)
    ys = np.linspace(-0.5, 0.5, h, dtype=np.float32)[:, None] * np.float32(
        strength * math.sin(theta)
    )
    xs = np.linspace(-0.5, 0.5, w, dtype=np.float32)[None, :] * np.float32(
        strength * math.cos(theta)
    )
    gw, gh = rng.randint(3, 8), rng.randint(3, 8)
    coarse = nprng.standard_normal(size=(gh, gw), dtype=np.float32)
    tex = np.asarray(
        Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC), dtype=np.float32
    )
    mul = (xs + ys) + tex * np.float32(rng.uniform(0.0, 0.06))
    mul += 1.0
    add = tex * np.float32(rng.uniform(0.0, 8.0))
    return mul, add


def render(scene: Scene, size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Render ``scene`` as an RGB image of ``size`` = (width, height), the shape inside
    the central square."""
    return _render(scene, size, rng, None)[0]


def render_placed(
    scene: Scene,
    size: tuple[int, int],
    rng: random.Random,
    centre: tuple[float, float],
    diameter: float,
) -> tuple[Image.Image, np.ndarray]:
    """Render ``scene`` with the shape's circumscribed circle at ``centre`` (pixels, may lie
    near or past the frame's edge) of ``diameter`` pixels. Returns the image and the
    shape's coverage (float32 HxW in 0..1) in the frame."""
    return _render(scene, size, rng, (float(centre[0]), float(centre[1]), float(diameter)))


def _render(
    scene: Scene,
    size: tuple[int, int],
    rng: random.Random,
    placement: tuple[float, float, float] | None,
) -> tuple[Image.Image, np.ndarray]:
    if scene.colour not in COLOURS or scene.background not in COLOURS:
        raise ValueError(f"unknown colour in {scene}")
    if scene.shape not in SHAPES:
        raise ValueError(f"unknown shape in {scene}")
    w, h = int(size[0]), int(size[1])
    if w < 8 or h < 8:
        raise ValueError(f"image too small: {size}")
    nprng = np.random.default_rng(rng.getrandbits(64))

    base = _jitter(COLOURS[scene.background], rng)
    mul, add = _light_fields(w, h, rng, nprng)
    # sensor-like noise: a luminance part (in `add`) and a per-channel part;
    # uniform noise scaled to the same standard deviation (cheaper than normal)
    sigma = rng.uniform(1.0, 6.0)
    luma = nprng.random(size=(h, w), dtype=np.float32)
    luma -= 0.5
    luma *= np.float32(math.sqrt(12.0) * sigma)
    add += luma
    img = base[None, None, :] * mul[:, :, None]
    img += add[:, :, None]

    if placement is None:
        # shape: diameter of its circumscribed circle is 35-70 % of the short side,
        # centre jittered but the whole circle stays inside the central square.
        short = min(w, h)
        diameter = short * rng.uniform(0.35, 0.70)
        radius = diameter / 2.0
        sq_x0 = (w - short) / 2.0
        sq_y0 = (h - short) / 2.0
        margin = radius + 1.0
        cx = sq_x0 + rng.uniform(margin, max(margin, short - margin))
        cy = sq_y0 + rng.uniform(margin, max(margin, short - margin))
    else:
        cx, cy, diameter = placement
        radius = diameter / 2.0
    angle = rng.uniform(0, 2 * math.pi) if scene.shape != "circle" else 0.0

    # the shape's box in the frame, clipped to it (the shape may reach past the edge)
    bx0, by0 = math.floor(cx - radius) - 2, math.floor(cy - radius) - 2
    box = math.ceil(diameter) + 5
    x0, y0 = max(0, bx0), max(0, by0)
    x1, y1 = min(w, bx0 + box), min(h, by0 + box)
    coverage = np.zeros((h, w), np.float32)
    if x1 > x0 and y1 > y0:
        mask = _shape_mask(scene.shape, box, radius, cx - bx0, cy - by0, angle)
        alpha = np.asarray(mask, dtype=np.float32)[y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0]
        alpha = alpha * np.float32(1.0 / 255.0)
        coverage[y0:y1, x0:x1] = alpha
        fg = _jitter(COLOURS[scene.colour], rng) * np.float32(rng.uniform(0.9, 1.05))
        region = img[y0:y1, x0:x1]
        shape_px = fg[None, None, :] + luma[y0:y1, x0:x1, None]
        region += alpha[:, :, None] * (shape_px - region)

    chan = nprng.random(size=(h, w, 3), dtype=np.float32)
    chan -= 0.5
    chan *= np.float32(math.sqrt(12.0) * sigma * 0.5)
    img += chan
    np.clip(img, 0, 255, out=img)
    return Image.fromarray(img.astype(np.uint8)), coverage


def jpeg_roundtrip(image: Image.Image, quality: int) -> Image.Image:
    """Encode as JPEG and decode again (to get real JPEG artefacts)."""
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out.convert("RGB")


# --------------------------------------------------------------------------
# photo library
# --------------------------------------------------------------------------


def write_library(
    root: Path,
    count: int,
    seed: int,
    min_side: int = 400,
    max_side: int = 1600,
) -> list[tuple[Path, Scene]]:
    """Write ``count`` photo-like JPEGs under ``root`` (in nested sub-folders).

    Also writes ``root/manifest.json``: a list of
    ``{"path": <relative posix path>, "colour", "shape", "background"}``.
    Returns ``[(absolute path, scene), ...]`` in file-number order.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    result: list[tuple[Path, Scene]] = []
    manifest = []
    width = max(4, len(str(count)))
    for i in range(1, count + 1):
        scene = random_scene(rng)
        w = rng.randint(min_side, max_side)
        h = rng.randint(min_side, max_side)
        folder = _LIBRARY_FOLDERS[rng.randrange(len(_LIBRARY_FOLDERS))]
        quality = rng.randint(85, 95)
        name = f"{i:0{width}d}-{scene.colour}-{scene.shape}-on-{scene.background}.jpg"
        rel = f"{folder}/{name}"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        render(scene, (w, h), rng).save(path, format="JPEG", quality=quality)
        result.append((path, scene))
        manifest.append(
            {
                "path": rel,
                "colour": scene.colour,
                "shape": scene.shape,
                "background": scene.background,
            }
        )
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return result


def read_manifest(root: Path) -> dict[str, dict[str, str]]:
    """``write_library``'s manifest: {absolute path: {path, colour, shape, background}}."""
    entries = json.loads((Path(root) / "manifest.json").read_text(encoding="utf-8"))
    return {str((Path(root) / e["path"]).resolve()): e for e in entries}


# Frames of held-out photos for bench/bench_framing.py: (name, width / height).
FRAMES: tuple[tuple[str, float], ...] = (
    ("4:3", 4 / 3),
    ("3:2", 3 / 2),
    ("16:9", 16 / 9),
    ("9:16", 9 / 16),
    ("3:1", 3.0),
)


def centre_square(width: int, height: int) -> tuple[int, int, int, int]:
    """The square a centre-cropping preprocess keeps: (left, top, right, bottom)."""
    short = min(width, height)
    x0, y0 = (width - short) // 2, (height - short) // 2
    return x0, y0, x0 + short, y0 + short


def write_framed_library(root: Path, count: int, seed: int) -> list[dict]:
    """Write ``count`` held-out photos whose shape lies anywhere in the frame (wholly inside
    it) in the frames of ``FRAMES`` (long side 640-1600 px), and ``root/manifest.json``:
    a list of ``{"path", "colour", "shape", "background", "frame", "in_centre"}``, where
    ``in_centre`` is the fraction of the shape inside the photo's centre square."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    manifest = []
    for i in range(1, count + 1):
        scene = random_scene(rng)
        frame, aspect = FRAMES[(i - 1) % len(FRAMES)]
        long = rng.randint(640, 1600)
        w, h = (long, round(long / aspect)) if aspect >= 1 else (round(long * aspect), long)
        diameter = min(w, h) * rng.uniform(0.25, 0.6)
        margin = diameter / 2 + 1
        centre = (rng.uniform(margin, w - margin), rng.uniform(margin, h - margin))
        image, coverage = render_placed(scene, (w, h), rng, centre, diameter)
        x0, y0, x1, y1 = centre_square(w, h)
        in_centre = float(coverage[y0:y1, x0:x1].sum() / max(coverage.sum(), 1e-6))
        rel = f"{i:04d}-{frame.replace(':', 'x')}-{scene.colour}-{scene.shape}.jpg"
        image.save(root / rel, format="JPEG", quality=rng.randint(85, 95))
        manifest.append(
            {
                "path": rel,
                "colour": scene.colour,
                "shape": scene.shape,
                "background": scene.background,
                "frame": frame,
                "in_centre": round(in_centre, 4),
            }
        )
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write a library of generated coloured-shape photos."
    )
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-side", type=int, default=400)
    parser.add_argument("--max-side", type=int, default=1600)
    args = parser.parse_args(argv)
    items = write_library(args.out_dir, args.count, args.seed, args.min_side, args.max_side)
    print(f"wrote {len(items)} images and manifest.json to {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

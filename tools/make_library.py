"""Generate a realistic photo library for benchmarks: full-size camera JPEGs (12 MP by
default) in nested year/event folders, with EXIF dates, camera names and orientation.

Content comes from real photographs bundled with scikit-image, cropped, rescaled, tinted
and noised differently for every file, so JPEG sizes and decode costs are those of real
camera files (4-6 MB at quality 92), not of flat synthetic images.

    python -m tools.make_library OUT --count 300 --megapixels 12
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
from PIL import Image

_SOURCES = ("astronaut", "coffee", "chelsea", "rocket", "cat", "horse", "hubble_deep_field")
_CAMERAS = (("Canon", "Canon EOS R6"), ("NIKON CORPORATION", "NIKON Z 6_2"), ("Apple", "iPhone 13"))
_EVENTS = ("beach", "birthday", "hike", "city", "garden", "snow")


def _sources() -> list[np.ndarray]:
    from skimage import data

    out = []
    for name in _SOURCES:
        arr = getattr(data, name)()
        out.append(np.asarray(Image.fromarray(arr).convert("RGB")))
    return out


def make_photo(src: np.ndarray, size: tuple[int, int], rng: random.Random) -> Image.Image:
    h, w = src.shape[:2]
    cw, ch = int(w * rng.uniform(0.6, 1.0)), int(h * rng.uniform(0.6, 1.0))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    img = Image.fromarray(src[y : y + ch, x : x + cw]).resize(size, Image.Resampling.BICUBIC)
    arr = np.asarray(img, dtype=np.float32)
    gain = np.array([rng.uniform(0.85, 1.15) for _ in range(3)], np.float32)
    nprng = np.random.default_rng(rng.randrange(1 << 30))
    # Sensor-like noise at a fraction of the resolution, upsampled: keeps entropy realistic
    # without spending minutes on per-pixel random numbers.
    noise_small = nprng.normal(0, 6, (size[1] // 4 + 1, size[0] // 4 + 1, 3)).astype(np.float32)
    noise = np.repeat(np.repeat(noise_small, 4, axis=0), 4, axis=1)[: size[1], : size[0]]
    arr = np.clip(arr * gain + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def write_library(root: Path, count: int, megapixels: float = 12.0, seed: int = 1) -> list[Path]:
    rng = random.Random(seed)
    sources = _sources()
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(width * 3 / 4)
    paths = []
    for i in range(count):
        year = 2015 + i % 10
        folder = root / str(year) / f"{year}-{(i % 12) + 1:02d} {_EVENTS[i % len(_EVENTS)]}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"IMG_{i:05d}.JPG"
        paths.append(path)
        if path.exists():
            continue
        portrait = rng.random() < 0.25
        img = make_photo(sources[i % len(sources)], (width, height), rng)
        exif = Image.Exif()
        make, model = _CAMERAS[i % len(_CAMERAS)]
        exif[0x010F], exif[0x0110] = make, model
        exif[0x0112] = 6 if portrait else 1
        exif.get_ifd(0x8769)[0x9003] = (
            f"{year}:{(i % 12) + 1:02d}:{(i % 28) + 1:02d} 10:{i % 60:02d}:00"
        )
        img.save(path, "JPEG", quality=92, exif=exif.tobytes())
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    paths = write_library(args.out, args.count, args.megapixels, args.seed)
    total = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} photos, {total / 1e6:.0f} MB in {args.out}")


if __name__ == "__main__":
    main()

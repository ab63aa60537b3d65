"""Duplicates told apart (#10 part 4): precision and recall per kind on real photos and their
copies, through the production indexer and the tiny model; and the time of a full scan of
100,000 photos.

    .venv/bin/python -m bench.bench_duplicates            # both
    .venv/bin/python -m bench.bench_duplicates --quality  # the photos only
    .venv/bin/python -m bench.bench_duplicates --speed    # the 100,000 only
    .venv/bin/python -m bench.bench_duplicates --speed --compare  # and the exhaustive search

The photos: scikit-image's sample photographs, each saved as a camera original (JPEG with an
EXIF capture time, hours apart), and for some of them an exact copy, a re-encode at quality
60, a copy resized to half as PNG, a copy cropped by 5 % (2.5 % off each side) and a copy
exported again at 80 % size (the last four without EXIF, as most exports); and burst-like
series: three shots of one generated scene a second apart (the frame shifted a few pixels,
the exposure nudged), EXIF-dated; and pairs of different generated scenes taken 5 s apart
(not similar). Pairs are scored per kind: the true exact pairs are the
original and its byte copy; the same photo, every other pair among an original and its
copies; similar shots, the pairs within a series.
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from photoclip import duplicates  # noqa: E402
from photoclip.store import Store  # noqa: E402

# Photographs with copies made of them, and photographs left alone (they must stay out of
# every group). The textures (brick, grass, gravel) and grey scans are hard negatives.
WITH_COPIES = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field",
               "immunohistochemistry", "retina", "camera", "coins", "clock")  # fmt: skip
ALONE = ("colorwheel", "horse", "moon", "brick", "grass", "gravel", "cell", "page", "text")
BURSTS = 6
SHOTS = 3


@dataclass
class Truth:
    exact: set[tuple[str, str]]
    same: set[tuple[str, str]]
    similar: set[tuple[str, str]]

    def of(self, kind: str) -> set[tuple[str, str]]:
        return {"exact": self.exact, "same": self.same, "similar": self.similar}[kind]


def _pair(a: Path | str, b: Path | str) -> tuple[str, str]:
    x, y = sorted((str(a), str(b)))
    return x, y


def _exif(when: str) -> Any:
    from PIL import Image

    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = when  # DateTimeOriginal
    exif[0x0132] = when  # DateTime
    return exif


def _sample(name: str) -> Any:
    from PIL import Image
    from skimage import data

    return Image.fromarray(getattr(data, name)()).convert("RGB")


def write_duplicate_library(root: Path, held_out: bool = False) -> Truth:
    """Writes the photos (see the module's doc) under ``root``; returns the true pairs. The
    held-out set swaps the photos that get copies with those left alone, and makes its copies
    and bursts with other settings and seeds."""
    from tools.shapes import random_scene, render

    originals, copies = root / "camera", root / "exports"
    originals.mkdir(parents=True)
    copies.mkdir()
    truth = Truth(set(), set(), set())
    with_copies = ALONE if held_out else WITH_COPIES
    quality, half, export = (50, 3, 0.7) if held_out else (60, 2, 0.8)
    for n, name in enumerate(WITH_COPIES + ALONE):
        im = _sample(name)
        original = originals / f"{name}.jpg"
        im.save(original, quality=95, exif=_exif(f"2023:06:{1 + n:02d} 10:00:00"))
        if name not in with_copies:
            continue
        w, h = im.size
        family = [original]
        copy = copies / f"{name} copy.jpg"
        shutil.copyfile(original, copy)
        truth.exact.add(_pair(original, copy))
        family.append(copy)
        reencoded = copies / f"{name} (quality {quality}).jpg"
        im.save(reencoded, quality=quality)
        resized = copies / f"{name} (small).png"
        im.resize((w // half, h // half), resample=3).save(resized)
        cropped = copies / f"{name} (cropped).jpg"
        if held_out:  # 5 % off one corner's two sides
            im.crop((0, 0, w - round(w * 0.05), h - round(h * 0.05))).save(cropped, quality=90)
        else:  # 2.5 % off each side
            dx, dy = round(w * 0.025), round(h * 0.025)
            im.crop((dx, dy, w - dx, h - dy)).save(cropped, quality=90)
        exported = copies / f"{name} (exported).jpg"
        im.resize((round(w * export), round(h * export)), resample=1).save(exported, quality=85)
        family += [reencoded, resized, cropped, exported]
        truth.same |= {_pair(a, b) for a, b in itertools.combinations(family, 2)} - truth.exact
    bursts = root / "bursts"
    bursts.mkdir()
    rng = random.Random(2027 if held_out else 2026)
    for n in range(BURSTS):
        scene = random_scene(rng)
        wide = np.asarray(render(scene, (680, 510), random.Random(rng.getrandbits(32))))
        shots = []
        for k in range(SHOTS):
            x, y = 8 + rng.randint(-8, 8), 6 + rng.randint(-6, 6)
            frame = wide[y : y + 480, x : x + 640].astype(np.float32) * (1 + 0.04 * (k - 1))
            from PIL import Image

            shot = bursts / f"burst {n} shot {k}.jpg"
            Image.fromarray(np.clip(frame, 0, 255).astype(np.uint8)).save(
                shot, quality=92, exif=_exif(f"2024:0{1 + n}:10 12:00:{10 + k:02d}")
            )
            shots.append(shot)
        truth.similar |= {_pair(a, b) for a, b in itertools.combinations(shots, 2)}
    # Moments that follow each other but aren't alike: two different scenes 5 s apart.
    for n in range(BURSTS):
        for k in range(2):
            scene = random_scene(rng)
            render(scene, (640, 480), random.Random(rng.getrandbits(32))).save(
                bursts / f"sequence {n} photo {k}.jpg",
                quality=92,
                exif=_exif(f"2025:0{1 + n}:10 09:30:{10 + 5 * k:02d}"),
            )
    return truth


@dataclass
class KindFigures:
    found: int
    true: int
    right: int

    @property
    def precision(self) -> float:
        return self.right / self.found if self.found else float("nan")

    @property
    def recall(self) -> float:
        return self.right / self.true if self.true else float("nan")


def score(store: Store, truth: Truth) -> dict[str, KindFigures]:
    paths = {f.id: f.path for f in store.photo_files()}
    found: dict[str, set[tuple[str, str]]] = {k: set() for k in duplicates.KINDS}
    for a, b, kind, _ in store.duplicate_pairs():
        found[kind].add(_pair(paths[a], paths[b]))
    return {
        k: KindFigures(len(found[k]), len(truth.of(k)), len(found[k] & truth.of(k)))
        for k in duplicates.KINDS
    }


def quality(embedder, root: Path, held_out: bool = False) -> dict[str, KindFigures]:
    """The photos indexed into a real library and scanned; the figures per kind."""
    from photoclip.indexer import Indexer

    truth = write_duplicate_library(root / "photos", held_out)
    store = Store(root / "library.db")
    try:
        report = Indexer(store, embedder).run([str(root / "photos")], add=True)
        assert report.failed == 0, report
        model_id = store.model_id(embedder.identity)
        duplicates.Duplicates(store, model_id, embedder.identity.dim).scan()
        return score(store, truth)
    finally:
        store.close()


def print_quality(figures: dict[str, KindFigures]) -> None:
    print(f"constants: SAME_COSINE {duplicates.SAME_COSINE}, SAME_DHASH_BITS "
          f"{duplicates.SAME_DHASH_BITS}, SIMILAR_COSINE {duplicates.SIMILAR_COSINE}, "
          f"SIMILAR_WINDOW_S {duplicates.SIMILAR_WINDOW_S}")  # fmt: skip
    for kind, f in figures.items():
        print(
            f"  {duplicates.KIND_NAMES[kind]:<15} pairs found {f.found:>3}, true {f.true:>3}, "
            f"right {f.right:>3}: precision {f.precision:.3f}, recall {f.recall:.3f}"
        )


# -- speed -------------------------------------------------------------------------------------


def synthetic_library(n: int, dim: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors: "isotropic" (random directions, the hardest case for the bound) or
    "clip-like" (a shared mean direction and a spread falling off with the dimension, so that
    unrelated photos score about 0.5, as CLIP image vectors do), 1 % of them near-copies."""
    x = rng.standard_normal((n, dim), dtype=np.float32)
    if kind == "clip-like":
        x *= (np.arange(1, dim + 1, dtype=np.float32) ** -0.5)[None, :]
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        mean = rng.standard_normal(dim).astype(np.float32)
        x += mean / np.linalg.norm(mean)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    originals, copies = rng.choice(n, n // 50, replace=False).reshape(2, -1)
    x[copies] = x[originals] + 0.01 * rng.standard_normal((len(copies), dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


# (vectors, share of photos without a capture time): the typical case first, then the two
# hard ones (no EXIF anywhere: every photo compared with every other; random directions: the
# bound prunes nothing and every block is multiplied in full).
SPEED_CASES = (("clip-like", 0.2), ("clip-like", 1.0), ("isotropic", 0.2))


def speed(n: int = 100_000, dim: int = 512, runs: int = 3, compare: bool = False) -> None:
    """A full scan of a real library of ``n`` photos per case (their vectors under the default
    model's dimension; no two files share a size, so no file is read; the difference hashes
    of candidate pairs come from thumbnails in the library), the cases alternated; medians.
    With ``compare``, each scan is also run exhaustively (no hashed candidates, as before
    them), alternated with today's, and today's pairs are checked against it."""
    import io

    from PIL import Image

    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 80, 40)).save(buf, "JPEG")
    jpeg = buf.getvalue()
    times: dict[tuple[str, float], list[float]] = {case: [] for case in SPEED_CASES}
    found: dict[tuple[str, float], int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        stores = {}
        for k, (kind, untimed) in enumerate(SPEED_CASES):
            store = Store(Path(tmp) / f"{k}.db")
            fid = store.add_folder(tmp)
            model_id = store.model_id(_identity(dim))
            vecs = synthetic_library(n, dim, kind, rng)
            no_time = rng.random(n) < untimed
            with store.transaction() as conn:
                conn.executemany(
                    "INSERT INTO photos (id, folder_id, path, size, mtime_ns, status, taken_at, "
                    "taken_at_source, width, height, format, indexed_at) VALUES "
                    "(?, ?, ?, ?, 1, 'indexed', ?, ?, 4000, 3000, 'JPEG', 0)",
                    ((i + 1, fid, f"{tmp}/p{i}.jpg", 1000 + i,
                      f"20{10 + i // 10_000}-01-01T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:"
                      f"{i % 60:02d}", "file" if no_time[i] else "exif") for i in range(n)),
                )  # fmt: skip
                conn.executemany(
                    "INSERT INTO vectors (photo_id, model_id, vector) VALUES (?, ?, ?)",
                    ((i + 1, model_id, vecs[i].tobytes()) for i in range(n)),
                )
                conn.executemany(
                    "INSERT INTO thumbnails (photo_id, jpeg, width, height) VALUES (?, ?, 64, 48)",
                    ((i + 1, jpeg) for i in range(n)),
                )
            stores[kind, untimed] = (store, model_id)
        exhaustive: dict[tuple[str, float], list[float]] = {case: [] for case in SPEED_CASES}
        pairs: dict[tuple[str, float, bool], set[tuple[int, int, str]]] = {}
        for _ in range(runs):
            for case, (store, model_id) in stores.items():
                for exact in (True, False) if compare else (False,):
                    # the exhaustive search (the scan before hashed candidates) and today's
                    saved = duplicates.LSH_MIN_PAIRS
                    if exact:
                        duplicates.LSH_MIN_PAIRS = 1 << 62
                    try:
                        started = time.perf_counter()
                        report = duplicates.Duplicates(store, model_id, dim).scan(full=True)
                        (exhaustive if exact else times)[case].append(time.perf_counter() - started)
                    finally:
                        duplicates.LSH_MIN_PAIRS = saved
                    found[case] = sum(report.pairs.values())
                    pairs[(*case, exact)] = {(a, b, k) for a, b, k, _ in store.duplicate_pairs()}
        for store, _ in stores.values():
            store.close()
    print(f"\nfull scan of {n:,} photos, {dim}-dimensional vectors (1 % of them planted near-"
          f"copies), 2 CPU cores shared with other work; medians of {runs}, cases "
          f"{'and the exhaustive search ' if compare else ''}alternated:")  # fmt: skip
    for (kind, untimed), t in times.items():
        print(f"  {kind:<9} vectors, {untimed:4.0%} without a capture time: "
              f"{statistics.median(t):5.1f} s (runs {', '.join(f'{x:.1f}' for x in t)}), pairs "
              f"found {found[kind, untimed]}")  # fmt: skip
        if compare:
            old, new = pairs[kind, untimed, True], pairs[kind, untimed, False]
            ex = exhaustive[kind, untimed]
            print(f"    exhaustive: {statistics.median(ex):5.1f} s (runs "
                  f"{', '.join(f'{x:.1f}' for x in ex)}); of its {len(old)} pairs found "
                  f"{len(old & new)} (recall {len(old & new) / max(len(old), 1):.4f}), "
                  f"{len(new - old)} others")  # fmt: skip


def _identity(dim: int) -> Any:
    from photoclip.models import ModelIdentity

    return ModelIdentity("bench", "random", "0" * 64, dim)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quality", action="store_true", help="the photos only")
    parser.add_argument("--speed", action="store_true", help="the 100,000 only")
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--compare", action="store_true", help="with --speed: against the exhaustive search"
    )
    args = parser.parse_args(argv)
    if not args.speed:
        from photoclip.embedder import load_embedder

        embedder = load_embedder(
            "tiny-shapes", device="cpu", precision="fp32", allow_download=False
        )
        for held_out in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                print(
                    f"real photos and their copies, tiny model, "
                    f"{'held-out set' if held_out else 'the set the constants were chosen on'}:"
                )
                print_quality(quality(embedder, Path(tmp), held_out))
    if not args.quality:
        speed(args.photos, runs=args.runs, compare=args.compare)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What each way of feeding a photo to the model lets search find (issue #11): not a test.

    python -m bench.bench_framing [--count 600] [--rounds 3] [--model-dir DIR] [--twin MODEL]

Writes held-out photos whose shape lies anywhere in the frame (4:3, 3:2, 16:9, 9:16 and 3:1,
``tools.shapes.write_framed_library``; seeds unlike training's), indexes them with the tiny
model through the indexer's own steps (``decode_photo``, the method's views, the model, one
vector per photo), and searches "a {colour} {shape}". A photo is found when it is within the
first |relevant| results of its own query. Rows: found rate by how much of the shape lies in
the centre square, precision@5, views per photo, and indexing photos/s relative to the centre
crop (decode + views + model, methods alternated in rounds, medians)."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from photoclip import preprocess as pp  # noqa: E402
from tools.shapes import COLOURS, FRAMES, SHAPES, write_framed_library  # noqa: E402

# (row label, preprocessing method, how a photo's views make its score)
ROWS: tuple[tuple[str, str, str], ...] = (
    ("centre crop (open_clip default, today)", pp.CENTRE, "mean"),
    ("squash (whole photo into the square)", pp.SQUASH, "mean"),
    ("longest + pad (letterbox)", pp.LONGEST, "mean"),
    ("crops: overlapping squares, mean vector", pp.CROPS, "mean"),
    ("crops: overlapping squares, best crop", pp.CROPS, "max"),
    ("whole: squash to 4:3, 4:3 windows beyond, mean vector", pp.WHOLE, "mean"),
    ("whole: squash to 4:3, 4:3 windows beyond, best window", pp.WHOLE, "max"),
)
GROUPS = (
    ("centred", "wholly inside the centre square"),
    ("partly", "partly outside it, >= 75 % inside"),
    ("mostly", "mostly outside it, < 75 % inside"),
)


def group_of(in_centre: float) -> str:
    return "centred" if in_centre >= 0.999 else "partly" if in_centre >= 0.75 else "mostly"


def load_model(model_dir: Path) -> Any:
    import open_clip

    from photoclip.embedder import Embedder
    from photoclip.models import ModelIdentity, get_spec

    name = f"local-dir:{model_dir.resolve()}"
    clip, _, centre = open_clip.create_model_and_transforms(name)
    clip.eval()
    tokenizer = open_clip.get_tokenizer(name)
    cfg = open_clip.get_model_preprocess_cfg(clip)
    views = pp.ViewTransform(pp.CENTRE, cfg, centre)
    identity = ModelIdentity("tiny-shapes", "bench", "0" * 64, 64, pp.CENTRE)
    return Embedder(get_spec("tiny-shapes"), clip, views, tokenizer, identity, "cpu", "fp32")


def embed_all(embedder: Any, paths: list[str], batch: int = 16) -> tuple[np.ndarray, list[int]]:
    """Every view's unit vector, and each photo's view count (the indexer's steps)."""
    from photoclip.imaging import decode_photo
    from photoclip.preprocess import flatten_views

    vectors, counts = [], []
    for i in range(0, len(paths), batch):
        tensors = [
            embedder.preprocess(decode_photo(p, embedder.image_size).image)
            for p in paths[i : i + batch]
        ]
        flat, n = flatten_views(tensors)
        vectors.append(embedder.encode_tensors(flat))
        counts += n
    return np.concatenate(vectors), counts


def photo_scores(view_scores: np.ndarray, vectors: np.ndarray, counts: list[int], how: str):
    """One score per photo for each query column: its blended vector's, or its best view's."""
    out = []
    start = 0
    for n in counts:
        part = view_scores[start : start + n]
        if how == "max":
            out.append(part.max(axis=0))
        else:
            mean = vectors[start : start + n].mean(axis=0)
            mean /= max(float(np.linalg.norm(mean)), 1e-12)
            out.append(mean @ QUERIES_T)
        start += n
    return np.stack(out)


QUERIES_T: np.ndarray  # (dim, 32): the query vectors, set in main
QUERY_PAIRS = [(c, s) for c in COLOURS for s in SHAPES]


def evaluate(scores: np.ndarray, manifest: list[dict]) -> dict[str, float]:
    keys = [(e["colour"], e["shape"]) for e in manifest]
    found: dict[str, list[bool]] = defaultdict(list)
    frames: dict[str, list[bool]] = defaultdict(list)
    precision = []
    for q, pair in enumerate(QUERY_PAIRS):
        relevant = np.array([k == pair for k in keys])
        n_rel = int(relevant.sum())
        if n_rel == 0:
            continue
        order = np.argsort(-scores[:, q], kind="stable")
        top = set(order[:n_rel].tolist())
        precision.append(relevant[order[:5]].sum() / 5)
        for i in np.flatnonzero(relevant):
            hit = int(i) in top
            found[group_of(manifest[i]["in_centre"])].append(hit)
            if group_of(manifest[i]["in_centre"]) != "centred":
                frames[manifest[i]["frame"]].append(hit)
    out = {g: float(np.mean(found[g])) for g, _ in GROUPS}
    out["outside"] = float(np.mean(found["partly"] + found["mostly"]))
    out["p@5"] = float(np.mean(precision))
    out.update({f"frame {f}": float(np.mean(frames[f])) for f, _ in FRAMES if frames[f]})
    return out


def shipped(embedder: Any, root: Path, manifest: list[dict], rounds: int) -> list[str]:
    """What photoclip ships, end to end: ``Indexer.run`` into a real library (the centre
    square, plus extra views for photos beyond preprocess.EXTRA_VIEWS_BEYOND) and the
    searcher's own scores (a photo's best view); against the same indexer without extra
    views, alternated, for the cost (photos/s, medians of ``rounds``)."""
    from photoclip.indexer import Indexer
    from photoclip.search import Searcher
    from photoclip.store import Store

    beyond = pp.EXTRA_VIEWS_BEYOND
    rates: dict[str, list[float]] = defaultdict(list)
    found: dict[str, tuple[dict[str, float], float]] = {}
    scored: dict[str, np.ndarray] = {}
    for r in range(rounds):
        for label in ("centre only", "shipped") if r % 2 == 0 else ("shipped", "centre only"):
            pp.EXTRA_VIEWS_BEYOND = beyond if label == "shipped" else float("inf")
            with tempfile.TemporaryDirectory() as tmp:
                store = Store(Path(tmp) / "library.db")
                report = Indexer(store, embedder, batch_size=16).run([str(root)], add=True)
                rates[label].append(report.indexed / report.elapsed_s)
                index = Searcher(store, embedder).index
                index.refresh()
                ids, _, scores = index.scores(QUERIES_T)
                paths = {r["id"]: r["path"] for r in store.photos_by_id(ids.tolist())}
                row_of = {paths[int(i)]: n for n, i in enumerate(ids)}
                order = [row_of[str((root / e["path"]).resolve())] for e in manifest]
                views = (len(ids) + index.view_count()) / len(ids)
                found[label] = (evaluate(scores[order], manifest), views)
                scored[label] = scores[order]
                store.close()
    pp.EXTRA_VIEWS_BEYOND = beyond
    base = statistics.median(rates["centre only"])
    lines = []
    for label, (got, views) in found.items():
        rate = statistics.median(rates[label])
        cells = [f"photoclip index + search, {label}", *[f"{got[g]:.3f}" for g, _ in GROUPS],
                 f"{got['outside']:.3f}", f"{got['p@5']:.3f}", f"{views:.2f}", f"{rate:.0f}",
                 f"{rate / base:.2f}"]  # fmt: skip
        cells += [f"{got.get(f'frame {f}', float('nan')):.2f}" for f, _ in FRAMES]
        lines.append(" | ".join(cells))
    lines.append(
        f"(extra views beyond {pp.EXTRA_VIEWS_BEYOND:g}:1, margin {pp.EXTRA_VIEW_MARGIN:g}; "
        f"photos/s: Indexer.run, tiny model, medians of {rounds} alternated rounds)"
    )
    worse, centred = pushed_down(scored["centre only"], scored["shipped"], manifest)
    lines.append(
        f"centred subjects with more unrelated photos ranked above them than with the centre "
        f"square only: {worse} of {centred} (a centred subject that drops out of its query's "
        "first |relevant| results otherwise gave way to relevant photos the views found)"
    )
    return lines


def pushed_down(before: np.ndarray, after: np.ndarray, manifest: list[dict]) -> tuple[int, int]:
    """How many centred subjects have more photos of something else ranked above them in
    ``after`` than in ``before`` (photos x queries scores), of how many."""
    keys = [(e["colour"], e["shape"]) for e in manifest]
    worse = centred = 0
    for q, pair in enumerate(QUERY_PAIRS):
        relevant = np.array([k == pair for k in keys])
        for i in np.flatnonzero(relevant):
            if group_of(manifest[i]["in_centre"]) != "centred":
                continue
            centred += 1
            above = [int(((s[:, q] > s[i, q]) & ~relevant).sum()) for s in (before, after)]
            worse += above[1] > above[0]
    return worse, centred


def twin_pipeline(model: str, count: int, rounds: int) -> None:
    """Indexer.run photos/s with a random-weight twin of ``model`` over ``count`` 12 MP camera
    JPEGs (4:3, as in bench_index's comparison with rclip) and over as many panoramas (3:1,
    made from them), for the centre crop and ``whole``, alternated, medians of ``rounds``."""
    import os

    from PIL import Image

    from photoclip.embedder import load_embedder
    from photoclip.indexer import Indexer
    from photoclip.store import Store
    from tools.make_library import write_library
    from tools.random_twin import make_twin

    cache = REPO / ".cache"
    os.environ.setdefault("HF_HUB_CACHE", str(cache / "hf"))
    os.environ["HF_HUB_OFFLINE"] = "1"
    make_twin(model, os.environ["HF_HUB_CACHE"])
    camera = cache / "bench" / f"library-{count}"
    paths = write_library(camera, count)
    panoramas = cache / "bench" / f"panoramas-{count}"
    if not panoramas.is_dir():
        panoramas.mkdir(parents=True)
        for i, p in enumerate(paths):
            with Image.open(p) as im:
                w, h = im.size
                im.crop((0, (h - w // 3) // 2, w, (h + w // 3) // 2)).save(
                    panoramas / f"pano-{i:04d}.jpg", quality=92
                )
    loaded = load_embedder(model, precision="fp32")
    embedders = {m: loaded.with_preprocess(m) for m in (pp.CENTRE, pp.WHOLE)}
    for label, folder in (("camera photos 4:3", camera), ("panoramas 3:1", panoramas)):
        rates: dict[str, list[float]] = defaultdict(list)
        for r in range(rounds):
            for m in list(embedders) if r % 2 == 0 else list(embedders)[::-1]:
                with tempfile.TemporaryDirectory() as tmp:
                    store = Store(Path(tmp) / "library.db")
                    report = Indexer(store, embedders[m]).run([str(folder)], add=True)
                    rates[m].append(report.indexed / report.elapsed_s)
                    store.close()
        base = statistics.median(rates[pp.CENTRE])
        for m in embedders:
            rate = statistics.median(rates[m])
            print(f"{model} twin, {label}, {m}: {rate:.1f} photos/s ({rate / base:.2f}x centre)",
                  flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=600)
    ap.add_argument("--seed", type=int, nargs="+", default=[20261129],
                    help="held-out library seed; several (with --shipped-only): one library "
                    "each, e.g. the tuning libraries 777 778 779")  # fmt: skip
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--model-dir", type=Path, default=REPO / "resources/models/tiny-shapes")
    ap.add_argument("--twin", metavar="MODEL", help="also: indexing speed with MODEL's twin")
    ap.add_argument("--twin-count", type=int, default=48)
    ap.add_argument("--beyond", type=float, help="extra views beyond this aspect (tuning)")
    ap.add_argument("--margin", type=float, help="extra views' margin (tuning)")
    ap.add_argument("--shipped-only", action="store_true", help="only photoclip's own rows")
    args = ap.parse_args(argv)
    if args.beyond is not None:
        pp.EXTRA_VIEWS_BEYOND = args.beyond
    if args.margin is not None:
        pp.EXTRA_VIEW_MARGIN = args.margin

    import torch

    torch.set_num_threads(2)
    embedder = load_model(args.model_dir)
    if len(args.seed) > 1 and not args.shipped_only:
        ap.error("several seeds go with --shipped-only")
    if args.shipped_only:
        for seed in args.seed:
            with tempfile.TemporaryDirectory() as tmp:
                manifest = held_out(embedder, Path(tmp), args, seed)
                print("\n".join(shipped(embedder, Path(tmp), manifest, args.rounds)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        manifest = held_out(embedder, Path(tmp), args, args.seed[0])
        paths = [str(Path(tmp) / e["path"]) for e in manifest]
        methods = sorted({m for _, m, _ in ROWS}, key=[m for _, m, _ in ROWS].index)
        twins = {m: embedder.with_preprocess(m) for m in methods}
        rates: dict[str, list[float]] = defaultdict(list)
        embedded: dict[str, tuple[np.ndarray, list[int]]] = {}
        embed_all(twins[pp.CENTRE], paths[:32])  # warm-up
        for r in range(args.rounds):
            for m in methods if r % 2 == 0 else methods[::-1]:
                t = time.perf_counter()
                embedded[m] = embed_all(twins[m], paths)
                rates[m].append(len(paths) / (time.perf_counter() - t))
        ours = shipped(embedder, Path(tmp), manifest, args.rounds)

    base = statistics.median(rates[pp.CENTRE])
    head = ["method", *[g for g, _ in GROUPS], "outside", "p@5", "views", "photos/s", "vs today"]
    head += [f"out {f}" for f, _ in FRAMES]
    print(" | ".join(head))
    for label, method, how in ROWS:
        vectors, counts = embedded[method]
        scores = photo_scores(vectors @ QUERIES_T, vectors, counts, how)
        got = evaluate(scores, manifest)
        rate = statistics.median(rates[method])
        cells = [label, *[f"{got[g]:.3f}" for g, _ in GROUPS], f"{got['outside']:.3f}",
                 f"{got['p@5']:.3f}", f"{np.mean(counts):.2f}", f"{rate:.0f}",
                 f"{rate / base:.2f}"]  # fmt: skip
        cells += [f"{got.get(f'frame {f}', float('nan')):.2f}" for f, _ in FRAMES]
        print(" | ".join(cells), flush=True)
    print("\n".join(ours))
    print(
        f"photos/s: decode + views + model, tiny model, median of {args.rounds} rounds with "
        "the methods alternated; 'views': the model's work per photo (one view = 1)"
    )
    if args.twin:
        twin_pipeline(args.twin, args.twin_count, args.rounds)
    return 0


def held_out(embedder: Any, root: Path, args: argparse.Namespace, seed: int) -> list[dict]:
    """Write the held-out library of ``seed`` into ``root``, say what it holds, and embed the
    queries (QUERIES_T). Returns its manifest."""
    global QUERIES_T
    manifest = write_framed_library(root, args.count, seed)
    sizes: dict[str, int] = defaultdict(int)
    for e in manifest:
        sizes[group_of(e["in_centre"])] += 1
    print(f"model {args.model_dir}; {len(manifest)} held-out photos (seed {seed}): "
          + ", ".join(f"{sizes[g]} {label}" for g, label in GROUPS))  # fmt: skip
    QUERIES_T = embedder.encode_text([f"a {c} {s}" for c, s in QUERY_PAIRS]).T
    return manifest


if __name__ == "__main__":
    raise SystemExit(main())

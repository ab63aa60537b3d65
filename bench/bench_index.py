"""Indexing and search benchmark: prints figures and ratios from one run (not a test).

    python -m bench.bench_index [--count 300] [--runs 3] [--model ViT-B-32-256]

Uses a random-weight twin of the model (same compute as the real weights) from a private
Hugging Face cache, and a generated library of 12 MP camera JPEGs in nested folders."""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache"
os.environ.setdefault("HF_HUB_CACHE", str(CACHE / "hf"))
os.environ["HF_HUB_OFFLINE"] = "1"

# Side by side with rclip, measured in the same run: bench/bench_rclip.py (make bench-rclip).


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def line(label: str, value: str) -> None:
    print(f"  {label:<52} {value}", flush=True)


def bench_decode(paths: list[Path], model_size: int) -> None:
    from PIL import Image

    from photoclip.imaging import decode_photo

    sample = paths[:20]
    full, draft = [], []
    for p in sample:
        t = time.perf_counter()
        with Image.open(p) as im:
            im.load()
        full.append(time.perf_counter() - t)
        t = time.perf_counter()
        decode_photo(str(p), model_size)
        draft.append(time.perf_counter() - t)
    line("decode, full 12 MP (Pillow load), ms/photo", f"{median(full) * 1000:.0f}")
    line("decode_photo (draft + thumbnail + EXIF), ms/photo", f"{median(draft) * 1000:.0f}")
    line("  ratio full / ours", f"{median(full) / median(draft):.1f}x")


def bench_model(embedder, paths: list[Path], runs: int, batch: int = 16) -> float:
    import torch

    from photoclip.imaging import decode_photo

    tensors = [embedder.preprocess(decode_photo(str(p), embedder.image_size).image)
               for p in paths[: batch * 4]]  # fmt: skip
    batches = [torch.stack(tensors[i : i + batch]) for i in range(0, len(tensors), batch)]
    embedder.encode_tensors(batches[0])  # warm-up
    rates = []
    for _ in range(runs):
        t = time.perf_counter()
        for b in batches:
            embedder.encode_tensors(b)
        rates.append(len(tensors) / (time.perf_counter() - t))
    return median(rates)


def bench_pipeline(embedder, root: Path, runs: int) -> tuple[float, float, int]:
    from photoclip.indexer import Indexer
    from photoclip.store import Store

    rates, rescans = [], []
    n = 0
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "library.db")
            report = Indexer(store, embedder).run([str(root)], add=True)
            n = report.indexed
            rates.append(report.indexed / report.elapsed_s)
            t = time.perf_counter()
            again = Indexer(store, embedder).run()
            rescans.append(time.perf_counter() - t)
            assert again.indexed == 0 and again.unchanged == n
            store.close()
    return median(rates), median(rescans), n


def bench_cli(root: Path, model: str, runs: int) -> dict[str, float]:
    """Whole processes, as a user sees them: the first index, a rescan of
    the unchanged library, searches for new phrases and for phrases searched before."""
    with tempfile.TemporaryDirectory() as tmp:
        lib = ["--library", tmp, "--model", model]
        exe = [sys.executable, "-m", "photoclip"]

        def timed(*args: str) -> float:
            t = time.perf_counter()
            subprocess.run([*exe, *args, *lib], check=True, capture_output=True)
            return time.perf_counter() - t

        phrases = ["a dog on a beach", "kids building a sandcastle", "a red car", "snowy hills",
                   "a birthday cake"][: max(3, runs)]  # fmt: skip
        return {
            "index": timed("index", str(root)),
            "rescan": median([timed("index") for _ in range(runs)]),
            "search_new": median([timed("search", q) for q in phrases]),
            "search_again": median([timed("search", q) for q in phrases]),
        }


def report_cli(root: Path, model: str, runs: int, n: int) -> None:
    print("\nWhole processes (photoclip CLI, includes Python + model start-up)")
    cli = bench_cli(root, model, runs)
    rate = n / cli["index"]
    line(f"photoclip index {n} photos, s", f"{cli['index']:.1f}  ({rate:.1f} photos/s)")
    line("photoclip index, unchanged library, s", f"{cli['rescan']:.2f}")
    line("photoclip search, new phrase, s", f"{cli['search_new']:.2f}")
    line("photoclip search, phrase searched before, s", f"{cli['search_again']:.2f}")
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    line("peak RSS of a photoclip CLI process, MB", f"{child:.0f}")


def bench_search(embedder, sizes: tuple[int, ...]) -> None:
    import numpy as np

    from photoclip.search import GrowableMatrix, top_k

    dim = embedder.identity.dim
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    embedder.encode_text(["warm up"])
    texts = []
    for i in range(5):
        t = time.perf_counter()
        embedder.encode_text([f"a photo of thing number {i}"])
        texts.append(time.perf_counter() - t)
    line("text embedding (one query), ms", f"{median(texts) * 1000:.1f}")
    for n in sizes:
        rows = GrowableMatrix(dim)
        for start in range(0, n, 100_000):
            m = min(100_000, n - start)
            block = rng.standard_normal((m, dim)).astype(np.float32)
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            rows.append(np.arange(start, start + m), block)
        q = rng.standard_normal(dim).astype(np.float32)
        q /= np.linalg.norm(q)
        times = []
        for _ in range(7):
            t = time.perf_counter()
            scores = rows.matrix @ q
            top_k(scores, 50)
            times.append(time.perf_counter() - t)
        line(f"rank {n:>9,} vectors (matmul + top-50), ms", f"{median(times) * 1000:.1f}")


def bench_store_search(embedder, n: int) -> None:
    """Real store: first (cold) load of n vectors from SQLite, then warm queries."""
    import numpy as np

    from photoclip.search import Searcher
    from photoclip.store import Store

    dim = embedder.identity.dim
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "library.db")
        fid = store.add_folder(tmp)
        searcher = Searcher(store, embedder)
        with store.transaction() as conn:
            conn.executemany(
                "INSERT INTO photos (id, folder_id, path, size, mtime_ns, status, taken_at, "
                "indexed_at) VALUES (?, ?, ?, 1, 1, 'indexed', '2020-01-01T00:00:00', 0)",
                ((i + 1, fid, f"{tmp}/p{i}.jpg") for i in range(n)),
            )
            vecs = rng.standard_normal((n, dim)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            conn.executemany(
                "INSERT INTO vectors (photo_id, model_id, vector) VALUES (?, ?, ?)",
                ((i + 1, searcher.model_id, vecs[i].tobytes()) for i in range(n)),
            )
        q = searcher.query_vector("a photo")
        t = time.perf_counter()
        searcher.rank(q, limit=50)
        cold = time.perf_counter() - t
        warm = []
        for _ in range(7):
            t = time.perf_counter()
            searcher.rank(q, limit=50)
            warm.append(time.perf_counter() - t)
        line(f"store {n:,}: first search (loads matrix), ms", f"{cold * 1000:.0f}")
        line(f"store {n:,}: warm search incl. rows for top 50, ms", f"{median(warm) * 1000:.1f}")
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--model", default="ViT-B-32-256")
    ap.add_argument("--skip-cli", action="store_true")
    args = ap.parse_args()

    import torch

    from photoclip.embedder import load_embedder
    from tools.make_library import write_library
    from tools.random_twin import make_twin

    root = CACHE / "bench" / f"library-{args.count}"
    t = time.perf_counter()
    paths = write_library(root, args.count)
    print(f"library: {len(paths)} x 12 MP JPEGs in {root} ({time.perf_counter() - t:.0f} s)")
    make_twin(args.model, os.environ["HF_HUB_CACHE"])
    print(f"machine: {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.backends.cpu.get_cpu_capability()}")  # fmt: skip

    # Whole processes first, while this process is still small: its models and matrices
    # (5 GB) would otherwise squeeze the child processes' memory.
    if not args.skip_cli:
        report_cli(root, args.model, args.runs, len(paths))

    print("\nDecoding")
    bench_decode(paths, 256)

    print("\nModel (random-weight twin, pre-decoded tensors, batch 16)")
    t = time.perf_counter()
    emb = load_embedder(args.model, precision="fp32")
    line("load model (fp32), s", f"{time.perf_counter() - t:.2f}")
    bare = bench_model(emb, paths, args.runs)
    line("bare model fp32, photos/s", f"{bare:.1f}")
    for precision in ("bf16", "int8"):
        other = load_embedder(args.model, precision=precision)
        rate = bench_model(other, paths, args.runs)
        line(f"bare model {precision}, photos/s", f"{rate:.1f}  ({rate / bare:.2f}x fp32)")
        del other
    auto = load_embedder(args.model)  # measured once per machine, then cached
    line("precision chosen on this machine", auto.precision_choice.describe())
    del auto

    print(f"\nFull pipeline: Indexer.run over {len(paths)} photos (median of {args.runs})")
    rate, rescan, _ = bench_pipeline(emb, root, args.runs)
    line("indexing, photos/s", f"{rate:.1f}")
    line("  pipeline / bare model", f"{rate / bare:.2f}  (1.0 = decoding fully hidden)")
    line("no-change rescan, s", f"{rescan:.3f}")

    print("\nSearch")
    bench_search(emb, (10_000, 100_000, 1_000_000))
    bench_store_search(emb, 10_000)
    bench_store_search(emb, 100_000)
    line("peak RSS of this benchmark process, MB",
         f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()

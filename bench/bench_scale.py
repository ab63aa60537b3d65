"""A million photos: prints each figure beside its target from one run (asserts nothing).

    python -m bench.bench_scale [--photos 1000000] [--files 100000] [--only NAME ...]

On a synthetic library of ``--photos`` photos written straight into SQLite
(bench_gui.build_library: rows, thumbnails, random unit vectors of ViT-B-32-256's 512
dimensions, filed under its random-weight twin's identity), each figure in fresh processes:

- launch: process start to the app's first painted window (bench_gui's launch measurement);
- rank: ``Searcher.rank(qvec)`` after the text embedding, medians over several phrases, and
  the time to load the vectors from the library;
- rss: peak RSS of the app process once the library is open and one search has shown, and
  a few seconds later (what it started meanwhile);
- later: typing a new phrase 15 s after launch, to the first ranked results (the app reads
  the vectors in the background meanwhile);
- shared: resident memory as three Searchers of the library rank (the app's search bar,
  Things and smart albums share one index), and a refresh after 1,000 photos are forgotten;
- recall: top-50 overlap of the index's ranking against exact float32 scores over the
  library's vectors as stored, for random unit queries;
- app: keystroke to updated grid and scrolling frame times (bench_gui's measurement);
- rescan: ``photoclip index`` as a whole process on an unchanged library of ``--files``
  small JPEG files in nested folders on disk (indexed once with the tiny model).

The libraries, the photo files and the model twin are kept in bench/out/ and .cache/ for reuse.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_gui import REPO, bench_launch, build_library, first_results, line

OUT = REPO / "bench" / "out"
CACHE = REPO / ".cache"
MODEL = "ViT-B-32-256"  # 512 dimensions: the default model's matrix, of its random twin
TINY = "tiny-shapes"
TINY_WEIGHTS = REPO / "resources" / "models" / TINY / "open_clip_model.safetensors"
TOP = 50
PHRASES = [
    "kids building a sandcastle", "a dog on a beach", "a red car in the snow",
    "birthday cake with candles", "mountains at sunset", "a cat asleep on a sofa",
    "a crowded street market", "fireworks over a river", "a bowl of ramen", "a lighthouse",
    "a bride and groom dancing", "autumn leaves in a park",
]  # fmt: skip


def environment() -> dict[str, str]:
    """The twin and what photoclip caches for it (text tower, precision, profile) stay in
    this checkout's .cache; no network."""
    env = {
        **os.environ,
        "HF_HUB_CACHE": str(CACHE / "hf"),
        "HF_HUB_OFFLINE": "1",
        "XDG_CACHE_HOME": str(CACHE / "bench" / "scale-xdg"),
        "PYTHONPATH": str(REPO),
        # Compiled once, as an installed app is (this machine's environment forbids writing
        # bytecode, which would make every launch compile every module again).
        "PYTHONPYCACHEPREFIX": str(CACHE / "bench" / "pycache"),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def peak_rss() -> int:
    """This process's peak RSS (VmHWM; ru_maxrss would carry this bench's own over exec)."""
    with open("/proc/self/status") as f:
        return next(int(ln.split()[1]) * 1024 for ln in f if ln.startswith("VmHWM:"))


def child(kind: str, *args: str) -> dict[str, Any]:
    """Run one measurement of this module in a fresh interpreter; its last line is JSON."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_scale", "--child", kind, *args],
        cwd=REPO, env=environment(), capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if proc.returncode != 0 or not proc.stdout.strip():
        print(proc.stdout[-2000:], proc.stderr[-4000:])
        raise SystemExit(f"bench_scale: the {kind} measurement failed")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# -- in a fresh process: ranking and recall ------------------------------------------------------


def _searcher(db: str) -> Any:
    from photoclip.embedder import deferred_for, load_embedder
    from photoclip.search import Searcher
    from photoclip.store import Store

    def load() -> Any:
        return load_embedder(MODEL, allow_download=False)

    # As the app and the CLI do: the text tower answers phrases, torch stays out.
    return Searcher(Store(db), deferred_for(MODEL, None, load) or load())


def measure_rank(db: str, runs: int) -> dict[str, Any]:
    started = time.perf_counter()
    searcher = _searcher(db)
    searcher.index.refresh()
    loaded = time.perf_counter() - started
    rss_loaded = peak_rss()
    phrases = (PHRASES * (runs // len(PHRASES) + 1))[: runs + 1]
    qvecs = [searcher.query_vector(f"{p} {i}") for i, p in enumerate(phrases)]
    times = []
    for q in qvecs:
        t0 = time.perf_counter()
        result = searcher.rank(q, limit=TOP)
        times.append(time.perf_counter() - t0)
        assert len(result.hits) == TOP
    return {
        "photos": len(searcher.index),
        "load_s": loaded,
        "rss_loaded": rss_loaded,
        "first_ms": times[0] * 1000,  # also measures the neutral captions on the library
        "rank_ms": [t * 1000 for t in times[1:]],
        "rss": peak_rss(),
        "torch": "torch" in sys.modules,
    }


def measure_shared(db: str, deletions: int) -> dict[str, Any]:
    """Resident memory as the search bar, Things and smart albums each make a Searcher of the
    library and rank once (they share one index), then a refresh after ``deletions`` photos
    are forgotten, inside a transaction rolled back after (the library is left as it was)."""
    from photoclip.search import Searcher

    def resident() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    first = _searcher(db)
    store, embedder = first.store, first.embedder
    query = first.query_vector("a lighthouse on a cliff")
    searchers = [first, Searcher(store, embedder), Searcher(store, embedder)]
    rss = []
    for searcher in searchers:
        searcher.rank(query, limit=TOP)
        rss.append(resident())
    gone = [int(i) for i in first.index.snapshot()[0][:deletions]]
    conn = store.conn  # this thread's: the refresh below reads through it
    conn.execute("BEGIN")
    store.delete_photos(conn, gone)
    before = peak_rss()
    started = time.perf_counter()
    searchers[1].index.refresh()
    seconds = time.perf_counter() - started
    conn.execute("ROLLBACK")
    return {"rss": rss, "shared": all(s.index is first.index for s in searchers),
            "refresh_s": seconds, "peak_before": before, "peak_after": peak_rss(),
            "left": len(first.index)}  # fmt: skip


def measure_recall(db: str, queries: int) -> dict[str, Any]:
    """The index's top-50 against exact float32 scores of the vectors as stored (read from
    the library a chunk at a time), for random unit queries."""
    import numpy as np

    from photoclip.search import top_k

    searcher = _searcher(db)
    index = searcher.index
    index.refresh()
    dim = index.dim
    rng = np.random.default_rng(11)
    qs = rng.standard_normal((queries, dim)).astype(np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    best_ids = np.zeros((queries, 0), np.int64)
    best = np.zeros((queries, 0), np.float32)
    exact: dict[int, np.ndarray] = {}  # photo id -> exact scores, for the score error
    conn = searcher.store.conn
    after = 0
    while True:
        rows = conn.execute(
            "SELECT id, photo_id, vector FROM vectors WHERE model_id = ? AND id > ? "
            "ORDER BY id LIMIT 20000",
            (index.model_id, after),
        ).fetchall()
        if not rows:
            break
        after = rows[-1][0]
        ids = np.array([r[1] for r in rows], np.int64)
        mat = np.frombuffer(b"".join(r[2] for r in rows), np.float32).reshape(len(rows), dim)
        scores = qs @ mat.T  # (queries, chunk)
        for pid, col in zip(ids[:64], scores[:, :64].T, strict=True):
            exact[int(pid)] = col
        both = np.concatenate([best, scores], axis=1)
        both_ids = np.concatenate([best_ids, np.broadcast_to(ids, scores.shape)], axis=1)
        keep = np.argpartition(-both, TOP - 1, axis=1)[:, :TOP]
        best = np.take_along_axis(both, keep, axis=1)
        best_ids = np.take_along_axis(both_ids, keep, axis=1)
    ids_all, _ = index.snapshot()
    sample = np.fromiter(exact, np.int64)
    where = np.flatnonzero(np.isin(ids_all, sample))
    overlaps, errors = [], []
    for qi, q in enumerate(qs):
        scores = _index_scores(index, q)
        mine = set(ids_all[top_k(scores, TOP)].tolist())
        overlaps.append(len(mine & set(best_ids[qi].tolist())) / TOP)
        errors += [abs(float(scores[i]) - float(exact[int(ids_all[i])][qi])) for i in where]
    return {
        "photos": len(index),
        "queries": queries,
        "overlap_mean": float(np.mean(overlaps)),
        "overlap_min": float(np.min(overlaps)),
        "score_error_max": max(errors) if errors else 0.0,
        "matrix_dtype": str(index.snapshot()[1].dtype),
    }


def _index_scores(index: Any, q: Any) -> Any:
    if hasattr(index, "scores"):
        return index.scores(q)[2]
    return index.snapshot()[1] @ q  # before the index held float16


# -- the parts -----------------------------------------------------------------------------------


def part_launch(db: Path, runs: int) -> None:
    totals = bench_launch(runs, library=db, model=MODEL, env=environment())
    ms = statistics.median(totals) * 1000
    line("  target < 1000 ms", f"{ms:.0f} ms: {verdict(ms < 1000)}")


def part_rank(db: Path, runs: int) -> None:
    print(f"Ranking over the library after the text embedding (fresh process, {MODEL}):")
    r = child("rank", str(db), str(runs))
    med = statistics.median(r["rank_ms"])
    line("vectors loaded from the library", f"{r['photos']:,} in {r['load_s']:.1f} s")
    line("  peak RSS once loaded", mb(r["rss_loaded"]))
    line("first search (measures the neutral captions too)", f"{r['first_ms']:.0f} ms")
    each = ", ".join(f"{t:.0f}" for t in r["rank_ms"])
    line(f"Searcher.rank: median of {len(r['rank_ms'])}", f"{med:.0f} ms  ({each})")
    line("  target < 150 ms", verdict(med < 150))
    line("torch imported", "yes" if r["torch"] else "no (text tower)")


def part_rss(db: Path, runs: int) -> None:
    print(f"Peak RSS of the app, library open and one search shown ({runs} fresh processes):")
    got = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(runs):  # a new phrase each time: the text tower runs
            phrase = f"a lighthouse on a cliff {n}"
            got.append(first_results(db, MODEL, phrase, environment(), tmp, n, linger_s=10))
    seconds = ", ".join(f"{r['seconds']:.1f}" for r in got)
    line("launch to the first ranked results", f"{seconds} s")
    line("peak RSS at the first results", ", ".join(mb(r["rss"]) for r in got))
    line("peak RSS 10 s later", ", ".join(mb(r["rss_settled"] or 0) for r in got))
    worst = max(max(r["rss"], r["rss_settled"] or 0) for r in got)
    line("  target < 1.5 GB", f"worst {mb(worst)}: {verdict(worst < 1.5e9)}")
    line("torch imported", "yes" if any(r["torch_settled"] for r in got) else "no (text tower)")


def part_later(db: Path, runs: int) -> None:
    print(f"The first search typed 15 s after launch ({runs} fresh app processes):")
    got = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(runs):
            phrase = f"a harbour at dusk {n}"
            got.append(first_results(db, MODEL, phrase, environment(), tmp, n, typed_after_s=15))
    each = ", ".join(f"{r['typed_to_results'] * 1000:.0f}" for r in got)
    line("typing to the first ranked results", f"{each} ms")


def part_shared(db: Path) -> None:
    print("Three windows ranking one library (search bar, Things, smart albums; fresh process):")
    r = child("shared", str(db), "1000")
    line("one index shared by the three Searchers", "yes" if r["shared"] else "NO")
    line("RSS after the 1st, 2nd, 3rd ranked", ", ".join(mb(x) for x in r["rss"]))
    line(
        f"1,000 photos forgotten ({r['left']:,} left): refresh, peak RSS",
        f"{r['refresh_s']:.2f} s, {mb(r['peak_before'])} -> {mb(r['peak_after'])}",
    )


def part_recall(db: Path, queries: int) -> None:
    print(f"Recall of the in-memory vectors against float32 ({queries} random queries):")
    r = child("recall", str(db), str(queries))
    line("matrix held as", r["matrix_dtype"])
    line(f"top-{TOP} overlap with exact float32: mean / worst",
         f"{r['overlap_mean']:.4f} / {r['overlap_min']:.2f}")  # fmt: skip
    line("largest score error", f"{r['score_error_max']:.2e}")


def part_app(db: Path, photos: int, queries: int, frames: int) -> None:
    code = (
        "from pathlib import Path; from bench.bench_gui import bench_app; "
        f"bench_app(Path({str(db)!r}), {photos}, {queries}, {frames}, 0, model={MODEL!r})"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=environment(), timeout=3600)
    if proc.returncode:
        raise SystemExit("bench_scale: the app measurement failed")


def part_rescan(files: int, runs: int) -> None:
    from tools.make_library import write_library

    base = OUT / f"scale-files-{files}"
    root, lib = base / "photos", base / "library"
    print(f"No-change rescan of {files:,} small JPEG files in nested folders (whole process):")
    marker = base / "photos.done"
    if not marker.exists():
        started = time.perf_counter()
        write_library(root, files, megapixels=0.02)
        marker.write_text(str(files))
        line("made the files", f"{time.perf_counter() - started:.0f} s")

    # The rescan measures the scan, not the model: the library is indexed once with a copy of
    # the tiny model kept beside it, so a retrained tiny model never re-embeds it all.
    weights = base / "tiny-shapes.safetensors"

    def index(*paths: str) -> tuple[float, str]:
        cmd = [sys.executable, "-m", "photoclip", "index", *paths, "--library", str(lib),
               "--model", TINY, "--weights", str(weights)]  # fmt: skip
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, env=environment(), capture_output=True, text=True)
        took = time.perf_counter() - t0
        if proc.returncode:
            print(proc.stdout[-2000:], proc.stderr[-2000:])
            raise SystemExit("bench_scale: photoclip index failed")
        return took, proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""

    done = base / "library.done"
    if not done.exists():
        shutil.copyfile(TINY_WEIGHTS, weights)
        took, said = index(str(root))
        done.write_text(said)
        line("indexed once with the tiny model", f"{took:.0f} s ({said})")
    index()  # untimed: the library learns this weights file (no torch after), caches warm
    times, said = [], ""
    for _ in range(runs):
        took, said = index()
        times.append(took)
    med = statistics.median(times)
    each = ", ".join(f"{t:.2f}" for t in times)
    line(f"photoclip index, unchanged: median of {runs}", f"{med:.2f} s  ({each})")
    line("  it said", said)
    line("  target < 3 s", verdict(med < 3))


PARTS = ("launch", "rank", "rss", "later", "shared", "recall", "app", "rescan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=100_000, help="photo files to rescan")
    parser.add_argument("--runs", type=int, default=7, help="searches to time")
    parser.add_argument("--launch-runs", type=int, default=3)
    parser.add_argument("--rescan-runs", type=int, default=3)
    parser.add_argument("--rss-runs", type=int, default=3)
    parser.add_argument("--queries", type=int, default=50, help="random queries for recall")
    parser.add_argument("--app-queries", type=int, default=6, help="keystrokes in the app")
    parser.add_argument("--frames", type=int, default=200, help="scroll frames in the app")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=PARTS)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, db, n = args.child
        measure = {"rank": measure_rank, "recall": measure_recall, "shared": measure_shared}[kind]
        print(json.dumps(measure(db, int(n))))
        return
    os.environ.update(environment())  # the twin's identity, profile and text tower
    print(f"photoclip at scale ({os.cpu_count()} CPUs, {args.photos:,} photos, {MODEL} twin)")
    subprocess.run([sys.executable, "-c", "import photoclip.app, photoclip.cli"], env=environment(),
                   cwd=REPO, check=True)  # fmt: skip
    needs_library = set(args.only) - {"rescan"}
    db = OUT / f"scale-{args.photos}" / "library.db"
    if needs_library:
        from tools.random_twin import make_twin

        make_twin(MODEL, CACHE / "hf")
        db.parent.mkdir(parents=True, exist_ok=True)
        build_library(db, args.photos, model=MODEL)
    if "launch" in args.only:
        part_launch(db, args.launch_runs)
    if "rank" in args.only:
        part_rank(db, args.runs)
    if "rss" in args.only:
        part_rss(db, args.rss_runs)
    if "later" in args.only:
        part_later(db, args.rss_runs)
    if "shared" in args.only:
        part_shared(db)
    if "recall" in args.only:
        part_recall(db, args.queries)
    if "app" in args.only:
        part_app(db, args.photos, args.app_queries, args.frames)
    if "rescan" in args.only:
        part_rescan(args.files, args.rescan_runs)


if __name__ == "__main__":
    main()

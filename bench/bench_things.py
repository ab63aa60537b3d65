"""Things (#10 part 3) with the tiny model: label precision and recall on held-out photos, and
how many of the built-in everyday things (none of which a library of coloured shapes shows)
wrongly label anything.

    .venv/bin/python -m bench.bench_things

The library is bench_strong's evaluation library (seed 7272, 320 photos, never used to tune
anything). The tiny model's own vocabulary is the things: its four shapes ("a circle") and
eight colours ("a red shape"); a photo truly shows a shape's thing when it is that shape, a
colour's when its shape has that colour (not the background)."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.bench_strong import EVAL_SEED, library, tiny_embedder  # noqa: E402
from photoclip.search import Searcher  # noqa: E402
from photoclip.things import BUILT_IN, Things, thing_name  # noqa: E402
from tools.shapes import COLOURS, SHAPES  # noqa: E402

TINY_THINGS = tuple(f"a {s}" for s in SHAPES) + tuple(f"a {c} shape" for c in COLOURS)


def truth(manifest: dict[str, dict[str, str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for phrase in TINY_THINGS:
        words = phrase.split()
        if words[-1] == "shape":
            out[thing_name(phrase)] = {p for p, e in manifest.items() if e["colour"] == words[1]}
        else:
            out[thing_name(phrase)] = {p for p, e in manifest.items() if e["shape"] == words[1]}
    return out


def main() -> int:
    embedder = tiny_embedder()
    store, manifest = library(embedder, EVAL_SEED)
    searcher = Searcher(store, embedder)
    paths = {r["id"]: r["path"] for r in store.photos_by_id(list(range(1, 10_000)))}
    things = Things(searcher, built_in=TINY_THINGS + BUILT_IN)
    started = time.perf_counter()
    labels = things.labels()
    first = time.perf_counter() - started
    things._labels = None
    started = time.perf_counter()
    labels = things.labels()
    again = time.perf_counter() - started
    assert labels is not None
    wanted = truth(manifest)
    precisions, recalls, right, given, true = [], [], 0, 0, 0
    print(f"held-out library (seed {EVAL_SEED}, {labels.rows} photos), tiny model's things:")
    for name, relevant in wanted.items():
        got = {paths[int(i)] for i in labels.photos[name]}
        hit = len(got & relevant)
        right, given, true = right + hit, given + len(got), true + len(relevant)
        p = hit / len(got) if got else float("nan")
        r = hit / len(relevant)
        if got:
            precisions.append(p)
        recalls.append(r)
        print(f"  {name:<14} labelled {len(got):>3}, truly {len(relevant):>3}: precision "
              f"{p:.3f}, recall {r:.3f}")  # fmt: skip
    print(f"  labels over all things: precision {right / given:.3f}, recall {right / true:.3f}; "
          f"mean per thing: precision {statistics.mean(precisions):.3f}, recall "
          f"{statistics.mean(recalls):.3f}")  # fmt: skip
    wrong = {thing_name(p): len(labels.photos[thing_name(p)]) for p in BUILT_IN}
    labelled = {k: v for k, v in wrong.items() if v}
    print(f"built-in everyday things ({len(wrong)}; none is in these photos) that label any "
          f"photo: {len(labelled)} ({len(labelled) / len(wrong):.1%}), "
          f"{sum(labelled.values())} labels: {sorted(labelled.items())}")  # fmt: skip
    print(f"labelling the library with {len(things.things())} things: {first:.1f} s the first "
          f"time (the phrases embedded), {again * 1000:.0f} ms after")  # fmt: skip
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Smart albums that learn (#10 part 2): with 5 + 5 marked examples, how precise is the album
against the plain text query, on held-out photos with the tiny model.

    .venv/bin/python -m bench.bench_smart_albums

The library is bench_strong's evaluation library (seed 7272, 320 photos; the classifier's
constants were set beforehand and not tuned on it). Each album is one of the phrases the model
reads ("a red circle", "a blue shape", "a star", ...) with at least 5 + 10 photos that truly
match. The user marks what they see at the top of the album: the first 5 true matches as
belonging and the first 5 others as not. Precision and recall are over the photos not
marked, for the text query's strong matches and for the album's members; the mean over
albums is reported, with the albums where the text query alone is below 0.9 shown apart."""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.bench_strong import EVAL_SEED, OUT, library, real_queries, tiny_embedder  # noqa: E402
from photoclip.search import Searcher  # noqa: E402
from photoclip.smart_albums import SmartAlbum, SmartQuery  # noqa: E402
from photoclip.store import Store  # noqa: E402

EXAMPLES = 5


def pr(found: set[str], relevant: set[str]) -> tuple[float, float]:
    hit = len(found & relevant)
    return (hit / len(found) if found else 0.0), hit / len(relevant)


def main() -> int:
    embedder = tiny_embedder()
    first, manifest = library(embedder, EVAL_SEED)
    first.close()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "library.db"
        shutil.copyfile(OUT / f"library-{EVAL_SEED}.db", db)
        store = Store(db)
        searcher = Searcher(store, embedder)
        paths = {r["id"]: r["path"] for r in store.photos_by_id(list(range(1, 10_000)))}
        ids = {p: i for i, p in paths.items()}
        rows = []
        times = []
        for query, relevant in real_queries(manifest):
            if len(relevant) < 2 * EXAMPLES + EXAMPLES:
                continue
            ranking = [h.path for h in searcher.search(query, limit=len(paths)).hits]
            positives = [p for p in ranking if p in relevant][:EXAMPLES]
            negatives = [p for p in ranking if p not in relevant][:EXAMPLES]
            marked = set(positives) | set(negatives)
            album = SmartAlbum.create(searcher, f"album {query}", SmartQuery(query))
            plain = {paths[i] for i in album.members().photo_ids} - marked
            album.mark([ids[p] for p in positives], 1)
            album.mark([ids[p] for p in negatives], -1)
            started = time.perf_counter()
            members = album.members()
            times.append(time.perf_counter() - started)
            learned = {paths[i] for i in members.photo_ids} - marked
            rest = relevant - marked
            rows.append((query, *pr(plain, rest), *pr(learned, rest)))
        store.close()
    print(f"held-out library (seed {EVAL_SEED}), {len(rows)} albums, {EXAMPLES} + {EXAMPLES} "
          f"examples each; precision / recall over the photos not marked:")  # fmt: skip
    for query, pp, pr_, lp, lr in rows:
        print(f"  {query:<18} text query {pp:.3f} / {pr_:.3f}   learned {lp:.3f} / {lr:.3f}")

    def mean(k: int, subset: list[tuple]) -> float:
        return statistics.mean(r[k] for r in subset)

    print(f"mean over albums: text query precision {mean(1, rows):.3f}, recall "
          f"{mean(2, rows):.3f}; with the examples precision {mean(3, rows):.3f}, recall "
          f"{mean(4, rows):.3f}")  # fmt: skip
    hard = [r for r in rows if r[1] < 0.9]
    if hard:
        print(f"the {len(hard)} albums where the text query's precision is below 0.9: "
              f"{mean(1, hard):.3f} -> {mean(3, hard):.3f} (recall {mean(2, hard):.3f} -> "
              f"{mean(4, hard):.3f})")  # fmt: skip
    print(f"an album's members with its examples: median {statistics.median(times) * 1000:.0f} "
          f"ms (classifier, cross-validation and scoring {len(paths)} photos)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

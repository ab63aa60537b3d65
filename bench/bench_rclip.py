"""photoclip beside rclip 4.0.8, alternated in one run on one generated library: prints
ratios (not a test; nothing is asserted).

    python -m bench.bench_rclip [--count 320] [--rounds 3]

Both run as whole processes, as a user starts them, on the same 12 MP camera JPEGs
(tools/make_library.py), each with a random-weight twin of ViT-B-32-256 (same graph and
FLOPs as the real weights; rclip's is an ONNX twin from ../shared/bench-rclip/). The order
alternates every round so that drift of this shared machine hits both alike; figures are
medians over the rounds.

- cold index: photoclip ``index`` of a new library, then one ``search``; rclip indexes and
  searches in one command (``rclip -t 5 QUERY``) from an empty database.
- unchanged rescan: photoclip ``index`` with nothing new; rclip ``-t 5 QUERY`` again (its
  rescan and its search are one command; the issue's table compared these two).
- search: a phrase never searched before, then the same phrase again (rclip ``-n``).

photoclip's per-machine work done once (the precision probe, the towers' exports) is
measured on its own first, in a fresh cache folder, and kept out of the rounds.

Both run from compiled bytecode, as installed packages do: pip compiled rclip's at install,
and photoclip's (an editable install, whose bytecode Python writes on a first run) is
compiled here first, since a machine with PYTHONDONTWRITEBYTECODE set (this project's are)
would otherwise compile its sources in every process (0.04-0.08 s each).
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

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache"
KIT = REPO.parent / "shared" / "bench-rclip"
RCLIP_OUT = CACHE / "rclip-bench"
MODEL = "ViT-B-32-256"
PHRASES = [
    "a dog running on a beach", "kids building a sandcastle", "a red car in the snow",
    "a birthday cake with candles", "snowy hills at dawn", "a cat asleep on a sofa",
]  # fmt: skip


def line(label: str, value: str) -> None:
    print(f"  {label:<46} {value}", flush=True)


def run(
    cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    out, err = proc.communicate()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed:\n{out.decode()[-2000:]}\n{err.decode()[-2000:]}"
        )
    return elapsed, usage.ru_maxrss / 1024


class Photoclip:
    name = "photoclip"

    def __init__(self, root: Path, work: Path) -> None:
        self.root = root
        self.lib = work / "photoclip-lib"
        self.env = {**os.environ, "HF_HUB_CACHE": str(CACHE / "hf"), "HF_HUB_OFFLINE": "1",
                    "XDG_CACHE_HOME": str(work / "xdg-cache")}  # fmt: skip

    def cmd(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "photoclip", *args, "--library", str(self.lib),
                "--model", MODEL]  # fmt: skip

    def cold(self, phrase: str) -> tuple[float, float]:
        shutil.rmtree(self.lib, ignore_errors=True)
        t1, m1 = run(self.cmd("index", str(self.root)), env=self.env)
        t2, m2 = run(self.cmd("search", phrase), env=self.env)
        return t1 + t2, max(m1, m2)

    def rescan(self, phrase: str) -> tuple[float, float]:
        return run(self.cmd("index"), env=self.env)

    def search(self, phrase: str) -> tuple[float, float]:
        return run(self.cmd("search", phrase), env=self.env)

    def precision(self) -> str:
        out = subprocess.run(self.cmd("status", "--json"), env=self.env, check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
        return str(json.loads(out).get("precision", "?"))


class Rclip:
    name = "rclip"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.exe = RCLIP_OUT / "rclip-venv" / "bin" / "rclip"
        self.data = RCLIP_OUT / "data"
        self.env = {**os.environ, "RCLIP_DATADIR": str(self.data), "HF_HUB_OFFLINE": "1"}

    def setup(self) -> None:
        if not self.exe.is_file() or not (self.data / "tokenizer").is_dir():
            subprocess.run(["bash", str(KIT / "setup.sh"), str(REPO / ".venv" / "bin" / "python"),
                            str(RCLIP_OUT)], check=True)  # fmt: skip

    def cold(self, phrase: str) -> tuple[float, float]:
        for f in self.data.glob("db.sqlite3*"):
            f.unlink()
        return run([str(self.exe), "-t", "5", phrase], cwd=self.root, env=self.env)

    def rescan(self, phrase: str) -> tuple[float, float]:
        return run([str(self.exe), "-t", "5", phrase], cwd=self.root, env=self.env)

    def search(self, phrase: str) -> tuple[float, float]:
        return run([str(self.exe), "-n", "-t", "5", phrase], cwd=self.root, env=self.env)


def first_load_on_a_machine(root: Path) -> tuple[float, str]:
    """photoclip's one-time work: the precision probe and the text tower's export."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "HF_HUB_CACHE": str(CACHE / "hf"), "HF_HUB_OFFLINE": "1",
               "XDG_CACHE_HOME": tmp}  # fmt: skip
        code = ("import time; t = time.perf_counter(); from photoclip.embedder import "
                f"load_embedder; e = load_embedder({MODEL!r}); "
                "print(time.perf_counter() - t); print(e.precision_choice.describe())")  # fmt: skip
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                             capture_output=True, text=True).stdout.splitlines()  # fmt: skip
        code2 = code.replace("e.precision_choice.describe()", "e.precision_choice.source")
        again = subprocess.run([sys.executable, "-c", code2], env=env, check=True,
                               capture_output=True, text=True).stdout.splitlines()  # fmt: skip
        return float(out[0]) - float(again[0]), out[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=320)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    root = CACHE / "bench" / f"library-{args.count}"
    # In a child: a process's peak memory counts its parent's at the moment it was started
    # (the kernel records the forking process's high-water mark at exec), and building the
    # twin imports torch here. Each tool's figure would then start from ~750 MB.
    setup = (f"from pathlib import Path; from tools.make_library import write_library; "
             f"write_library(Path({str(root)!r}), "
             f"{args.count}); from tools.random_twin import make_twin; "
             f"make_twin({MODEL!r}, {str(CACHE / 'hf')!r})")  # fmt: skip
    subprocess.run([sys.executable, "-c", setup], cwd=REPO, check=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "photoclip"),
                    str(REPO / "resources")], check=True)  # fmt: skip
    paths = sorted(root.rglob("*.JPG"))
    rclip = Rclip(root)
    rclip.setup()
    print(f"library: {len(paths)} x 12 MP JPEGs in {root}; {os.cpu_count()} CPUs; "
          f"{args.rounds} alternated rounds, medians", flush=True)  # fmt: skip

    once, chosen_first = first_load_on_a_machine(root)
    line("photoclip, once per machine (probe + export), s", f"{once:.1f}")
    line("  precision chosen", chosen_first)

    with tempfile.TemporaryDirectory() as tmp:
        pc = Photoclip(root, Path(tmp))
        run(pc.cmd("status"), env=pc.env)  # creates nothing heavy; warms the page cache
        # The per-machine work, done before the rounds (measured above).
        warm = f"from photoclip.embedder import load_embedder; load_embedder({MODEL!r})"
        run([sys.executable, "-c", warm], env=pc.env)
        results: dict[str, dict[str, list[float]]] = {t.name: {} for t in (pc, rclip)}
        rss: dict[str, list[float]] = {pc.name: [], rclip.name: []}
        for r in range(args.rounds):
            order = (pc, rclip) if r % 2 == 0 else (rclip, pc)
            for tool in order:
                got = results[tool.name]
                phrase = PHRASES[r % len(PHRASES)]
                secs, mb = tool.cold(phrase)
                got.setdefault("cold", []).append(secs)
                rss[tool.name].append(mb)
                got.setdefault("rescan", []).append(tool.rescan(phrase)[0])
                fresh = f"{PHRASES[(r + 3) % len(PHRASES)]} {r}"
                got.setdefault("search_new", []).append(tool.search(fresh)[0])
                got.setdefault("search_again", []).append(tool.search(fresh)[0])
                print(f"  round {r + 1} {tool.name:>9}: " + ", ".join(
                    f"{k} {v[-1]:.2f} s" for k, v in got.items()) + f", cold peak {mb:.0f} MB",
                    flush=True)  # fmt: skip
        chosen = pc.precision()

    med = {t: {k: statistics.median(v) for k, v in d.items()} for t, d in results.items()}
    p, c = med["photoclip"], med["rclip"]
    n = len(paths)
    print(f"\nSide by side (medians of {args.rounds}; ratio > 1: photoclip faster)")
    print(f"  {'':<34} {'photoclip':>10} {'rclip':>10} {'ratio':>7}")
    for key, label in (("cold", "cold index (+1 search), s"), ("rescan", "unchanged rescan, s"),
                       ("search_new", "search, new phrase, s"),
                       ("search_again", "search, phrase searched before, s")):  # fmt: skip
        print(f"  {label:<34} {p[key]:>10.2f} {c[key]:>10.2f} {c[key] / p[key]:>6.2f}x")
    print(f"  {'cold index, photos/s':<34} {n / p['cold']:>10.1f} {n / c['cold']:>10.1f} "
          f"{c['cold'] / p['cold']:>6.2f}x")  # fmt: skip
    print(f"  {'peak RSS of the cold index, MB':<34} {statistics.median(rss['photoclip']):>10.0f} "
          f"{statistics.median(rss['rclip']):>10.0f}")  # fmt: skip
    print(f"  precision photoclip ran at: {chosen}")


if __name__ == "__main__":
    main()

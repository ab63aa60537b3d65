"""Train the tiny "coloured shapes" CLIP model used by tests and demos.

A tiny open_clip CLIP (ModifiedResNet image tower + small text transformer)
is trained from scratch on procedurally generated captioned images
(``tools.shapes``), then saved as an open_clip ``local-dir:`` model folder:

    OUT/open_clip_config.json        {"model_cfg": ..., "preprocess_cfg": ...}
    OUT/open_clip_model.safetensors  plain fp32 state dict
    OUT/metrics.json                 held-out retrieval / zero-shot metrics
    OUT/README.md                    what the model is and how it was made

Reproduce the committed checkpoint with::

    .venv/bin/python tools/train_tiny_clip.py --out resources/models/tiny-shapes \
        --augment-steps 1500

Stage 1 sees centre squares with the shape inside. Stage 2 (``--augment-steps N``) goes on
with views augmented like open_clip's training data (random resized crops: subjects
anywhere, windows of aspect 3/4 to 4/3 squashed to the square), as real CLIP models are
trained, so that the model reads a square cut from a wide photo as a real model does
(photoclip's extra views, bench/bench_framing.py). ``--init DIR`` starts stage 2 from stage
1's saved result (stage 1 is bit-reproducible, so the result is the same)::

    .venv/bin/python tools/train_tiny_clip.py --out /tmp/tiny --steps 1000
    .venv/bin/python tools/train_tiny_clip.py --out resources/models/tiny-shapes \
        --init /tmp/tiny --augment-steps 1500

Training is CPU-only, seeded and uses a fixed torch thread count (training is
bit-reproducible at a fixed thread count).  Training images are rendered on
the fly (in one DataLoader worker process) at small random sizes, JPEG
encoded/decoded, and then passed through exactly the preprocessing transform
that ``open_clip.create_model_and_transforms`` returns for this config.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import ClassVar

_REPO_ROOT = Path(__file__).resolve().parents[1]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

import numpy as np  # noqa: E402
import open_clip  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from tools.shapes import (  # noqa: E402
    COLOURS,
    SHAPES,
    Scene,
    all_scenes,
    jpeg_roundtrip,
    render,
    render_placed,
    write_library,
)

MODEL_CFG: dict = {
    "embed_dim": 64,
    "vision_cfg": {
        "image_size": 64,
        "layers": [1, 1, 1, 1],
        "width": 16,
        "head_width": 32,
        "patch_size": None,
    },
    "text_cfg": {
        "context_length": 16,
        "vocab_size": 49408,
        "width": 32,
        "heads": 4,
        "layers": 2,
    },
}

PREPROCESS_CFG: dict = {
    "size": 64,
    "mode": "RGB",
    "mean": list(open_clip.OPENAI_DATASET_MEAN),
    "std": list(open_clip.OPENAI_DATASET_STD),
    "interpolation": "bicubic",
    "resize_mode": "shortest",
    "fill_color": 0,
}

DEFAULTS = dict(
    seed=1234,
    eval_seed=987654,
    eval_count=240,
    steps=1000,
    augment_steps=0,
    augment_lr=1e-3,
    augment_warmup=50,
    batch_size=128,
    lr=2e-3,
    weight_decay=0.1,
    warmup=100,
    threads=2,
    workers=1,
)

# --------------------------------------------------------------------------
# captions
# --------------------------------------------------------------------------

# (template, weight); a caption pins down the attributes named in its template
CAPTION_TEMPLATES: tuple[tuple[str, float], ...] = (
    ("a {colour} {shape} on a {background} background", 0.34),
    ("a {colour} {shape}", 0.24),
    ("a photo of a {colour} {shape}", 0.12),
    ("a photo of a {colour} {shape} on a {background} background", 0.12),
    ("a {shape}", 0.09),
    ("a {colour} shape", 0.09),
)


def sample_caption(
    scene: Scene, rng: random.Random
) -> tuple[str, tuple[str | None, str | None, str | None]]:
    """A caption for ``scene`` and the (colour, shape, background) it pins down (None = any)."""
    weights = [w for _, w in CAPTION_TEMPLATES]
    template, _ = rng.choices(CAPTION_TEMPLATES, weights=weights, k=1)[0]
    text = template.format(colour=scene.colour, shape=scene.shape, background=scene.background)
    attrs = (
        scene.colour if "{colour}" in template else None,
        scene.shape if "{shape}" in template else None,
        scene.background if "{background}" in template else None,
    )
    return text, attrs


def caption_matches(attrs: tuple[str | None, str | None, str | None], scene: Scene) -> bool:
    colour, shape, background = attrs
    return (
        (colour is None or colour == scene.colour)
        and (shape is None or shape == scene.shape)
        and (background is None or background == scene.background)
    )


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------

SCENES: list[Scene] = all_scenes()


class BatchDataset(torch.utils.data.Dataset):
    """Item ``step`` is a whole training batch, generated from (seed, step) only.

    A batch is ``batch_size // 4`` distinct (colour, background) pairs, each
    rendered with all 4 shapes, so every image has same-colour/same-background
    negatives that differ only in shape (otherwise colour and background alone
    separate almost every pair and shape is learned very slowly).  All
    (colour, shape, background) triples in a batch are distinct; short
    captions may still coincide (same colour+shape, different background),
    which the soft-target loss handles.
    """

    PAIRS: ClassVar[list[tuple[str, str]]] = [(c, b) for c in COLOURS for b in COLOURS if b != c]

    def __init__(
        self, steps: int, batch_size: int, seed: int, transform, tokenizer, augment: bool = False
    ):
        if batch_size % len(SHAPES) or batch_size // len(SHAPES) > len(self.PAIRS):
            raise ValueError(f"batch_size must be a multiple of {len(SHAPES)} and <= {len(SCENES)}")
        self.steps = steps
        self.batch_size = batch_size
        self.seed = seed
        self.transform = transform
        self.tokenizer = tokenizer
        self.augment = augment
        cfg = {k: PREPROCESS_CFG[k] for k in ("mean", "std", "interpolation", "fill_color")}
        size = PREPROCESS_CFG["size"]
        self.squash = open_clip.image_transform(size, False, resize_mode="squash", **cfg)
        self.longest = open_clip.image_transform(size, False, resize_mode="longest", **cfg)

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, step: int):
        rng = random.Random(self.seed * 1_000_003 + step)
        pairs = rng.sample(self.PAIRS, self.batch_size // len(SHAPES))
        scenes = [Scene(c, s, b) for c, b in pairs for s in SHAPES]
        images, texts, attrs = [], [], []
        for scene in scenes:
            images.append(self.view(scene, rng) if self.augment else self.centred(scene, rng))
            text, a = sample_caption(scene, rng)
            texts.append(text)
            attrs.append(a)
        target = torch.tensor(
            [
                [1.0 if caption_matches(attrs[j], scenes[i]) else 0.0 for j in range(len(scenes))]
                for i in range(len(scenes))
            ]
        )  # target[i, j]: image i matches text j
        return torch.stack(images), self.tokenizer(texts), target

    def centred(self, scene: Scene, rng: random.Random) -> torch.Tensor:
        """The eval preprocess's centre square of a photo (aspect up to 1.6:1) whose shape
        lies inside it: stage 1's only kind of view."""
        short = rng.randint(64, 160)
        long = round(short * rng.uniform(1.0, 1.6))
        size = (long, short) if rng.random() < 0.5 else (short, long)
        im = jpeg_roundtrip(render(scene, size, rng), rng.randint(70, 95))
        return self.transform(im)

    def view(self, scene: Scene, rng: random.Random) -> torch.Tensor:
        """One training view of ``scene``, augmented like open_clip's training data.

        open_clip trains on random resized crops: a window of aspect 3/4 to 4/3 anywhere
        in the photo, squashed to the model's square, so subjects sit anywhere and are
        sometimes cut by the window's edge. Most views here are such windows (rendered
        directly at the window's size, the subject anywhere, at least about three fifths of
        it inside: a photo's frame cuts subjects too); some are the eval preprocess's centre
        square of a photo whose subject is inside it, and some a whole photo of aspect up to
        3.2:1 letterboxed into the square (so that fitting the long side and padding is
        measured fairly).
        """
        kind = rng.random()
        if kind < 0.2:
            return self.centred(scene, rng)
        if kind < 0.9:
            aspect = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
            short = rng.randint(64, 160)
            w, h = (round(short * aspect), short) if aspect >= 1 else (short, round(short / aspect))
            diameter = min(w, h) * rng.uniform(0.2, 0.7)
            margin = 0.1 * diameter
            centre = (rng.uniform(margin, w - margin), rng.uniform(margin, h - margin))
            im, _ = render_placed(scene, (w, h), rng, centre, diameter)
            return self.squash(jpeg_roundtrip(im, rng.randint(70, 95)))
        short = rng.randint(48, 100)
        long = round(short * math.exp(rng.uniform(0.0, math.log(3.2))))
        w, h = (long, short) if rng.random() < 0.5 else (short, long)
        diameter = short * rng.uniform(0.3, 0.75)
        margin = diameter / 2 + 1
        centre = (rng.uniform(margin, w - margin), rng.uniform(margin, h - margin))
        im, _ = render_placed(scene, (w, h), rng, centre, diameter)
        return self.longest(jpeg_roundtrip(im, rng.randint(70, 95)))


def _worker_init(_worker_id: int) -> None:
    torch.set_num_threads(1)


# --------------------------------------------------------------------------
# model helpers
# --------------------------------------------------------------------------


def write_config(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cfg = {"model_cfg": MODEL_CFG, "preprocess_cfg": PREPROCESS_CFG}
    (out / "open_clip_config.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")


def soft_clip_loss(image_features, text_features, logit_scale, target):
    logits = logit_scale * image_features @ text_features.t()
    t_i2t = target / target.sum(dim=1, keepdim=True)
    t_t2i = target.t() / target.t().sum(dim=1, keepdim=True)
    loss_i = torch.sum(-t_i2t * F.log_softmax(logits, dim=1), dim=1).mean()
    loss_t = torch.sum(-t_t2i * F.log_softmax(logits.t(), dim=1), dim=1).mean()
    return 0.5 * (loss_i + loss_t), logits


def param_groups(model, weight_decay: float):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if (
            p.ndim < 2
            or "bn" in name
            or "ln" in name
            or "embedding" in name
            or "logit_scale" in name
        ):
            no_decay.append(p)
        else:
            decay.append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def lr_at(step: int, steps: int, base_lr: float, warmup: int) -> float:
    if step < warmup:
        return base_lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))


# --------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------


def load_photo(path: Path) -> Image.Image:
    """Load a photo the way the app does."""
    with Image.open(path) as f:
        f.draft("RGB", (256, 256))
        im = ImageOps.exif_transpose(f)
        return im.convert("RGB")


@torch.no_grad()
def encode_texts(model, tokenizer, texts: list[str]) -> torch.Tensor:
    return F.normalize(model.encode_text(tokenizer(texts)), dim=-1)


@torch.no_grad()
def evaluate(model, preprocess, tokenizer, library: list[tuple[Path, Scene]]) -> dict:
    model.eval()
    feats = []
    for i in range(0, len(library), 32):
        batch = torch.stack([preprocess(load_photo(p)) for p, _ in library[i : i + 32]])
        feats.append(F.normalize(model.encode_image(batch), dim=-1))
    img = torch.cat(feats)
    scenes = [s for _, s in library]
    colours, shapes = list(COLOURS), list(SHAPES)

    # text -> image retrieval with "a {colour} {shape}" queries
    recall5, prec5, prec5_norm, n_queries, per_query = [], [], [], 0, {}
    for c in colours:
        for s in shapes:
            relevant = torch.tensor([sc.colour == c and sc.shape == s for sc in scenes])
            n_rel = int(relevant.sum())
            if n_rel == 0:
                continue
            n_queries += 1
            q = encode_texts(model, tokenizer, [f"a {c} {s}"])[0]
            top = torch.topk(img @ q, 5).indices
            hits = int(relevant[top].sum())
            recall5.append(1.0 if hits > 0 else 0.0)
            prec5.append(hits / 5)
            prec5_norm.append(hits / min(5, n_rel))
            per_query[f"a {c} {s}"] = {"relevant": n_rel, "hits_in_top5": hits}

    # zero-shot colour / shape classification with prompt ensembles
    def ensemble(groups: list[list[str]]) -> torch.Tensor:
        return F.normalize(
            torch.stack([encode_texts(model, tokenizer, g).mean(0) for g in groups]), dim=-1
        )

    colour_cls = ensemble([[f"a {c} {s}" for s in shapes] for c in colours])
    shape_cls = ensemble([[f"a {c} {s}" for c in colours] for s in shapes])
    bg_cls = ensemble(
        [
            [f"a {c} {s} on a {b} background" for c in colours if c != b for s in shapes]
            for b in colours
        ]
    )
    colour_pred = (img @ colour_cls.t()).argmax(1).tolist()
    shape_pred = (img @ shape_cls.t()).argmax(1).tolist()
    bg_pred = (img @ bg_cls.t()).argmax(1).tolist()
    colour_acc = float(
        np.mean([colours[p] == sc.colour for p, sc in zip(colour_pred, scenes, strict=True)])
    )
    shape_acc = float(
        np.mean([shapes[p] == sc.shape for p, sc in zip(shape_pred, scenes, strict=True)])
    )
    bg_acc = float(
        np.mean([colours[p] == sc.background for p, sc in zip(bg_pred, scenes, strict=True)])
    )

    # alternative protocols: single prompts "a {colour} shape" / "a {shape}",
    # and joint: the colour / shape of the best of the 32 "a {colour} {shape}"
    single_colour = encode_texts(model, tokenizer, [f"a {c} shape" for c in colours])
    single_shape = encode_texts(model, tokenizer, [f"a {s}" for s in shapes])
    sc_pred = (img @ single_colour.t()).argmax(1).tolist()
    ss_pred = (img @ single_shape.t()).argmax(1).tolist()
    pairs = [(c, s) for c in colours for s in shapes]
    joint = encode_texts(model, tokenizer, [f"a {c} {s}" for c, s in pairs])
    joint_pred = (img @ joint.t()).argmax(1).tolist()
    alt = {
        "colour_accuracy_prompt_a_colour_shape": float(
            np.mean([colours[p] == sc.colour for p, sc in zip(sc_pred, scenes, strict=True)])
        ),
        "shape_accuracy_prompt_a_shape": float(
            np.mean([shapes[p] == sc.shape for p, sc in zip(ss_pred, scenes, strict=True)])
        ),
        "colour_accuracy_joint_32way": float(
            np.mean([pairs[p][0] == sc.colour for p, sc in zip(joint_pred, scenes, strict=True)])
        ),
        "shape_accuracy_joint_32way": float(
            np.mean([pairs[p][1] == sc.shape for p, sc in zip(joint_pred, scenes, strict=True)])
        ),
        "colour_shape_accuracy_joint_32way": float(
            np.mean(
                [
                    pairs[p] == (sc.colour, sc.shape)
                    for p, sc in zip(joint_pred, scenes, strict=True)
                ]
            )
        ),
    }

    # exact full-caption classification over all 224 captions
    full = encode_texts(model, tokenizer, [sc.caption for sc in SCENES])
    full_pred = (img @ full.t()).argmax(1).tolist()
    full_acc = float(np.mean([SCENES[p] == sc for p, sc in zip(full_pred, scenes, strict=True)]))

    return {
        "gallery_images": len(library),
        "queries": n_queries,
        "t2i_recall_at_5": float(np.mean(recall5)),
        "t2i_precision_at_5": float(np.mean(prec5)),
        "t2i_precision_at_5_normalised": float(np.mean(prec5_norm)),
        "zero_shot_colour_accuracy": colour_acc,
        "zero_shot_shape_accuracy": shape_acc,
        "zero_shot_background_accuracy": bg_acc,
        "full_caption_accuracy_224way": full_acc,
        **alt,
        "per_query": per_query,
    }


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

STAGE2_TEMPLATE = """- stage 2, {augment_steps} steps from stage 1's weights, lr {augment_lr}
  (warm-up {augment_warmup}, cosine decay), seed {seed} + 1, augmented like
  open_clip's training data (random resized crops): 70 % windows of aspect
  3/4 to 4/3, short side 64-160 px, the shape (20-70 % of the short side)
  anywhere with at least about three fifths of it inside, squashed to the
  square; 20 % stage 1's views; 10 % a whole photo of aspect up to 3.2:1
  letterboxed into the square{init_note}
"""

README_TEMPLATE = """# tiny-shapes: a toy CLIP model for tests and demos

**This is not a photo model.**  It is a tiny open_clip CLIP trained from
scratch on a 2-core CPU on procedurally generated images of *one
coloured shape on a coloured background* (see `tools/shapes.py`).  It only
understands those scenes; on real photos its output is meaningless.  Its
purpose is to let tests exercise real text-to-image retrieval through the
real open_clip code path without downloading a large model.

## Loading

```python
import open_clip
name = "local-dir:/abs/path/to/resources/models/tiny-shapes"
model, _, preprocess = open_clip.create_model_and_transforms(name)
model.eval()  # required: the image tower uses batch norm
tokenizer = open_clip.get_tokenizer(name)
```

Files: `open_clip_config.json` (`model_cfg` + `preprocess_cfg`),
`open_clip_model.safetensors` (plain fp32 state dict, {size_mb:.1f} MB),
`metrics.json` (held-out evaluation written by the training script).

## Vocabulary

- colours: {colours}
- shapes: {shapes}
- trained caption templates (background always differs from the shape colour):
{templates}

Queries such as `"a red circle"`, `"a blue star on a yellow background"`,
`"a star"` or `"a green shape"` work best.  Other words are tokenised fine
(standard CLIP BPE tokenizer,
vocab 49408, context length {context_length}) but were never seen in training.

## Architecture

- image tower: open_clip ModifiedResNet, layers {layers}, width {vwidth},
  input {image_size}x{image_size} (preprocess: resize short side to {image_size}
  bicubic, centre crop, OpenAI CLIP mean/std)
- text tower: transformer, width {twidth}, heads {theads}, layers {tlayers},
  context length {context_length}
- embedding dim {embed_dim}; {params:,} parameters

## Training

Command (from the repository root):

    .venv/bin/{command}

- seed {seed}, batch {batch_size}; each batch = {pairs} distinct (colour,
  background) pairs x all 4 shapes (hard shape negatives); soft-target
  symmetric InfoNCE so that identical short captions in a batch are not
  treated as negatives; AdamW, weight decay {weight_decay}; images rendered on
  the fly, through a JPEG quality 70-95 round trip
- stage 1, {steps} steps, lr {lr} (warm-up {warmup} steps, cosine decay): the
  eval preprocess's centre square of photos of aspect up to 1.6:1 whose shape
  lies inside it (short side 64-160 px)
{stage2}- CPU, `torch.set_num_threads({threads})`, {workers} data worker process(es);
  training took {train_minutes:.1f} min ({total_minutes:.1f} min in all) on
  {machine}; torch {torch_version}, open_clip {open_clip_version}
- training is bit-reproducible at a fixed torch thread count

## Held-out metrics

{eval_count} photo-like JPEGs (400-1600 px, arbitrary aspect) written by
`tools.shapes.write_library(tmp, {eval_count}, seed={eval_seed})`, loaded like
the app loads photos (`Image.draft("RGB", (256, 256))`, `exif_transpose`,
RGB) and passed through the model's preprocess transform.

| metric | value |
|---|---|
| text-to-image recall@5, "a {{colour}} {{shape}}" ({queries} queries) | {t2i_recall_at_5:.3f} |
| text-to-image precision@5 (hits in top 5 / 5) | {t2i_precision_at_5:.3f} |
| precision@5 normalised (hits / min(5, #relevant)) | {t2i_precision_at_5_normalised:.3f} |
| zero-shot colour accuracy (8-way) | {zero_shot_colour_accuracy:.3f} |
| zero-shot shape accuracy (4-way) | {zero_shot_shape_accuracy:.3f} |
| zero-shot background accuracy (8-way) | {zero_shot_background_accuracy:.3f} |
| full-caption accuracy (224-way) | {full_caption_accuracy_224way:.3f} |
| colour accuracy, single prompts `"a {{colour}} shape"` | \
{colour_accuracy_prompt_a_colour_shape:.3f} |
| shape accuracy, single prompts `"a {{shape}}"` | {shape_accuracy_prompt_a_shape:.3f} |
| colour+shape accuracy, best of the 32 `"a {{colour}} {{shape}}"` | \
{colour_shape_accuracy_joint_32way:.3f} |

Zero-shot classifiers use prompt ensembles: colour `c` = mean normalised
embedding of `"a c {{shape}}"` over the 4 shapes; shape `s` = mean over the 8
colours of `"a {{colour}} s"`; background `b` = mean over all
`"a {{colour}} {{shape}} on a b background"`.  Precision@5 is capped below 1
for queries with fewer than 5 relevant images in the gallery, hence the
normalised variant.
"""


def train(model, data: BatchDataset, steps: int, base_lr: float, warmup: int, args) -> None:
    """``steps`` steps of AdamW over ``data``: warm-up, then cosine decay of ``base_lr``."""
    loader = torch.utils.data.DataLoader(
        data,
        batch_size=None,
        shuffle=False,
        num_workers=args.workers,
        worker_init_fn=_worker_init if args.workers > 0 else None,
        prefetch_factor=4 if args.workers > 0 else None,
        persistent_workers=False,
    )
    optimizer = torch.optim.AdamW(
        param_groups(model, args.weight_decay), lr=base_lr, betas=(0.9, 0.98), eps=1e-6
    )
    model.train()
    stage = "stage 2 (augmented)" if data.augment else "stage 1"
    t_train = time.time()
    running_loss, running_acc = 0.0, 0.0
    for step, (images, texts, target) in enumerate(loader):
        lr = lr_at(step, steps, base_lr, warmup)
        for g in optimizer.param_groups:
            g["lr"] = lr
        image_features, text_features, logit_scale = model(images, texts)
        loss, logits = soft_clip_loss(image_features, text_features, logit_scale, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
            running_loss += loss.item()
            running_acc += target.gather(1, logits.argmax(1, keepdim=True)).mean().item()
        if (step + 1) % args.log_every == 0 or step + 1 == steps:
            n = (step % args.log_every) + 1
            el = time.time() - t_train
            print(
                f"{stage} step {step + 1:5d}/{steps} loss {running_loss / n:.4f} "
                f"i2t-acc {running_acc / n:.3f} "
                f"scale {logit_scale.item():.1f} lr {lr:.2e} elapsed {el:.0f}s "
                f"eta {el / (step + 1) * (steps - step - 1):.0f}s",
                flush=True,
            )
            running_loss, running_acc = 0.0, 0.0


def _machine() -> str:
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    for key, value in DEFAULTS.items():
        p.add_argument("--" + key.replace("_", "-"), type=type(value), default=value)
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument(
        "--init",
        type=Path,
        help="a model folder holding stage 1's result: skip stage 1 and go on from it",
    )
    args = p.parse_args(argv)

    t_start = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    print(
        f"seed={args.seed} threads={args.threads} steps={args.steps} batch={args.batch_size} "
        f"lr={args.lr} workers={args.workers}",
        flush=True,
    )

    stage1 = None
    if args.init:  # read before --out is cleared (it may be the same folder)
        from safetensors.torch import load_file

        stage1 = load_file(str(Path(args.init) / "open_clip_model.safetensors"))
    out: Path = args.out.resolve()
    write_config(out)
    for stale in out.glob("*.safetensors"):
        stale.unlink()
    name = f"local-dir:{out}"
    model, _, preprocess = open_clip.create_model_and_transforms(name)
    tokenizer = open_clip.get_tokenizer(name)
    assert tokenizer.context_length == MODEL_CFG["text_cfg"]["context_length"]
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model params: {n_params:,}", flush=True)
    print(preprocess, flush=True)

    t_train = time.time()
    if stage1 is not None:
        # Stage 1's result, saved earlier (its run is bit-reproducible): go on from there.
        model.load_state_dict(stage1)
        print(f"stage 1: weights from {args.init}", flush=True)
    else:
        data = BatchDataset(args.steps, args.batch_size, args.seed, preprocess, tokenizer)
        train(model, data, args.steps, args.lr, args.warmup, args)
    if args.augment_steps:
        augmented = BatchDataset(
            args.augment_steps, args.batch_size, args.seed + 1, preprocess, tokenizer, augment=True
        )
        train(model, augmented, args.augment_steps, args.augment_lr, args.augment_warmup, args)
    train_seconds = time.time() - t_train

    # save: plain fp32 state dict as safetensors
    from safetensors.torch import save_file

    model.eval()
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    save_file(state, str(out / "open_clip_model.safetensors"), metadata={"format": "pt"})
    size_mb = (out / "open_clip_model.safetensors").stat().st_size / 1e6
    print(f"saved {out / 'open_clip_model.safetensors'} ({size_mb:.2f} MB)", flush=True)

    # reload exactly like users do and check it round-trips
    model2, _, preprocess2 = open_clip.create_model_and_transforms(name)
    model2.eval()
    tokenizer2 = open_clip.get_tokenizer(name)
    for k, v in model2.state_dict().items():
        if not torch.equal(v, state[k]):
            raise RuntimeError(f"reloaded weight differs: {k}")

    with tempfile.TemporaryDirectory() as tmp:
        library = write_library(Path(tmp), args.eval_count, seed=args.eval_seed)
        metrics = evaluate(model2, preprocess2, tokenizer2, library)
    total_seconds = time.time() - t_start

    command = f"python tools/train_tiny_clip.py --out {args.out}"
    if args.augment_steps:
        command += f" --augment-steps {args.augment_steps}"
        if args.init:
            command += f" --init {args.init}"
    summary = {k: v for k, v in metrics.items() if k != "per_query"}
    for k, v in summary.items():
        print(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}")
    record = {
        "metrics": metrics,
        "training": {
            "command": command,
            "args": {
                k: (str(v) if isinstance(v, Path) else v)
                for k, v in vars(args).items()
                if k != "out"
            },
            "train_seconds": round(train_seconds, 1),
            "total_seconds": round(total_seconds, 1),
            "torch": torch.__version__,
            "open_clip": open_clip.__version__,
            "machine": _machine(),
            "date": _dt.date.today().isoformat(),
        },
    }
    (out / "metrics.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")

    templates = "\n".join(f"  - `{t}`" for t, _ in CAPTION_TEMPLATES)
    vc, tc = MODEL_CFG["vision_cfg"], MODEL_CFG["text_cfg"]
    readme = README_TEMPLATE.format(
        command=command,
        size_mb=size_mb,
        colours=", ".join(COLOURS),
        shapes=", ".join(SHAPES),
        templates=templates,
        context_length=tc["context_length"],
        layers=vc["layers"],
        vwidth=vc["width"],
        image_size=vc["image_size"],
        twidth=tc["width"],
        theads=tc["heads"],
        tlayers=tc["layers"],
        embed_dim=MODEL_CFG["embed_dim"],
        params=n_params,
        seed=args.seed,
        steps=args.steps,
        stage2=STAGE2_TEMPLATE.format(
            augment_steps=args.augment_steps,
            augment_lr=args.augment_lr,
            augment_warmup=args.augment_warmup,
            seed=args.seed,
            init_note=(
                f"\n- this run took stage 1's weights from {args.init} (stage 1's run is"
                " bit-reproducible), so the time below is stage 2's"
                if args.init
                else ""
            ),
        )
        if args.augment_steps
        else "",
        batch_size=args.batch_size,
        pairs=args.batch_size // len(SHAPES),
        lr=args.lr,
        warmup=args.warmup,
        weight_decay=args.weight_decay,
        threads=args.threads,
        workers=args.workers,
        train_minutes=train_seconds / 60,
        total_minutes=total_seconds / 60,
        machine=_machine(),
        torch_version=torch.__version__,
        open_clip_version=open_clip.__version__,
        eval_count=args.eval_count,
        eval_seed=args.eval_seed,
        **summary,
    )
    (out / "README.md").write_text(readme, encoding="utf-8")
    print(
        f"seed {args.seed}; elapsed {total_seconds:.0f}s ({total_seconds / 60:.1f} min; "
        f"training {train_seconds:.0f}s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

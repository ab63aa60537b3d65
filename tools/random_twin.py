"""Save a randomly initialised twin of a catalogue model where the real loader looks for it.

Random weights cost exactly the same compute as trained ones, so loading and throughput
measured with a twin are honest; only the search quality is meaningless.

    python -m tools.random_twin --model ViT-B-32-256 --cache /tmp/hf-cache
    HF_HUB_CACHE=/tmp/hf-cache HF_HUB_OFFLINE=1 photoclip --model ViT-B-32-256 index ~/Pictures
"""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

FAKE_COMMIT = "0" * 40


def make_twin(model_key: str, cache_dir: str | os.PathLike[str], seed: int = 0) -> Path:
    """Write the twin into ``cache_dir`` (a Hugging Face hub cache); return the weights path.

    Idempotent: an existing twin is reused."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    from photoclip.embedder import SAFE_WEIGHTS_NAME
    from photoclip.models import get_spec

    spec = get_spec(model_key)
    cfg = open_clip.get_pretrained_cfg(spec.arch, spec.pretrained)
    repo = cfg["hf_hub"].strip("/").split("/")
    repo_id = "/".join(repo[:2])
    root = Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    snapshot = root / "snapshots" / FAKE_COMMIT / SAFE_WEIGHTS_NAME
    if snapshot.is_file():
        return snapshot
    torch.manual_seed(seed)
    model = open_clip.create_model(spec.arch, pretrained=None)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    blobs = root / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    tmp = blobs / "incoming.safetensors"
    save_file(state, str(tmp))
    h = hashlib.sha256()
    with open(tmp, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    blob = blobs / h.hexdigest()
    os.replace(tmp, blob)
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(blob, snapshot.parent), snapshot)
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(FAKE_COMMIT)
    return snapshot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B-32-256")
    parser.add_argument("--cache", required=True, help="Hugging Face hub cache folder")
    args = parser.parse_args()
    print(make_twin(args.model, args.cache))


if __name__ == "__main__":
    main()

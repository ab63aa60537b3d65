"""The catalogue of CLIP models photoclip offers, and the identity every stored vector carries."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .resource import resource_path


@dataclass(frozen=True)
class ModelSpec:
    key: str  # what users type: --model KEY
    arch: str  # open_clip architecture name, or "local-dir:<path>"
    pretrained: str  # open_clip pretrained tag ("" for local-dir models)
    download_mb: int
    quality: str  # short, sourced quality note
    speed: str  # measured here, see README
    summary: str
    hf_repo: str = ""  # where open_clip's pretrained config downloads the weights from

    @property
    def is_local_dir(self) -> bool:
        return self.arch.startswith("local-dir:")


def tiny_shapes_dir() -> str:
    """The bundled demo/test model: a tiny CLIP trained here on coloured shapes."""
    return str(resource_path("models", "tiny-shapes"))


DEFAULT_MODEL = "ViT-B-32-256"

# Quality: text->image recall@1 on Crossmodal-3600 (Immich's multilingual table) where listed,
# else ImageNet zero-shot top-1 from open_clip's results table. Speed: photos/s of the image
# tower alone, fp32, this project's 2-core CPU, measured with random-weight twins
# (bench/bench_models.py).
MODELS: dict[str, ModelSpec] = {
    spec.key: spec
    for spec in (
        ModelSpec(
            key="ViT-B-32-256",
            arch="ViT-B-32-256",
            pretrained="datacomp_s34b_b86k",
            download_mb=605,
            quality="ImageNet zero-shot 72.8 %; the best CLIP/BPE model at ViT-B/32 cost",
            speed="fast",
            summary="Default. Same compute as ViT-B-32 with clearly better retrieval.",
            hf_repo="laion/CLIP-ViT-B-32-256x256-DataComp-s34B-b86K",
        ),
        ModelSpec(
            key="ViT-B-32",
            arch="ViT-B-32",
            pretrained="laion2b_s34b_b79k",
            download_mb=605,
            quality="Crossmodal-3600 recall 68.8; ImageNet zero-shot 66.6 %",
            speed="fast",
            summary="The classic LAION ViT-B/32.",
            hf_repo="laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
        ),
        ModelSpec(
            key="ViT-B-32-openai",
            arch="ViT-B-32",
            pretrained="openai",
            download_mb=605,
            quality="Crossmodal-3600 recall 59.4; ImageNet zero-shot 63.3 %",
            speed="fast",
            summary="OpenAI's original CLIP.",
            hf_repo="timm/vit_base_patch32_clip_224.openai",
        ),
        ModelSpec(
            key="ViT-B-16",
            arch="ViT-B-16",
            pretrained="datacomp_xl_s13b_b90k",
            download_mb=599,
            quality="ImageNet zero-shot 73.5 %; finer detail than B/32",
            speed="about 4x slower than ViT-B-32",
            summary="Sharper on small details; for machines with a GPU or patience.",
            hf_repo="laion/CLIP-ViT-B-16-DataComp.XL-s13B-b90K",
        ),
        ModelSpec(
            key="ViT-L-14",
            arch="ViT-L-14",
            pretrained="datacomp_xl_s13b_b90k",
            download_mb=1710,
            quality="ImageNet zero-shot 79.2 %",
            speed="about 15x slower than ViT-B-32",
            summary="Best quality; practical with a GPU.",
            hf_repo="laion/CLIP-ViT-L-14-DataComp.XL-s13B-b90K",
        ),
        ModelSpec(
            key="tiny-shapes",
            arch="local-dir:" + tiny_shapes_dir(),
            pretrained="",
            download_mb=0,
            quality="understands only coloured shapes",
            speed="instant",
            summary="Demo and test model trained here on generated shapes; not for photos.",
        ),
    )
}


def get_spec(key: str) -> ModelSpec:
    try:
        return MODELS[key]
    except KeyError:
        known = ", ".join(MODELS)
        from .errors import PhotoclipError

        raise PhotoclipError(f"Unknown model {key!r}. Choose one of: {known}.") from None


# How photos were made into the model's input before photoclip saw the whole photo: open_clip's
# centre square (photoclip.preprocess.CENTRE). Keys of that era end with the dimension.
LEGACY_PREPROCESS = "centre"


@dataclass(frozen=True)
class ModelIdentity:
    """What a vector was made with: the weights and how the photo was fed to them (see
    ``photoclip.preprocess``). Vectors of two identities are never ranked together."""

    arch: str
    pretrained: str
    weights_sha256: str
    dim: int
    preprocess: str = LEGACY_PREPROCESS

    @property
    def key(self) -> str:
        key = f"{self.arch}|{self.pretrained}|{self.weights_sha256[:16]}|{self.dim}"
        # A library's existing vectors keep their key (and their rows in the store).
        return key if self.preprocess == LEGACY_PREPROCESS else f"{key}|{self.preprocess}"

    def with_preprocess(self, preprocess: str) -> ModelIdentity:
        return replace(self, preprocess=preprocess)

    def same_weights(self, other: ModelIdentity) -> bool:
        """Both made by the same weights (their text vectors are the same)."""
        return self.with_preprocess(other.preprocess) == other

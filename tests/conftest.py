"""Shared fixtures: the tiny CLIP trained here, generated shape photos, real sample photos,
and a random-weight twin of the default model in a private Hugging Face cache."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache"
PILLOW_IMAGES = CACHE / "pillow-sdist" / "images"

# Never touch the network or the user's real model cache from tests.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_CACHE", str(CACHE / "hf"))
os.environ.pop("PHOTOCLIP_WEIGHTS", None)
os.environ.pop("PHOTOCLIP_LIBRARY", None)
os.environ.pop("PHOTOCLIP_MODEL", None)
# Nor the user's settings file: an empty config folder for session-wide fixtures (each test
# gets its own, see private_settings_file).
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="photoclip-test-config-")
os.environ["APPDATA"] = os.environ["XDG_CONFIG_HOME"]
# Nor the user's cache (the precision measured for a model on this machine, photoclip.precision,
# and the text towers exported from the models' weights: half a gigabyte a run, removed when
# the session ends).
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="photoclip-test-cache-")
_SESSION_TEMP = (os.environ["XDG_CONFIG_HOME"], os.environ["XDG_CACHE_HOME"])


@pytest.fixture(scope="session")
def tiny_embedder():
    """The tiny shapes CLIP, loaded through the production loader (fp32, 1 thread keeps
    results bit-stable)."""
    from photoclip.embedder import load_embedder
    from photoclip.models import tiny_shapes_dir

    weights = Path(tiny_shapes_dir()) / "open_clip_model.safetensors"
    assert weights.is_file(), f"the trained tiny model is missing: {weights}"
    return load_embedder("tiny-shapes", device="cpu", precision="fp32", allow_download=False)


@pytest.fixture(scope="session")
def shapes_dir(tmp_path_factory) -> Path:
    """240 held-out photo-sized JPEGs of coloured shapes (seed differs from training's)."""
    from tools.shapes import write_library

    root = tmp_path_factory.mktemp("shapes")
    write_library(root, 240, seed=20261128)
    return root


@pytest.fixture(scope="module")
def shapes_searcher(tiny_embedder, shapes_dir, tmp_path_factory):
    """A Searcher over a fresh library of ``shapes_dir`` indexed with the tiny model."""
    from photoclip.indexer import Indexer
    from photoclip.search import Searcher
    from photoclip.store import Store

    store = Store(tmp_path_factory.mktemp("lib") / "library.db")
    Indexer(store, tiny_embedder).run([str(shapes_dir)], add=True)
    yield Searcher(store, tiny_embedder)
    store.close()


@pytest.fixture(scope="session")
def shapes_manifest(shapes_dir) -> dict[str, dict]:
    """Absolute path -> {colour, shape, background}."""
    from tools.shapes import read_manifest

    return read_manifest(shapes_dir)


@pytest.fixture
def small_shapes_dir(tmp_path) -> Path:
    """A fresh folder of 40 shape photos the test may change."""
    from tools.shapes import write_library

    root = tmp_path / "photos"
    write_library(root, 40, seed=7, min_side=300, max_side=700)
    return root


@pytest.fixture(scope="session")
def sample_photos(tmp_path_factory) -> Path:
    """Real photographs from scikit-image, as JPEG/PNG files in nested folders."""
    from PIL import Image
    from skimage import data

    root = tmp_path_factory.mktemp("samples")
    names = [
        "astronaut",
        "coffee",
        "chelsea",
        "rocket",
        "cat",
        "camera",
        "horse",
        "hubble_deep_field",
    ]
    for i, name in enumerate(names):
        arr = getattr(data, name)()
        img = Image.fromarray(arr).convert("RGB")
        sub = root / ("trip" if i % 2 else "home")
        sub.mkdir(exist_ok=True)
        img.save(sub / f"{name}.{'jpg' if i % 3 else 'png'}")
    return root


@pytest.fixture(scope="session")
def twin_cache() -> Path:
    """A random-weight twin of the default model where the real loader looks for it."""
    from photoclip.models import DEFAULT_MODEL
    from tools.random_twin import make_twin

    cache = Path(os.environ["HF_HUB_CACHE"])
    make_twin(DEFAULT_MODEL, cache)
    return cache


@pytest.fixture(scope="session")
def pillow_images() -> Path:
    assert PILLOW_IMAGES.is_dir(), (
        f"Pillow's test images are missing ({PILLOW_IMAGES}); `make test-data` fetches them"
    )
    return PILLOW_IMAGES


@pytest.fixture(autouse=True)
def private_settings_file(tmp_path, monkeypatch) -> Path:
    """Each test gets its own photoclip settings file (photoclip.config), never the user's:
    the config folder is moved into the test's temp folder, for the CLI in a child too."""
    config_home = tmp_path / "config-home"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    monkeypatch.setenv("APPDATA", str(config_home))
    return config_home / "photoclip" / "config.json"


@pytest.fixture
def library(tmp_path):
    """A fresh, real library database in a temp folder."""
    from photoclip.store import Store

    store = Store(tmp_path / "lib" / "library.db")
    yield store
    store.close()


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


_exit_status = 0


def pytest_sessionfinish(session, exitstatus):
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Leave without interpreter teardown. With Qt (a session QApplication), torch's thread
    pools and open_clip models alive in one process, CPython's final module clean-up can
    crash in C++ destructors *after* every test has passed and the summary is printed,
    turning a green run into exit 139. The result is already decided here; report it."""
    import sys

    for folder in _SESSION_TEMP:  # os._exit skips atexit, so clean up here
        shutil.rmtree(folder, ignore_errors=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status)

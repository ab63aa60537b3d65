"""The core imports and runs without Qt, and without torch until a model is actually used."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CORE_MODULES = (
    "photoclip.cli",
    "photoclip.indexer",
    "photoclip.search",
    "photoclip.store",
    "photoclip.embedder",
    "photoclip.imaging",
    "photoclip.scanner",
    "photoclip.paths",
    "photoclip.models",
    "photoclip.errors",
    "photoclip.config",
    "photoclip.fsinfo",
    "photoclip.recovery",
    "photoclip.download",
    "photoclip.throughput",
    "photoclip.presence",
)


def _loaded_after(code: str) -> set[str]:
    """Run ``code`` in a fresh interpreter and return the top-level packages it loaded."""
    probe = textwrap.dedent(code) + textwrap.dedent(
        """
        import json, sys
        print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_core_never_imports_qt():
    loaded = _loaded_after("\n".join(f"import {name}" for name in CORE_MODULES))
    # The probe sees real imports: the core's own dependencies show up...
    assert {"photoclip", "PIL", "numpy", "sqlite3"} <= loaded
    # ...and no Qt binding does.
    assert not loaded & {"PySide6", "shiboken6", "PyQt5", "PyQt6"}


def test_importing_the_core_and_searching_a_library_leaves_torch_unloaded(tmp_path):
    """Startup shows the window before torch loads: the store, query parsing and ranking
    over stored vectors must not pull it in (only the embedder does, inside functions)."""
    loaded = _loaded_after(
        f"""
        {"; ".join(f"import {name}" for name in CORE_MODULES)}
        import numpy as np
        from photoclip.models import ModelIdentity
        from photoclip.search import VectorIndex, parse_query, strong_threshold, top_k
        from photoclip.store import Store

        store = Store({str(tmp_path / "library.db")!r})
        model = store.model_id(ModelIdentity("arch", "tag", "0" * 64, 4))
        index = VectorIndex(store, model, 4)
        index.refresh()
        terms = parse_query('sunset - people + 2:"a lighthouse"')
        assert len(terms) == 3, terms
        scores = np.linspace(0, 1, 50)
        assert top_k(scores, 3).tolist() == [49, 48, 47]
        strong_threshold(scores)
        store.close()
        """
    )
    assert "photoclip" in loaded
    assert not loaded & {"torch", "torchvision", "open_clip", "timm"}
    # sqlite_utils takes 40 ms to import: only a table count (status) needs it; the
    # network's modules, 10 ms: only a download does.
    assert "sqlite_utils" not in loaded
    assert not loaded & {"http", "ssl", "socket", "email"}

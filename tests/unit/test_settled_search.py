"""What a search leaves behind and what a Settings change reaches without a reload: only a
settled search is remembered; the thread count applies from the model's next call."""

from __future__ import annotations

import threading

import numpy as np


def test_only_a_settled_search_is_remembered(tiny_embedder, tmp_path):
    """While typing (remember_phrases off) a pause's phrase stays in memory; settle() stores
    the search the user settled on, and nothing else."""
    from photoclip.calibration import rephrase
    from photoclip.search import Searcher
    from photoclip.store import Store

    store = Store(tmp_path / "library.db")
    try:
        searcher = Searcher(store, tiny_embedder)
        searcher.remember_phrases = False
        for prefix in ("a r", "a re", "a red", "a red circle"):
            searcher.query_vector(prefix)
        assert store.text_vectors(searcher.model_id, ["a r", "a re", "a red circle"]) == {}
        searcher.settle("a red circle")
        stored = store.text_vectors(searcher.model_id, ["a r", "a re", "a red", "a red circle"])
        assert set(stored) == {"a red circle"}
        assert rephrase("a red circle") in store.text_vectors(
            searcher.model_id, [rephrase("a red circle")]
        )
        # A later process finds it without the model.
        again = Searcher(store, tiny_embedder)
        assert np.allclose(again._text_vectors(["a red circle"])["a red circle"],
                           stored["a red circle"])  # fmt: skip
    finally:
        store.close()


def test_the_thread_count_takes_effect_without_a_reload(tiny_embedder):
    """The app's Settings change the threads while the model stays loaded: the model's next
    call, in whichever thread, uses the new count (it used to re-apply its load-time one)."""
    import torch
    from PIL import Image

    from photoclip.embedder import default_threads, set_model_threads

    seen = []

    def run() -> None:
        tiny_embedder.encode_images([Image.new("RGB", (64, 64), "red")])
        seen.append(torch.get_num_threads())

    try:
        for wanted in (1, 2):
            set_model_threads(wanted)
            worker = threading.Thread(target=run)
            worker.start()
            worker.join()
        assert seen == [1, 2]
    finally:
        set_model_threads(None)
    assert default_threads() >= 1

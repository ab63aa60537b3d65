"""A library an older photoclip embedded from the photos' centre squares, opened by an app that
feeds photos to the same model another way (issue #11; photoclip's default is still the centre
square, so the test sets the other way): searches keep using the older vectors while the app
embeds the library again in the background, also after a close mid-way, then switch by
themselves."""

from __future__ import annotations

import threading

from guitest import INDEX_TIMEOUT_MS, wait_model
from PySide6.QtCore import Qt
from test_reliability import ranked_by, search_with

from photoclip.indexer import Indexer
from photoclip.models import LEGACY_PREPROCESS
from photoclip.preprocess import WHOLE
from photoclip.store import Store


def test_an_upgraded_library_is_searched_with_its_older_vectors_until_embedded_again(
    launch, qtbot, small_shapes_dir, tmp_path, tiny_embedder, tiny_model, monkeypatch
):
    monkeypatch.setattr("photoclip.preprocess.DEFAULT_PREPROCESS", WHOLE)
    library = tmp_path / "library"
    library.mkdir()
    older = tiny_embedder.with_preprocess(LEGACY_PREPROCESS)
    store = Store(library / "library.db")
    Indexer(store, older).run([str(small_shapes_dir)], add=True)
    store.set_setting("model", tiny_model)
    store.close()

    window = launch(library=library, model=None)
    worker = window.services.index_worker
    held = threading.Event()

    def hold(_: object) -> None:  # the user pauses after the first batch
        if not held.is_set():
            held.set()
            worker.set_paused(True)

    worker.batchIndexed.connect(hold, Qt.ConnectionType.DirectConnection)
    wait_model(qtbot, window)
    assert window.model_status.embedder.identity == older.identity
    qtbot.waitUntil(held.is_set, timeout=INDEX_TIMEOUT_MS)
    qtbot.waitUntil(
        lambda: window.model_label.text().startswith(f"Updating {tiny_model} to see whole photos"),
        timeout=30_000,
    )
    model, top = search_with(qtbot, window, "a red circle")
    assert (model, top) == (older.identity.key, ranked_by(window, older, "a red circle"))

    # Closed mid-way: the next launch searches with the older vectors and goes on.
    worker.batchIndexed.disconnect(hold)
    window.close()
    window.services.store.close()
    messages: list[str] = []
    again = launch(library=library, model=None)
    again.statusBar().messageChanged.connect(messages.append)
    wait_model(qtbot, again)
    assert again.model_status.embedder.identity == older.identity
    qtbot.waitUntil(lambda: again.model_label.text() == f"Model: {tiny_model}",
                    timeout=INDEX_TIMEOUT_MS)  # fmt: skip
    assert f"Now searching with {tiny_model}." in messages
    new = again.model_status.embedder
    assert new.identity.preprocess == WHOLE != LEGACY_PREPROCESS
    assert new.identity.same_weights(older.identity)
    model, top = search_with(qtbot, again, "a red circle")
    assert (model, top) == (new.identity.key, ranked_by(again, new, "a red circle"))
    assert again.store.get_setting("model") == tiny_model

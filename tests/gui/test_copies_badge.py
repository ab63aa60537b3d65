"""Exact copies fold into one search tile with a ×N badge (#10): the grid shows what the
search folded, through the real app, the real copy check after indexing and the tiny model."""

from __future__ import annotations

import shutil

from guitest import launch_indexed, wait_results
from PIL import Image

from photoclip.ui.grid_model import CopiesRole, PathRole


def test_exact_copies_are_one_tile_with_their_count(launch, qtbot, tmp_path):
    from skimage import data

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(data.coins()).save(photos / "coins.jpg")
    shutil.copyfile(photos / "coins.jpg", photos / "coins copy.jpg")
    Image.fromarray(data.chelsea()).save(photos / "chelsea.jpg")
    window = launch_indexed(launch, qtbot, [str(photos)], at_least=3)
    qtbot.waitUntil(lambda: window.sidebar.place_item("duplicates") is not None, timeout=30_000)

    window.search_bar.set_text("a cat")
    qtbot.waitUntil(lambda: window.model.query.text == "a cat", timeout=30_000)
    wait_results(qtbot, window)
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=30_000)
    tiles = {
        window.model.index(r).data(PathRole).rsplit("/", 1)[-1]: window.model.index(r).data(
            CopiesRole
        )
        for r in range(2)
    }
    assert tiles.pop("chelsea.jpg") == 1
    ((coins, count),) = tiles.items()
    assert coins in ("coins.jpg", "coins copy.jpg") and count == 2
    assert "Stands for 2 copies" in window.model.index(
        next(r for r in range(2) if window.model.index(r).data(CopiesRole) == 2)
    ).data(0x03)  # ToolTipRole

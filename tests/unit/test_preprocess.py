"""How photos become the model's input (photoclip.preprocess) and the identity that records it."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from photoclip import preprocess as pp
from photoclip.models import LEGACY_PREPROCESS, ModelIdentity

CFG = {
    "size": 64,
    "mean": [0.48145466, 0.4578275, 0.40821073],
    "std": [0.26862954, 0.26130258, 0.27577711],
    "fill_color": 0,
}


def covered(boxes: list[pp.Box], width: int, height: int) -> bool:
    seen = np.zeros((height, width), bool)
    for x0, y0, x1, y1 in boxes:
        seen[round(y0) : round(y1), round(x0) : round(x1)] = True
    return bool(seen.all())


@pytest.mark.parametrize(
    ("size", "views"),
    [((400, 300), 1), ((300, 400), 1), ((4032, 3024), 1), ((1000, 750), 1), ((600, 400), 2),
     ((1600, 900), 2), ((900, 1600), 2), ((3000, 1000), 3), ((1000, 3000), 3), ((4000, 1000), 3),
     ((20000, 500), pp.MAX_WINDOWS)],
)  # fmt: skip
def test_whole_sees_all_of_every_photo_in_a_few_views(size, views):
    boxes = pp.view_boxes(pp.WHOLE, *size)
    assert len(boxes) == views
    assert covered(boxes, *size)
    if len(boxes) > 1 and views < pp.MAX_WINDOWS:  # windows no longer than open_clip's crops
        for x0, y0, x1, y1 in boxes:
            long, short = max(x1 - x0, y1 - y0), min(x1 - x0, y1 - y0)
            assert long <= short * pp.WINDOW_ASPECT + 1e-6


@pytest.mark.parametrize("size", [(400, 300), (1600, 900), (3000, 1000), (777, 1301)])
def test_crops_cover_the_photo_with_overlapping_squares(size):
    boxes = pp.view_boxes(pp.CROPS, *size)
    assert covered(boxes, *size)
    short = min(size)
    assert all(abs((x1 - x0) - short) < 1e-6 and abs((y1 - y0) - short) < 1e-6
               for x0, y0, x1, y1 in boxes)  # fmt: skip


def photo_with_a_red_square_at(size: tuple[int, int], x: int) -> Image.Image:
    """A blue photo with one red square (side = a fifth of the short side) whose left edge
    is at ``x``."""
    image = Image.new("RGB", size, (30, 70, 215))
    side = min(size) // 5
    y = (size[1] - side) // 2
    image.paste((215, 25, 30), (x, y, x + side, y + side))
    return image


def red_pixels(tensor) -> int:
    x = tensor.numpy()
    if x.ndim == 3:
        x = x[None]
    rgb = x * np.array(CFG["std"])[None, :, None, None] + np.array(CFG["mean"])[None, :, None, None]
    red = (rgb[:, 0] > 0.6) & (rgb[:, 2] < 0.4)
    return int(red.sum())


def test_a_subject_at_the_edge_of_a_16_9_photo_is_cut_away_by_the_centre_crop_only():
    import open_clip

    photo = photo_with_a_red_square_at((1600, 900), 10)
    centre = open_clip.image_transform(64, False, CFG["mean"], CFG["std"], resize_mode="shortest")
    seen_centre = pp.ViewTransform(pp.CENTRE, CFG, centre)(photo)
    seen_squashed = pp.ViewTransform(pp.SQUASH, CFG, centre)(photo)
    seen_whole = pp.ViewTransform(pp.WHOLE, CFG, centre)(photo)
    assert tuple(seen_centre.shape) == tuple(seen_squashed.shape) == (3, 64, 64)
    assert tuple(seen_whole.shape) == (2, 3, 64, 64)  # two 4:3 windows
    assert red_pixels(seen_centre) == 0
    assert red_pixels(seen_squashed) > 20
    assert red_pixels(seen_whole[0]) > 20 and red_pixels(seen_whole[1]) == 0


def test_a_panorama_becomes_a_few_windows_and_its_edge_is_in_one_of_them():
    photo = photo_with_a_red_square_at((3000, 1000), 2790)
    views = pp.ViewTransform(pp.WHOLE, CFG, lambda im: None)(photo)
    assert tuple(views.shape) == (3, 3, 64, 64)
    assert [red_pixels(v) > 20 for v in views] == [False, False, True]


def test_letterbox_keeps_the_aspect_and_pads():
    photo = Image.new("RGB", (3000, 1000), (215, 25, 30))
    view = pp.ViewTransform(pp.LONGEST, CFG, lambda im: None)(photo)
    rows_red = [red_pixels(view[:, r : r + 1, :]) > 0 for r in range(64)]
    assert sum(rows_red) in (21, 22)  # a third of the height; the rest is padding


def test_views_make_one_unit_vector_per_photo():
    import torch

    one, three = torch.zeros(3, 4, 4), torch.zeros(3, 3, 4, 4)
    batch, counts = pp.flatten_views([one, three, one])
    assert tuple(batch.shape) == (5, 3, 4, 4) and counts == [1, 3, 1]
    vectors = np.eye(5, 4, dtype=np.float32)
    vectors[4] = [0, 0, 0, 1]
    blended = pp.blend(vectors, counts)
    assert blended.shape == (3, 4)
    np.testing.assert_allclose(blended[0], [1, 0, 0, 0])
    np.testing.assert_allclose(blended[1], np.array([0, 1, 1, 1]) / np.sqrt(3), rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(blended, axis=1), 1.0, rtol=1e-6)


def test_an_unknown_method_is_refused_in_words():
    with pytest.raises(ValueError, match="Unknown preprocessing 'zoom'; choose one of"):
        pp.ViewTransform("zoom", CFG, lambda im: None)


def test_the_preprocessing_is_part_of_the_identity_and_old_keys_stay():
    old = ModelIdentity("ViT-B-32-256", "datacomp_s34b_b86k", "ab" * 32, 512)
    assert old.preprocess == LEGACY_PREPROCESS
    assert old.key == f"ViT-B-32-256|datacomp_s34b_b86k|{'ab' * 8}|512"  # a library's own rows
    new = old.with_preprocess(pp.WHOLE)
    assert new != old and new.key == old.key + "|whole"
    assert new.same_weights(old) and old.same_weights(new)
    other = ModelIdentity("ViT-B-32-256", "datacomp_s34b_b86k", "cd" * 32, 512, pp.WHOLE)
    assert not other.same_weights(new)


@pytest.mark.parametrize("method", pp.METHODS)
def test_the_exported_towers_views_are_torchs_as_pixels(method):
    """For the exported tower (image_tower.CentreTransform) each view is its uint8 pixels,
    HWC; normalised as open_clip does, they are exactly what torch's way makes."""
    import open_clip

    from photoclip.image_tower import CentreTransform

    mean, std = CFG["mean"], CFG["std"]
    centre = CentreTransform(64, mean, std)
    ours = pp.ViewTransform(method, CFG, centre)
    theirs = pp.ViewTransform(method, CFG, open_clip.image_transform(64, False, mean=mean, std=std))
    for size in ((400, 300), (1600, 900), (300, 901)):
        photo = photo_with_a_red_square_at(size, size[0] // 3)
        pixels, want = ours(photo), theirs(photo).numpy()
        assert pixels.dtype == np.uint8 and pixels.shape[-3:] == (64, 64, 3)
        batch = pixels if pixels.ndim == 4 else pixels[None]
        normalised = (batch.transpose(0, 3, 1, 2) / np.float32(255) - centre.mean) / centre.std
        assert np.allclose(normalised, want if want.ndim == 4 else want[None], atol=1e-5), size
        extras, torch_extras = ours.extras(photo), theirs.extras(photo)
        assert (extras is None) == (torch_extras is None)
        if extras is not None:
            assert extras.dtype == np.uint8
            assert np.array_equal(centre.to_pixels(torch_extras.numpy()), extras)

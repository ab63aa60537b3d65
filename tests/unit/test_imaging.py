"""decode_photo on real files written with Pillow (and pillow-heif), and on Pillow's own corpus
of broken and unusual images."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps, JpegImagePlugin
from PIL.TiffImagePlugin import IFDRational

from photoclip.imaging import (
    FileReadError,
    PhotoError,
    decode_photo,
    open_for_display,
    parse_exif_datetime,
    parse_utc_offset,
)

RED = (255, 0, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)


def close_to(pixel, colour, tolerance: int = 40) -> bool:
    return all(abs(int(a) - int(b)) <= tolerance for a, b in zip(pixel, colour, strict=True))


def corner_marked(size=(400, 200)) -> Image.Image:
    """Blue, with a red block in the top-left corner."""
    img = Image.new("RGB", size, BLUE)
    img.paste(RED, (0, 0, 60, 60))
    return img


def photo_texture(width: int, height: int, seed: int = 0) -> Image.Image:
    """A smooth, photo-like RGB picture (compresses like a photo, unlike noise)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 64 + 1, width // 64 + 1, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((width, height), Image.Resampling.BILINEAR)


# -- orientation -------------------------------------------------------------------------------


def save_with_orientation(img: Image.Image, path: Path, orientation: int) -> Path:
    exif = Image.Exif()
    exif[0x0112] = orientation
    img.save(path, "JPEG", quality=95, exif=exif.tobytes())
    return path


def test_orientation_6_swaps_size_and_rotates_the_picture_clockwise(tmp_path):
    path = save_with_orientation(corner_marked((400, 200)), tmp_path / "rotated.jpg", 6)

    photo = decode_photo(str(path))

    assert (photo.width, photo.height) == (200, 400)
    assert photo.image.size == (200, 400)
    w, h = photo.image.size
    # Turned a quarter clockwise for display: the top-left mark is now top-right.
    assert close_to(photo.image.getpixel((w - 10, 10)), RED)
    assert close_to(photo.image.getpixel((10, 10)), BLUE)
    assert close_to(photo.image.getpixel((10, h - 10)), BLUE)
    thumb = Image.open(io.BytesIO(photo.thumbnail))
    assert thumb.height > thumb.width
    assert close_to(thumb.getpixel((thumb.width - 5, 5)), RED)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_pillows_exif_transpose(tmp_path, orientation):
    path = save_with_orientation(corner_marked((300, 180)), tmp_path / "o.jpg", orientation)
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"), dtype=np.int16)

    photo = decode_photo(str(path))

    assert (photo.width, photo.height) == (expected.shape[1], expected.shape[0])
    got = np.asarray(photo.image, dtype=np.int16)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 2


def test_open_for_display_applies_orientation_too(tmp_path):
    path = save_with_orientation(corner_marked((400, 200)), tmp_path / "rotated.jpg", 6)

    shown = open_for_display(str(path), max_side=100)

    assert shown.size == (50, 100)
    assert close_to(shown.getpixel((45, 3)), RED)


# -- colour modes ------------------------------------------------------------------------------


def test_16_bit_greyscale_is_scaled_not_clipped_to_white(tmp_path):
    ramp = np.linspace(16384, 49151, 128, dtype=np.uint16)
    arr = np.tile(ramp, (64, 1))
    img = Image.fromarray(arr)  # mode I;16
    path = tmp_path / "grey16.png"
    img.save(path)
    with Image.open(path) as check:
        assert check.mode == "I;16"

    photo = decode_photo(str(path))

    pixels = np.asarray(photo.image)
    assert photo.image.mode == "RGB"
    assert pixels.max() < 200
    assert 120 <= pixels.mean() <= 136  # mid-grey stays mid-grey
    # The ramp survives: darker on the left than on the right.
    assert pixels[:, :10].mean() < 80 < 176 < pixels[:, -10:].mean()


def test_cmyk_jpeg_decodes_to_rgb_with_the_right_colours(tmp_path):
    img = Image.new("CMYK", (200, 100), (0, 255, 255, 0))  # magenta + yellow ink: red
    img.paste((255, 0, 0, 0), (100, 0, 200, 100))  # cyan ink
    path = tmp_path / "print.jpg"
    img.save(path, "JPEG", quality=95)

    photo = decode_photo(str(path))

    assert photo.format == "JPEG"
    assert photo.image.mode == "RGB"
    assert close_to(photo.image.getpixel((50, 50)), RED)
    assert close_to(photo.image.getpixel((150, 50)), (0, 255, 255))


def test_palette_png_with_transparency_composites_on_white(tmp_path):
    img = Image.new("P", (100, 50), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)  # 0: black (transparent), 1: red
    img.paste(1, (50, 0, 100, 50))
    path = tmp_path / "logo.png"
    img.save(path, transparency=0)

    photo = decode_photo(str(path))

    assert close_to(photo.image.getpixel((10, 25)), WHITE, 0)  # not black
    assert close_to(photo.image.getpixel((90, 25)), RED, 0)


def test_half_transparent_rgba_blends_with_white(tmp_path):
    path = tmp_path / "glass.png"
    Image.new("RGBA", (40, 40), (255, 0, 0, 128)).save(path)

    photo = decode_photo(str(path))

    assert close_to(photo.image.getpixel((20, 20)), (255, 127, 127), 2)


def test_animated_gif_uses_the_first_frame(tmp_path):
    frames = [Image.new("RGB", (64, 64), c) for c in (RED, (0, 255, 0), BLUE)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with Image.open(path) as check:
        assert check.n_frames == 3

    photo = decode_photo(str(path))

    assert photo.format == "GIF"
    assert close_to(photo.image.getpixel((32, 32)), RED, 0)


# -- broken files ------------------------------------------------------------------------------


def test_a_truncated_jpeg_is_reported_as_truncated(tmp_path):
    whole = tmp_path / "whole.jpg"
    photo_texture(1200, 900).save(whole, quality=90)
    data = whole.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    decode_photo(str(whole))  # the whole file is fine

    with pytest.raises(PhotoError) as err:
        decode_photo(str(cut))

    assert "truncated" in str(err.value)
    assert str(err.value) == "The file is truncated: it ends before the image data does."


def test_a_real_photo_cut_in_half_is_reported_as_truncated(tmp_path, sample_photos):
    source = next(iter(sorted(sample_photos.rglob("*.jpg"))))
    data = source.read_bytes()
    cut = tmp_path / source.name
    cut.write_bytes(data[: len(data) // 2])

    with pytest.raises(PhotoError, match="truncated"):
        decode_photo(str(cut))


def test_an_empty_file_is_reported_as_empty(tmp_path):
    path = tmp_path / "zero.jpg"
    path.write_bytes(b"")

    with pytest.raises(PhotoError, match=r"^The file is empty \(0 bytes\)\.$"):
        decode_photo(str(path))


def test_a_text_file_named_jpg_is_not_an_image(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("shopping list: eggs, milk\n")

    with pytest.raises(PhotoError, match="isn't an image"):
        decode_photo(str(path))


def test_a_missing_file_and_a_folder_are_reported_in_words(tmp_path):
    (tmp_path / "album.jpg").mkdir()

    with pytest.raises(PhotoError, match="disappeared"):
        decode_photo(str(tmp_path / "gone.jpg"))
    with pytest.raises(PhotoError, match=r"^This is a folder, not a photo\.$"):
        decode_photo(str(tmp_path / "album.jpg"))


def test_os_errors_are_read_errors_and_bad_bytes_are_not(tmp_path, sample_photos):
    """The indexer retries a FileReadError next scan and keeps a lasting PhotoError: an OS
    that fails to read says nothing about the photo; bytes that don't decode do."""
    (tmp_path / "album.jpg").mkdir()
    for path in (tmp_path / "gone.jpg", tmp_path / "album.jpg"):
        with pytest.raises(FileReadError):
            decode_photo(str(path))
    cut = tmp_path / "cut.jpg"
    whole = next(sample_photos.rglob("*.jpg")).read_bytes()
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(PhotoError) as lasting:
        decode_photo(str(cut))
    assert not isinstance(lasting.value, FileReadError)


def test_the_viewer_words_failures_like_the_indexer(tmp_path, pillow_images):
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    odd = tmp_path / "odd.jpg"  # a DDS texture Pillow can identify but not decode
    odd.write_bytes((pillow_images / "unimplemented_pixel_format.dds").read_bytes())

    with pytest.raises(PhotoError, match="disappeared"):
        open_for_display(str(tmp_path / "gone.jpg"))
    with pytest.raises(PhotoError, match="isn't an image"):
        open_for_display(str(text))
    for decode in (decode_photo, open_for_display):
        with pytest.raises(PhotoError, match=r"^The image data is damaged.*\.$"):
            decode(str(odd))


# -- EXIF facts --------------------------------------------------------------------------------


def exif_block(make=None, model=None, taken=None, gps=None) -> bytes:
    exif = Image.Exif()
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    if gps:
        ifd = exif.get_ifd(0x8825)
        (lat_ref, lat), (lon_ref, lon) = gps
        ifd[1], ifd[2] = lat_ref, tuple(IFDRational(*r) for r in lat)
        ifd[3], ifd[4] = lon_ref, tuple(IFDRational(*r) for r in lon)
    return exif.tobytes()


def test_the_cameras_utc_offset_is_kept_with_its_date(tmp_path):
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2024:03:10 08:15:00"
    exif.get_ifd(0x8769)[0x9011] = "-05:00"
    path = tmp_path / "nyc.jpg"
    photo_texture(64, 64).save(path, exif=exif.tobytes())
    photo = decode_photo(str(path))
    assert (photo.taken_at, photo.taken_offset) == ("2024-03-10T08:15:00", "-05:00")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+02:00", "+02:00"), ("-09:30", "-09:30"), ("+14:00", "+14:00"), ("   :  ", None),
     ("+2:00", None), ("+25:00", None), ("", None), (None, None), ("+05:60", None)],
)  # fmt: skip
def test_parse_utc_offset(raw, expected):
    assert parse_utc_offset(raw) == expected


def test_exif_date_camera_and_gps_are_extracted(tmp_path):
    path = tmp_path / "paris.jpg"
    block = exif_block(
        make="Canon",
        model="Canon EOS 5D Mark IV",
        taken="2021:07:04 18:30:15",
        gps=(("N", [(48, 1), (51, 1), (2950, 100)]), ("E", [(2, 1), (17, 1), (402, 10)])),
    )
    photo_texture(320, 240).save(path, quality=90, exif=block)
    with Image.open(path) as check:  # Pillow wrote what we meant
        assert check.getexif().get_ifd(0x8825)[1] == "N"

    photo = decode_photo(str(path))

    assert photo.taken_at == "2021-07-04T18:30:15"
    assert photo.camera == "Canon EOS 5D Mark IV"
    assert photo.latitude == pytest.approx(48 + 51 / 60 + 29.5 / 3600, abs=1e-6)
    assert photo.longitude == pytest.approx(2 + 17 / 60 + 40.2 / 3600, abs=1e-6)


def test_southern_and_western_coordinates_are_negative(tmp_path):
    path = tmp_path / "rio.jpg"
    block = exif_block(
        gps=(("S", [(22, 1), (57, 1), (0, 1)]), ("W", [(43, 1), (12, 1), (36, 1)])),
    )
    photo_texture(100, 100).save(path, exif=block)

    photo = decode_photo(str(path))

    assert photo.latitude == pytest.approx(-(22 + 57 / 60), abs=1e-6)
    assert photo.longitude == pytest.approx(-(43 + 12 / 60 + 36 / 3600), abs=1e-6)
    assert photo.taken_at is None and photo.camera is None


@pytest.mark.parametrize(
    ("make", "model", "camera"),
    [
        ("Apple", "iPhone 12", "Apple iPhone 12"),
        ("NIKON CORPORATION", "NIKON D750", "NIKON D750"),
        ("Canon", None, "Canon"),
        (None, "Pixel 7", "Pixel 7"),
    ],
)
def test_camera_name_does_not_repeat_the_make(tmp_path, make, model, camera):
    path = tmp_path / "cam.jpg"
    photo_texture(64, 64).save(path, exif=exif_block(make=make, model=model))

    assert decode_photo(str(path)).camera == camera


def test_a_photo_without_exif_has_no_facts(tmp_path):
    path = tmp_path / "plain.png"
    photo_texture(64, 64).save(path)

    photo = decode_photo(str(path))

    assert (photo.taken_at, photo.camera, photo.latitude, photo.longitude) == (None,) * 4


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021:07:04 18:30:15", "2021-07-04T18:30:15"),
        ("2021:07:04 18:30:15\x00", "2021-07-04T18:30:15"),
        ("2021-07-04 18:30:15", "2021-07-04T18:30:15"),
        ("2021:07:04 18:30", "2021-07-04T18:30:00"),
        ("2021:07:04", "2021-07-04T00:00:00"),
        ("0000:00:00 00:00:00", None),
        ("    :  :     :  :  ", None),
        ("1601:01:01 00:00:00", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_exif_datetime(raw, expected):
    assert parse_exif_datetime(raw) == expected


# -- big photos, thumbnails --------------------------------------------------------------------


def test_a_12_megapixel_jpeg_decodes_reduced_through_draft(tmp_path, monkeypatch):
    path = tmp_path / "big.jpg"
    photo_texture(4000, 3000).save(path, quality=85)
    drafted: list[tuple[int, int]] = []
    real_draft = JpegImagePlugin.JpegImageFile.draft

    def recording_draft(self, mode, size):
        result = real_draft(self, mode, size)
        drafted.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", recording_draft)

    photo = decode_photo(str(path), model_size=224)

    assert (photo.width, photo.height) == (4000, 3000)
    # libjpeg scaled the decode itself (by 1/8 at most), still big enough for the thumbnail.
    ((w, h),) = drafted
    assert 256 <= h <= 750 and w * 3 == h * 4
    assert 224 <= min(photo.image.size) <= 600
    assert photo.image.size[0] / photo.image.size[1] == pytest.approx(4 / 3, rel=0.01)
    thumb = Image.open(io.BytesIO(photo.thumbnail))
    thumb.verify()
    assert thumb.format == "JPEG"
    assert thumb.size == (photo.thumb_width, photo.thumb_height) == (256, 192)


def test_a_large_model_size_is_honoured_through_draft(tmp_path):
    path = tmp_path / "big.jpg"
    photo_texture(4000, 3000).save(path, quality=85)

    photo = decode_photo(str(path), model_size=1000)

    assert min(photo.image.size) >= 1000


def test_a_small_photo_is_not_enlarged_and_its_thumbnail_is_its_size(tmp_path):
    path = tmp_path / "small.png"
    photo_texture(120, 80).save(path)

    photo = decode_photo(str(path))

    assert photo.image.size == (120, 80)
    assert (photo.thumb_width, photo.thumb_height) == (120, 80)
    assert Image.open(io.BytesIO(photo.thumbnail)).format == "JPEG"


@pytest.mark.parametrize("size", [(3000, 400), (300, 2000)])
def test_thumbnails_of_odd_shapes_fit_within_256(tmp_path, size):
    path = tmp_path / "pano.jpg"
    photo_texture(*size).save(path)

    photo = decode_photo(str(path))

    thumb = Image.open(io.BytesIO(photo.thumbnail))
    assert max(thumb.size) == 256
    assert thumb.size == (photo.thumb_width, photo.thumb_height)


# -- phone formats -----------------------------------------------------------------------------


def test_heic_from_a_phone_decodes(tmp_path):
    import pillow_heif  # a hard dependency: phones shoot HEIC

    pillow_heif.register_heif_opener()
    assert_decodes_as_saved(tmp_path / "IMG_0001.HEIC", "HEIF")


def test_avif_decodes(tmp_path):
    from PIL import features

    if not features.check("avif"):
        pytest.skip("this Pillow was built without AVIF")
    assert_decodes_as_saved(tmp_path / "photo.avif", "AVIF")


def assert_decodes_as_saved(path, fmt: str) -> None:
    """A lossy phone-format photo decodes at its size, with its colours where they were."""
    corner_marked((400, 300)).save(path, fmt, quality=90)

    photo = decode_photo(str(path))

    assert photo.format == fmt
    assert (photo.width, photo.height) == (400, 300)
    assert close_to(photo.image.getpixel((10, 10)), RED, 50)
    assert close_to(photo.image.getpixel((300, 200)), BLUE, 50)


# -- Pillow's corpus of broken and unusual images ----------------------------------------------


def test_pillow_corpus_decodes_or_fails_with_a_sentence(pillow_images):
    files = sorted(p for p in pillow_images.iterdir() if p.is_file())
    assert len(files) > 500, "the Pillow test images look incomplete"
    decoded, refused, wrong = 0, 0, []
    for path in files:
        try:
            photo = decode_photo(str(path))
        except PhotoError as exc:
            refused += 1
            text = str(exc)
            if not (text[:1].isupper() and text.endswith(".") and "\n" not in text):
                wrong.append(f"{path.name}: not a sentence: {text!r}")
        except Exception as exc:
            wrong.append(f"{path.name}: {type(exc).__name__}: {exc}")
        else:
            decoded += 1
            if photo.image.mode != "RGB" or min(photo.image.size) < 1:
                wrong.append(f"{path.name}: decoded to {photo.image.mode} {photo.image.size}")
    assert wrong == []
    # Most of the corpus is valid images in many formats; a good share is deliberately broken.
    assert decoded > 400 and refused > 50, (decoded, refused)


@pytest.mark.parametrize(
    ("size", "fmt"),
    [((4000, 3000), "JPEG"), ((3000, 4000), "JPEG"), ((1200, 800), "PNG"), ((640, 360), "JPEG"),
     ((300, 260), "PNG"), ((150, 100), "PNG")],
)  # fmt: skip
def test_a_photo_decoded_at_the_centre_transforms_size_is_the_same_model_input(tmp_path, size, fmt):
    """Decoded for a model that sees the centre square, a photo comes at the size open_clip's
    transform resizes it to; both transforms (torch's and the exported tower's pixels) then
    make exactly the input they make from the photo decoded as before. A 16:9 photo, which
    has extra views, keeps its larger image; the thumbnail stays full size."""
    import open_clip

    from photoclip.image_tower import CentreTransform

    path = tmp_path / f"photo.{fmt.lower()}"
    photo_texture(*size).save(path, fmt, quality=90)
    mean, std = open_clip.OPENAI_DATASET_MEAN, open_clip.OPENAI_DATASET_STD
    for side in (224, 256, 64):
        plain, centred = decode_photo(str(path), side), decode_photo(str(path), side, centre=True)
        torch_input = open_clip.image_transform(side, is_train=False, mean=mean, std=std)
        pixels = CentreTransform(side, mean, std).pixels
        assert torch_input(centred.image).equal(torch_input(plain.image)), (size, side)
        assert np.array_equal(pixels(centred.image), pixels(plain.image)), (size, side)
        thumb = Image.open(io.BytesIO(centred.thumbnail))
        assert max(thumb.size) == min(256, max(plain.image.size))
        assert (centred.thumb_width, centred.thumb_height) == thumb.size
        if side == 256 and min(size) > 512 and size[0] / size[1] < 1.6:
            assert min(centred.image.size) == side  # the centre transform's size
        if size == (640, 360):
            assert centred.image.size == plain.image.size  # extra views need it whole

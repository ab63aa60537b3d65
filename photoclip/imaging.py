"""Decodes one photo: a reduced RGB image for the model, a grid thumbnail and EXIF facts,
all from a single read of the file. Failures become ``PhotoError`` with a readable reason."""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, ImageFile, UnidentifiedImageError

from .preprocess import needs_extra_views
from .scanner import describe_os_error

try:  # HEIC/HEIF from phones
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - optional at run time
    pass

# Pillow refuses images over twice this many pixels (decompression-bomb guard). Panoramas of a
# few hundred megapixels are real photos, and JPEGs among them decode reduced via draft().
MAX_PIXELS = 256_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False

THUMBNAIL_SIZE = 256
THUMBNAIL_QUALITY = 85

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_DATETIME_ORIGINAL = 0x9003
_DATETIME_DIGITIZED = 0x9004
_DATETIME = 0x0132
_OFFSET_TIME = 0x9010
_OFFSET_TIME_ORIGINAL = 0x9011
_OFFSET_TIME_DIGITIZED = 0x9012
_MAKE = 0x010F
_MODEL = 0x0110


class PhotoError(Exception):
    """A photo that can't be indexed; ``str(exc)`` is the reason to show the user."""


class FileReadError(PhotoError):
    """The file couldn't be read this time (an I/O error, a drive that went away, no
    permission, too little memory): nothing is known to be wrong with the photo itself."""


@dataclass
class DecodedPhoto:
    image: Image.Image  # RGB, short side >= the requested model size where the photo allows
    thumbnail: bytes  # JPEG
    thumb_width: int
    thumb_height: int
    width: int  # of the full photo, as displayed (EXIF orientation applied)
    height: int
    format: str
    taken_at: str | None = None  # "YYYY-MM-DDTHH:MM:SS", camera local time
    taken_offset: str | None = None  # that time's UTC offset, "+02:00", when the camera said
    camera: str | None = None
    latitude: float | None = None
    longitude: float | None = None


def decode_photo(
    path: str, model_size: int = 224, thumb_size: int = THUMBNAIL_SIZE, *, centre: bool = False
) -> DecodedPhoto:
    """Read ``path`` once and return everything indexing needs, or raise ``PhotoError``.

    With ``centre`` (the model sees the centre square, preprocess.CENTRE), a photo that has
    no extra views comes resized as open_clip's centre transform resizes it (short side
    ``model_size``, :func:`centre_resize`), which the transform then takes as it is, and its
    thumbnail is made from that: 0.7 ms instead of 1.3 ms, for a thumbnail 41.9 dB from one
    made from the 12 MP original against 44.4 dB (README "Performance")."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise FileReadError(describe_os_error(exc)) from exc
    if size == 0:
        raise PhotoError("The file is empty (0 bytes).")
    with _photo_errors():
        return _decode(path, max(model_size, thumb_size), thumb_size, model_size if centre else 0)


def centre_size(width: int, height: int, side: int) -> tuple[int, int]:
    """torchvision's Resize(side) of a ``width`` x ``height`` image: the short side to
    ``side``, the long side in proportion, truncated."""
    return (
        (side, int(side * height / width))
        if width <= height
        else (int(side * width / height), side)
    )


def centre_resize(image: Image.Image, side: int) -> Image.Image:
    """``image`` resized as open_clip's centre transform does before its crop (bicubic, to
    :func:`centre_size`); as it is when it has that size already."""
    size = centre_size(image.width, image.height, side)
    return image if size == image.size else image.resize(size, Image.Resampling.BICUBIC)


@contextlib.contextmanager
def _photo_errors() -> Iterator[None]:
    """Turn what Pillow raises on a missing, unreadable or malformed file into PhotoError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # EXIF/ICC chatter on odd files is not a failure
            yield
    except PhotoError:
        raise
    except OSError as exc:
        if isinstance(exc, UnidentifiedImageError):
            raise PhotoError(
                "This file isn't an image photoclip can read (unknown or damaged format)."
            ) from exc
        if exc.errno is not None:  # the OS failed to read: not the photo's fault
            raise FileReadError(describe_os_error(exc)) from exc
        raise PhotoError(_describe_decode_failure(exc)) from exc
    except Image.DecompressionBombError as exc:
        raise PhotoError(
            f"The image is too large to open safely (over {2 * MAX_PIXELS // 1_000_000} "
            "megapixels)."
        ) from exc
    except MemoryError as exc:
        raise FileReadError("There wasn't enough memory to decode this image.") from exc
    except (ValueError, SyntaxError, EOFError, IndexError, KeyError, TypeError,
            ZeroDivisionError, RuntimeError) as exc:  # fmt: skip
        # Pillow's plugins raise all of these on malformed files.
        raise PhotoError(_describe_decode_failure(exc)) from exc


def _describe_decode_failure(exc: BaseException) -> str:
    text = str(exc).strip().rstrip(".")
    low = text.lower()
    if "truncated" in low or isinstance(exc, EOFError) or "premature end" in low:
        return "The file is truncated: it ends before the image data does."
    if text:
        return f"The image data is damaged and couldn't be decoded ({text})."
    return "The image data is damaged and couldn't be decoded."


def _decode(path: str, min_side: int, thumb_size: int, centre: int) -> DecodedPhoto:
    with Image.open(path) as im:
        fmt = im.format or "unknown"
        full_w, full_h = im.size
        exif = im.getexif()
        orientation = exif.get(0x0112, 1)
        if fmt == "JPEG":
            # Let libjpeg scale down by 1/2..1/8 while decoding: ~4x less work on a 12 MP photo.
            im.draft("RGB", _draft_request(full_w, full_h, min_side))
        elif fmt == "JPEG2000":
            # Decode at a lower resolution level; each level halves both sides. Codestreams
            # have at least 3 levels below full size unless made unusually.
            halvings = (min(full_w, full_h) // max(1, min_side)).bit_length() - 1
            im.reduce = min(3, max(0, halvings))  # type: ignore[method-assign,assignment]
        # An image opens on its first frame (MPO, GIF, APNG) or, for PSD, its composite.
        im.load()
        rgb = _to_rgb(im)
    rgb = _apply_orientation(rgb, orientation)
    if orientation in (5, 6, 7, 8):
        full_w, full_h = full_h, full_w
    work = _reduce_to(rgb, min_side)
    if centre and not needs_extra_views(*work.size) and min(work.size) > centre:
        resized = centre_resize(work, centre)
        if max(resized.size) >= thumb_size:  # still enough for the thumbnail
            work = resized
    thumb = work.copy()
    thumb.thumbnail((thumb_size, thumb_size), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    taken_at, offset, camera, lat, lon = _exif_facts(exif)
    return DecodedPhoto(
        image=work,
        thumbnail=buf.getvalue(),
        thumb_width=thumb.width,
        thumb_height=thumb.height,
        width=full_w,
        height=full_h,
        format=fmt,
        taken_at=taken_at,
        taken_offset=offset,
        camera=camera,
        latitude=lat,
        longitude=lon,
    )


def _draft_request(w: int, h: int, min_side: int) -> tuple[int, int]:
    # draft() keeps both sides >= the request; ask so that the *short* side stays >= min_side.
    short = min(w, h)
    if short <= min_side:
        return (w, h)
    scale = min_side / short
    return (max(1, int(w * scale)), max(1, int(h * scale)))


def _reduce_to(im: Image.Image, min_side: int) -> Image.Image:
    """Shrink so the short side is about 2x ``min_side``: enough detail for the model's own
    antialiased resize and the thumbnail, without carrying megapixels around."""
    short = min(im.size)
    limit = 2 * min_side
    if short <= limit:
        return im
    scale = limit / short
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    return im.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _apply_orientation(im: Image.Image, orientation: object) -> Image.Image:
    """Rotate/flip as EXIF says (what ImageOps.exif_transpose does, on an image that
    _to_rgb() may have rebuilt without its EXIF block)."""
    method = _ORIENTATION_TRANSPOSE.get(orientation)  # type: ignore[call-overload]
    return im.transpose(method) if method is not None else im


def _to_rgb(im: Image.Image) -> Image.Image:
    """Convert any mode to 8-bit RGB the way a person would see it."""
    mode = im.mode
    if mode == "RGB":
        return im.copy()
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16/32-bit greyscale: Pillow's plain convert clips to 255 (a white picture).
        import numpy as np

        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        if mode.startswith("I;16"):
            lo, hi = 0.0, 65535.0
        elif hi <= lo:
            hi = lo + 1.0
        arr = np.clip((arr - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
        mode = im.mode
    if mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "CMYK":
        icc = im.info.get("icc_profile")
        if icc:
            try:
                from PIL import ImageCms

                src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                dst = ImageCms.createProfile("sRGB")
                out = ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
                if out is not None:
                    return out
            except Exception:  # a broken profile: fall back to the plain formula
                pass
        return im.convert("RGB")
    return im.convert("RGB")


def _exif_facts(
    exif: Image.Exif,
) -> tuple[str | None, str | None, str | None, float | None, float | None]:
    taken_at = offset = camera = None
    lat = lon = None
    try:
        sub = exif.get_ifd(_EXIF_IFD)
        for time_tag, offset_tag, ifd in (
            (_DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL, sub),
            (_DATETIME_DIGITIZED, _OFFSET_TIME_DIGITIZED, sub),
            (_DATETIME, _OFFSET_TIME, exif),
        ):
            taken_at = parse_exif_datetime(ifd.get(time_tag))
            if taken_at:
                offset = parse_utc_offset(sub.get(offset_tag))
                break
        make = str(exif.get(_MAKE) or "").strip("\x00 ").strip()
        model = str(exif.get(_MODEL) or "").strip("\x00 ").strip()
        if model and make and model.lower().startswith(make.split()[0].lower()):
            camera = model
        else:
            camera = " ".join(p for p in (make, model) if p) or None
        gps = exif.get_ifd(_GPS_IFD)
        if gps:
            lat = _gps_degrees(gps.get(2), gps.get(1))
            lon = _gps_degrees(gps.get(4), gps.get(3))
    except Exception:  # EXIF is a bonus; a broken block never fails the photo
        pass
    return taken_at, offset, camera, lat, lon


def parse_utc_offset(raw: object) -> str | None:
    """EXIF's OffsetTime* value ("+02:00", "-05:30") checked, or None."""
    text = str(raw or "").strip("\x00 ").strip()
    if len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    return text if hours <= 14 and minutes < 60 else None


def file_time(mtime_ns: int) -> tuple[str | None, str | None]:
    """A file's modification time as this computer's wall-clock time and its UTC offset,
    for photos without a capture date; (None, None) for a time no calendar can show (a
    damaged or far-off timestamp)."""
    try:
        moment = datetime.fromtimestamp(mtime_ns / 1e9).astimezone()
    except (OverflowError, OSError, ValueError):
        return None, None
    offset = moment.strftime("%z")
    return moment.strftime("%Y-%m-%dT%H:%M:%S"), f"{offset[:3]}:{offset[3:]}" if offset else None


def parse_exif_datetime(raw: object) -> str | None:
    if not raw:
        return None
    text = str(raw).strip("\x00 ").strip()
    for fmt in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M", "%Y:%m:%d"):
        try:
            dt = datetime.strptime(text[: len(datetime(2000, 1, 1).strftime(fmt))], fmt)
        except ValueError:
            continue
        if 1826 <= dt.year <= 2200:  # "0000:00:00" and other camera defaults are not dates
            return dt.strftime("%Y-%m-%dT%H:%M:%S")
    return None


def _gps_degrees(value: object, ref: object) -> float | None:
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        return None
    d, m, s = (float(x) for x in value)
    deg = d + m / 60.0 + s / 3600.0
    if str(ref).upper().startswith(("S", "W")):
        deg = -deg
    if not (-180.0 <= deg <= 180.0):
        return None
    return round(deg, 7)


def open_for_display(path: str, max_side: int | None = None) -> Image.Image:
    """Full decode for the viewer, EXIF-rotated, RGB. Raises ``PhotoError``."""
    with _photo_errors():
        with Image.open(path) as im:
            if max_side and im.format == "JPEG":
                im.draft("RGB", (max_side, max_side))
            im.load()
            orientation = im.getexif().get(0x0112, 1)
            rgb = _to_rgb(im)
        rgb = _apply_orientation(rgb, orientation)
        if max_side and max(rgb.size) > max_side:
            rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        return rgb

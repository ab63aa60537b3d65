"""Renders the app icon's raster forms from ``resources/icons/photoclip.svg``: the hicolor PNGs
for Linux, ``photoclip.ico`` for Windows and ``photoclip.icns`` for macOS.

Every size is rendered from the SVG itself (never scaled down from a big PNG), so small icons
stay sharp. Needs ``rsvg-convert`` (Debian: librsvg2-bin). Run after editing the SVG and commit
the output: ``python packaging/make_icons.py``."""

from __future__ import annotations

import argparse
import io
import shutil
import struct
import subprocess
import sys
from pathlib import Path

from PIL import Image

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SVG = ICONS / "photoclip.svg"
HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS entry types with PNG payloads (macOS 10.7+) and the pixel size each holds. Pillow's own
# writer leaves out the 16 and 32 px ones, so Finder's list view would get scaled-down art.
ICNS_TYPES = (
    (b"icp4", 16), (b"icp5", 32), (b"ic11", 32), (b"ic12", 64), (b"ic07", 128),
    (b"ic13", 256), (b"ic08", 256), (b"ic14", 512), (b"ic09", 512), (b"ic10", 1024),
)  # fmt: skip


def render(size: int) -> Image.Image:
    png = subprocess.run(
        ["rsvg-convert", "--width", str(size), "--height", str(size), str(SVG)],
        check=True,
        capture_output=True,
    ).stdout
    image = Image.open(io.BytesIO(png))
    image.load()
    return image.convert("RGBA")


def write_png(image: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # No timestamps or text chunks: the same SVG always gives byte-identical files.
    image.save(path, optimize=True)


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def write_icns(rendered: dict[int, Image.Image], path: Path) -> None:
    """An ICNS file is a header and a list of (type, length, PNG bytes) entries."""
    entries = b"".join(
        kind + struct.pack(">I", 8 + len(data)) + data
        for kind, size in ICNS_TYPES
        for data in [png_bytes(rendered[size])]
    )
    path.write_bytes(b"icns" + struct.pack(">I", 8 + len(entries)) + entries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=ICONS, help="folder to write (default: %(default)s)"
    )
    out = parser.parse_args(argv).out
    if shutil.which("rsvg-convert") is None:
        print("rsvg-convert is missing; install librsvg2-bin (Debian) or librsvg.", file=sys.stderr)
        return 1
    sizes = {*HICOLOR_SIZES, *ICO_SIZES, *(size for _, size in ICNS_TYPES)}
    rendered = {size: render(size) for size in sorted(sizes)}
    for size in HICOLOR_SIZES:
        write_png(rendered[size], out / "hicolor" / f"{size}x{size}" / "apps" / "photoclip.png")
    largest_ico = rendered[max(ICO_SIZES)]
    largest_ico.save(
        out / "photoclip.ico",
        sizes=[(s, s) for s in ICO_SIZES],
        append_images=[rendered[s] for s in ICO_SIZES if s != max(ICO_SIZES)],
    )
    write_icns(rendered, out / "photoclip.icns")
    print(f"Wrote {len(HICOLOR_SIZES)} PNGs, photoclip.ico and photoclip.icns under {out}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Lays out an AppImage AppDir around the PyInstaller one-folder build, then packs it with
``appimagetool`` when that tool is on PATH.

    python packaging/appimage/build_appimage.py dist/photoclip [--appdir-only]

AppDir layout (what appimagetool and desktop integrators such as appimaged read):

    AppRun                       runs usr/lib/photoclip/photoclip with the arguments
    photoclip.desktop            the app's desktop entry (with X-AppImage-Version)
    photoclip.png, .DirIcon      the 256 px icon
    usr/bin/photoclip{,-gui}     links into usr/lib/photoclip
    usr/lib/photoclip/           the PyInstaller build, as it is
    usr/share/applications/, usr/share/icons/hicolor/, usr/share/metainfo/
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LINUX = REPO / "packaging" / "linux"
ICONS = REPO / "resources" / "icons"
DESKTOP_ID = "photoclip.desktop"
METAINFO = "io.github.photoclip.photoclip.metainfo.xml"
EXECUTABLES = ("photoclip", "photoclip-gui")


def version() -> str:
    sys.path.insert(0, str(REPO))
    from photoclip import __version__

    return __version__


def _copy_tree(src: Path, dst: Path) -> None:
    """Hard links where the file system allows (the build is gigabytes), copies otherwise."""

    def link_or_copy(a: str, b: str) -> None:
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)

    shutil.copytree(src, dst, symlinks=True, copy_function=link_or_copy)


def desktop_entry_for_appdir(template: str, app_version: str) -> str:
    lines = [line for line in template.splitlines() if not line.startswith("X-AppImage-")]
    return "\n".join([*lines, f"X-AppImage-Version={app_version}"]) + "\n"


def build_appdir(bundle: Path, appdir: Path) -> Path:
    missing = [name for name in EXECUTABLES if not (bundle / name).is_file()]
    if missing:
        raise SystemExit(f"{bundle} isn't a photoclip PyInstaller build (no {', '.join(missing)}).")
    if appdir.exists():
        shutil.rmtree(appdir)
    usr = appdir / "usr"
    _copy_tree(bundle, usr / "lib" / "photoclip")
    (usr / "bin").mkdir(parents=True)
    for name in EXECUTABLES:
        (usr / "bin" / name).symlink_to(Path("..", "lib", "photoclip", name))
    shutil.copy2(HERE / "AppRun", appdir / "AppRun")
    (appdir / "AppRun").chmod(0o755)

    entry = desktop_entry_for_appdir((LINUX / DESKTOP_ID).read_text(encoding="utf-8"), version())
    applications = usr / "share" / "applications"
    applications.mkdir(parents=True)
    (applications / DESKTOP_ID).write_text(entry, encoding="utf-8")
    (appdir / DESKTOP_ID).symlink_to(Path("usr", "share", "applications", DESKTOP_ID))
    metainfo = usr / "share" / "metainfo"
    metainfo.mkdir(parents=True)
    shutil.copy2(LINUX / METAINFO, metainfo / METAINFO)

    hicolor = usr / "share" / "icons" / "hicolor"
    shutil.copytree(ICONS / "hicolor", hicolor)
    (hicolor / "scalable" / "apps").mkdir(parents=True)
    shutil.copy2(ICONS / "photoclip.svg", hicolor / "scalable" / "apps" / "photoclip.svg")
    icon = Path("usr", "share", "icons", "hicolor", "256x256", "apps", "photoclip.png")
    (appdir / "photoclip.png").symlink_to(icon)
    (appdir / ".DirIcon").symlink_to("photoclip.png")
    return appdir


def pack(appdir: Path, out: Path) -> Path | None:
    tool = shutil.which("appimagetool")
    if tool is None:
        return None
    env = dict(os.environ, ARCH=platform.machine())
    subprocess.run([tool, str(appdir), str(out)], check=True, env=env)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "bundle", type=Path, help="the PyInstaller one-folder build (dist/photoclip)"
    )
    parser.add_argument("--appdir", type=Path, help="where to lay out the AppDir")
    parser.add_argument("--appdir-only", action="store_true", help="stop before appimagetool")
    args = parser.parse_args(argv)
    bundle = args.bundle.resolve()
    appdir = build_appdir(bundle, (args.appdir or bundle.parent / "photoclip.AppDir").resolve())
    print(f"AppDir ready: {appdir}")
    if args.appdir_only:
        return 0
    out = bundle.parent / f"photoclip-{version()}-{platform.machine()}.AppImage"
    if pack(appdir, out) is None:
        print(
            "appimagetool isn't on PATH, so no .AppImage was made. Get appimagetool from the "
            f"AppImage project, then run: appimagetool {appdir} {out}",
            file=sys.stderr,
        )
        return 1
    print(f"AppImage ready: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

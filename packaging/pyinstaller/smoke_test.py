"""Smoke test of a built bundle, run as a user would, away from the checkout and its venv:

1. ``photoclip index`` a folder of generated shape photos with the bundled tiny model, then
   ``photoclip search "a red circle" --json``: the top hit must be a red circle; then at
   onnx-int8, whose image tower the bundle must export and run (no telemetry left behind);
2. ``photoclip-gui FOLDER`` offscreen: the app must come up, take the folder into its library,
   index it with the tiny model, and close cleanly (exit 0) on SIGTERM;
3. on Linux, ``photoclip install-desktop`` from the bundle, and the AppImage AppDir around it.

    python packaging/pyinstaller/smoke_test.py dist/photoclip
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tools.shapes import Scene, render, write_library  # noqa: E402

APP_START_TIMEOUT_S = 180


def write_photos(root: Path) -> None:
    """40 random shape photos, plus red circles on three backgrounds so the query has answers
    whatever the random draw (manifest.json lists them all)."""
    write_library(root, 40, seed=7, min_side=300, max_side=700)
    manifest = json.loads((root / "manifest.json").read_text())
    rng = random.Random(20261128)
    for background in ("blue", "yellow", "white"):
        scene = Scene("red", "circle", background)
        rel = f"extra/red-circle-on-{background}.jpg"
        (root / rel).parent.mkdir(exist_ok=True)
        render(scene, (480, 360), rng).save(root / rel, format="JPEG", quality=90)
        manifest.append({"path": rel, "colour": "red", "shape": "circle", "background": background})
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1))


def clean_env(home: Path, library: Path) -> dict[str, str]:
    """The user's environment, minus anything that could lend the bundle our venv."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CONDA", "PHOTOCLIP_", "XDG_"))
    }
    runtime = home / "runtime"
    runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
    env.update(
        HOME=str(home),
        USERPROFILE=str(home),
        XDG_RUNTIME_DIR=str(runtime),
        PHOTOCLIP_LIBRARY=str(library),
        HF_HUB_OFFLINE="1",
        QT_QPA_PLATFORM=env.get("SMOKE_QPA", "offscreen"),
    )
    return env


def run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)
    took = time.monotonic() - started
    print(f"  $ {' '.join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv))}"
          f"  ({took:.1f} s, exit {done.returncode})")  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"FAILED:\n{done.stdout}\n{done.stderr}")
    return done


def check_cli(bundle: Path, photos: Path, work: Path) -> None:
    print("CLI: index and search with the bundled tiny model")
    env = clean_env(work / "home", work / "library-cli")
    exe = str(bundle / "photoclip")
    run([exe, "--version"], env, work)
    run([exe, "index", str(photos), "--model", "tiny-shapes"], env, work)
    out = run([exe, "search", "a red circle", "--json", "--model", "tiny-shapes"], env, work)
    hits = json.loads(out.stdout)["results"]
    scenes = {
        str((photos / e["path"]).resolve()): e
        for e in json.loads((photos / "manifest.json").read_text())
    }
    top = scenes[str(Path(hits[0]["path"]).resolve())]
    if (top["colour"], top["shape"]) != ("red", "circle"):
        raise SystemExit(f"FAILED: the top hit for 'a red circle' is {top}")
    print(f"  top hit: {Path(hits[0]['path']).name} (score {hits[0]['score']:.3f})")


def check_onnx_int8(bundle: Path, photos: Path, work: Path) -> None:
    """The torch-free path: the first load exports the image tower (torch.onnx, onnx and
    onnxruntime's quantisation, all inside the bundle) and indexes with it, and onnxruntime
    leaves no telemetry identifier behind."""
    print("CLI: the tiny model at onnx-int8 (its image tower exported in the bundle)")
    home = work / "home-onnx"
    env = clean_env(home, work / "library-onnx")
    exe = str(bundle / "photoclip")
    tiny = ["--model", "tiny-shapes", "--precision", "onnx-int8"]
    run([exe, "index", str(photos), *tiny], env, work)
    status = json.loads(run([exe, "status", "--json", *tiny], env, work).stdout)
    exports = sorted((home / ".cache" / "photoclip" / "image").glob("*/model.onnx"))
    if not str(status.get("precision")).startswith("onnx-int8") or not exports:
        raise SystemExit(f"FAILED: no onnx-int8 (precision {status.get('precision')!r}, "
                         f"exports {exports})")  # fmt: skip
    identifiers = [p for p in home.rglob("*") if p.name == "deviceid"]
    if identifiers:
        raise SystemExit(f"FAILED: a telemetry identifier was written: {identifiers}")
    print(f"  {status.get('vectors')} photos embedded at onnx-int8; no telemetry identifier")


def check_gui(bundle: Path, photos: Path, work: Path) -> None:
    platform = os.environ.get("SMOKE_QPA", "offscreen")
    print(f"GUI: photoclip-gui FOLDER --model tiny-shapes (Qt platform: {platform})")
    library = work / "library-gui"
    env = clean_env(work / "home", library)
    log = work / "gui.log"
    expected = len(json.loads((photos / "manifest.json").read_text()))
    started = time.monotonic()
    with open(log, "wb") as out:
        app = subprocess.Popen(
            [str(bundle / "photoclip-gui"), str(photos), "--model", "tiny-shapes"], env=env,
            cwd=work, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            folders = wait_for(library / "library.db", app, log, "SELECT path FROM folders")
            if {str(photos)} != {row[0] for row in folders}:
                raise SystemExit(f"FAILED: the app's library has {folders}, not {photos}")
            print(f"  up, with the folder in its library, after {time.monotonic() - started:.1f} s")
            # The model loads and indexes in the background: torch and open_clip work here too.
            wait_for(
                library / "library.db", app, log,
                "SELECT COUNT(*) FROM photos WHERE status = 'indexed' "
                f"HAVING COUNT(*) = {expected}",
            )  # fmt: skip
            print(f"  indexed all {expected} photos after {time.monotonic() - started:.1f} s")
        finally:
            app.send_signal(signal.SIGTERM)
            try:
                code = app.wait(timeout=30)
            except subprocess.TimeoutExpired:
                app.kill()
                raise SystemExit("FAILED: the app ignored SIGTERM for 30 s") from None
    text = log.read_text(errors="replace")
    if "Traceback" in text or "could not load the Qt platform plugin" in text.lower():
        raise SystemExit(f"FAILED: the app logged an error:\n{text}")
    if code != 0:
        raise SystemExit(f"FAILED: the app exited with {code} on SIGTERM:\n{text}")
    print("  closed cleanly on SIGTERM (exit 0)")


def wait_for(db: Path, app: subprocess.Popen[bytes], log: Path, query: str) -> list[tuple]:
    """Poll the app's library (another process: there is no signal to wait on) until ``query``
    returns rows."""
    deadline = time.monotonic() + APP_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise SystemExit(f"FAILED: the app exited ({app.returncode}):\n{log.read_text()}")
        if db.exists():
            try:
                with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as conn:
                    rows = conn.execute(query).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" not in str(exc) and "locked" not in str(exc):
                    raise
                rows = []  # the app is still creating the database
            if rows:
                return rows
        time.sleep(0.2)
    raise SystemExit(f"FAILED: {query!r} found nothing after {APP_START_TIMEOUT_S} s:\n"
                     f"{log.read_text()}")  # fmt: skip


def check_linux_integration(bundle: Path, work: Path) -> None:
    print("Linux: install-desktop from the bundle, and the AppImage AppDir")
    env = clean_env(work / "home", work / "library-cli")
    env["XDG_DATA_HOME"] = str(work / "share")
    run([str(bundle / "photoclip"), "install-desktop"], env, work)
    entry = work / "share" / "applications" / "photoclip.desktop"
    exec_line = next(x for x in entry.read_text().splitlines() if x.startswith("Exec="))
    if exec_line != f"Exec={bundle / 'photoclip-gui'} %F":
        raise SystemExit(f"FAILED: the installed entry runs {exec_line!r}")
    if shutil.which("desktop-file-validate"):
        run(["desktop-file-validate", str(entry)], env, work)
    run([str(bundle / "photoclip"), "uninstall-desktop"], env, work)

    appdir = work / "photoclip.AppDir"
    build = REPO / "packaging" / "appimage" / "build_appimage.py"
    run([sys.executable, str(build), str(bundle), "--appdir", str(appdir), "--appdir-only"],
        env, work)  # fmt: skip
    out = run([str(appdir / "AppRun"), "models"], env, work)
    if "tiny-shapes" not in out.stdout:
        raise SystemExit(f"FAILED: AppRun models printed:\n{out.stdout}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", type=Path, help="the one-folder build (dist/photoclip)")
    args = parser.parse_args(argv)
    bundle = args.bundle.resolve()
    if sys.platform == "darwin" and bundle.suffix == ".app":
        bundle = bundle / "Contents" / "MacOS"
    suffix = ".exe" if sys.platform == "win32" else ""
    for name in ("photoclip", "photoclip-gui"):
        if not (bundle / f"{name}{suffix}").exists():
            raise SystemExit(f"{bundle} has no {name}{suffix}: build it with `make bundle` first.")
    with tempfile.TemporaryDirectory(prefix="photoclip-smoke-") as tmp:
        work = Path(tmp)
        photos = work / "photos"
        write_photos(photos)
        check_cli(bundle, photos, work)
        check_onnx_int8(bundle, photos, work)
        check_gui(bundle, photos, work)
        if sys.platform.startswith("linux"):
            check_linux_integration(bundle, work)
    print("Bundle smoke test passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Real faults from the operating system: tmpfs mounts that are unplugged, full or read-only,
and faultfs (tools/faultfs.py), a FUSE mirror that returns real EIO/EACCES/ENOENT; plus the
real CLI in a subprocess."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ..e2e.helpers import cli_env

REPO = Path(__file__).resolve().parents[2]
MODEL = ("--model", "tiny-shapes")


# -- the CLI ---------------------------------------------------------------------------------


def env_for(lib: Path, **extra: str) -> dict[str, str]:
    """The CLI's environment: library at ``lib``, and per-user settings in a private folder
    (never the real ~/.config of whoever runs the tests)."""
    home = REPO / ".cache" / "faults-home"
    return {**cli_env(lib), "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"), **extra}  # fmt: skip


def run_cli(lib: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``photoclip ARGS`` with the library at ``lib``; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "photoclip", *args],
        env=env_for(lib), capture_output=True, text=True, timeout=timeout, cwd=REPO,
    )  # fmt: skip


def index(lib: Path, *args: str, ok: bool = True, timeout: float = 600):
    proc = run_cli(lib, "index", *args, *MODEL, timeout=timeout)
    if ok:
        assert proc.returncode == 0, (
            f"photoclip index {' '.join(args)} failed ({proc.returncode}):\n"
            f"{proc.stdout}\n{proc.stderr}"
        )
    return proc


def report_counts(stdout: str) -> dict[str, int]:
    """``photoclip index``'s summary line as numbers: {"indexed": 3, "removed": 0, …}."""
    found = {
        label.strip(): int(n.replace(",", ""))
        for n, label in re.findall(r"([\d,]+) ([a-z' ]+?)(?=,| in )", stdout)
    }
    assert found, f"no summary line in: {stdout!r}"
    return found


def problems(lib: Path) -> dict[str, str]:
    proc = run_cli(lib, "problems", "--json")
    assert proc.returncode == 0, proc.stderr
    return {p["path"]: p["reason"] for p in json.loads(proc.stdout)}


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The single error line a failed command printed (asserted: no traceback, one line)."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode != 0, f"expected a failure, got exit 0:\n{proc.stdout}"
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1, f"expected one error line, got:\n{proc.stderr}"
    assert lines[0].startswith("photoclip: "), lines[0]
    return lines[0]


def wait_for(what: str, cond: Callable[[], bool], timeout: float, *, alive=None) -> None:
    """Poll ``cond`` until true; fail after ``timeout`` s, or as soon as process ``alive``
    exits (another process's progress has no event to wait on)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if alive is not None and alive.poll() is not None:
            raise AssertionError(f"{what}: the process exited first ({alive.returncode})")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.02)


def copy_photos(src: Path, dst: Path) -> None:
    """Copy a photo tree keeping modification times (a drive plugged in again)."""
    shutil.copytree(src, dst, dirs_exist_ok=True, copy_function=shutil.copy2)


# -- mounts ----------------------------------------------------------------------------------


@functools.cache
def mount_unavailable() -> str | None:
    """Why this machine can't make test mounts, or None when it can."""
    if sys.platform != "linux":
        return "mount tests need Linux"
    if os.geteuid() != 0:
        return "mount tests need root (CI runs as root)"
    if not shutil.which("mount"):
        return "no mount command"
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", tmp],
                              capture_output=True, text=True)  # fmt: skip
        if proc.returncode != 0:
            return f"mount -t tmpfs failed here: {proc.stderr.strip()}"
        subprocess.run(["umount", tmp], check=True)
    return None


@functools.cache
def fuse_unavailable() -> str | None:
    """Why faultfs can't run here, or None when it can."""
    reason = mount_unavailable()
    if reason:
        return reason
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    if not (shutil.which("fusermount3") or shutil.which("fusermount")):
        return "no fusermount3 (Debian: fuse3; `make system-deps` installs it)"
    probe = subprocess.run([sys.executable, "-c", "import mfusepy"], capture_output=True,
                           text=True, cwd=REPO)  # fmt: skip
    if probe.returncode != 0:
        return f"mfusepy or libfuse missing: {probe.stderr.strip().splitlines()[-1:]}"
    return None


def _umount(target: Path) -> None:
    for _ in range(50):
        proc = subprocess.run(["umount", str(target)], capture_output=True, text=True)
        if proc.returncode == 0 or not os.path.ismount(target):
            return
        time.sleep(0.1)  # busy: a process of the test still has a file open there
    subprocess.run(["umount", "-l", str(target)], check=True)


class Mounts:
    """Mounts made by one test; ``cleanup`` undoes whatever is left, innermost first."""

    def __init__(self) -> None:
        reason = mount_unavailable()
        if reason:
            pytest.skip(reason)
        self.active: list[Path] = []
        self.faultfs: list[FaultFS] = []

    def _mount(self, target: Path, *args: str) -> Path:
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", *args, str(target)], check=True, capture_output=True)
        self.active.append(target)
        return target

    def tmpfs(self, target: Path, size: str = "64m") -> Path:
        return self._mount(target, "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs")

    def bind_read_only(self, source: Path, target: Path) -> Path:
        self._mount(target, "--bind", str(source))
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)
        return target

    def umount(self, target: Path) -> None:
        _umount(target)
        self.active.remove(target)

    def start_faultfs(self, source: Path, target: Path) -> FaultFS:
        reason = fuse_unavailable()
        if reason:
            pytest.skip(reason)
        fs = FaultFS(source, target)
        self.faultfs.append(fs)
        return fs

    def cleanup(self) -> None:
        for fs in reversed(self.faultfs):
            fs.stop()
        for target in reversed(self.active):
            with contextlib.suppress(subprocess.CalledProcessError):
                _umount(target)
        self.active = []


class FaultFS:
    """tools/faultfs.py serving ``source`` at ``mountpoint`` in a subprocess."""

    def __init__(self, source: Path, mountpoint: Path) -> None:
        mountpoint.mkdir(parents=True, exist_ok=True)
        state = self.state = Path(tempfile.mkdtemp(prefix="faultfs-"))
        self.control = state / "faults.json"
        self.log = state / "faults.log"
        self.mountpoint = mountpoint
        self.set()
        self.output = state / "faultfs.out"
        with open(self.output, "w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tools.faultfs", str(source), str(mountpoint),
                 "--control", str(self.control), "--log", str(self.log)],
                cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            wait_for("faultfs mounted", lambda: os.path.ismount(mountpoint), 30, alive=self.proc)
        except AssertionError:
            said = self.output.read_text().strip()[-300:]
            self.stop()
            pytest.skip(f"faultfs couldn't mount here: {said}")

    def set(self, **faults: Any) -> None:
        """Replace the faults (see tools/faultfs.py); effective at the next file operation."""
        tmp = self.control.with_suffix(".tmp")
        tmp.write_text(json.dumps(faults))
        os.replace(tmp, self.control)

    def injected(self) -> list[str]:
        """Every fault returned so far, as "OPERATION ERRNO PATH" lines."""
        return self.log.read_text().splitlines() if self.log.exists() else []

    def stop(self) -> None:
        if self.proc.poll() is None:
            fusermount = shutil.which("fusermount3") or "fusermount"
            subprocess.run([fusermount, "-u", str(self.mountpoint)], capture_output=True)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait()
                subprocess.run(["umount", "-l", str(self.mountpoint)], capture_output=True)
        shutil.rmtree(self.state, ignore_errors=True)  # its control file and log

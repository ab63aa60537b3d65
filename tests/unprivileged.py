"""Run a snippet of Python that file permissions apply to, whoever runs the tests.

Tests of permission errors make a file or folder mode 000 and read it from a child process.
An ordinary user is refused that by the kernel as it is. Root is not: its capabilities
(CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) override file modes. So as root the child drops every
capability before it runs the snippet, and stays root: the checkout, the venv and the
interpreter stay reachable however private the folder they are in (a clone in root's home or
in a mode-700 ``mktemp -d`` folder). Switching to another user such as nobody (uid 65534), as
this suite once did, breaks exactly there: that user can't enter the checkout.

When root runs the tests in a checkout another user owns (``sudo make test`` in a home folder
only its owner may enter), root without capabilities can't enter it either, so the child
becomes that owner instead. ``run_python`` hands the test's files to whoever the child runs as.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def can_run() -> str | None:
    """None when ``run_python`` can produce permission errors here, else why not."""
    if not is_root() or sys.platform.startswith("linux"):
        return None
    return f"running as root on {sys.platform}: only Linux lets the tests drop root's powers"


def runner_ids() -> tuple[int, int] | None:
    """As root, the (uid, gid) the snippet runs as: root's own, or the checkout's owner's when
    someone else owns it. None when we aren't root (the snippet runs as us)."""
    if not is_root():
        return None
    owner = REPO.stat()
    return owner.st_uid, owner.st_gid


def run_python(
    code: str, *, files: Iterable[Path] = (), timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in this interpreter, in the checkout, without the power to override file
    permissions. ``files`` (each a file or a folder tree) are first given to the user it runs
    as, so their modes mean what the test set them to."""
    reason = can_run()
    if reason is not None:
        raise RuntimeError(reason)
    uid, gid = runner_ids() or (-1, -1)
    if uid > 0:
        for path in files:
            _chown_tree(path, uid, gid)
    argv = [sys.executable, str(Path(__file__).resolve()), str(uid), str(gid), code]
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid, follow_symlinks=False)
    if path.is_dir() and not path.is_symlink():
        for root, dirs, names in os.walk(path):
            for name in dirs + names:
                os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def _drop_privileges(uid: int, gid: int) -> None:
    """As root, become ``uid``/``gid`` with no capabilities (in this process: no exec
    follows, which would give root its capabilities back)."""
    if not is_root():
        return
    if uid != 0:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)  # leaving uid 0 clears every capability
    else:
        libc = ctypes.CDLL(None, use_errno=True)
        header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
        empty = (_CapData * 2)()
        if libc.capset(ctypes.byref(header), empty) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"capset: {os.strerror(errno)}")
    status = Path("/proc/self/status").read_text()
    effective = next(line for line in status.splitlines() if line.startswith("CapEff:"))
    if int(effective.split()[1], 16) != 0:
        raise SystemExit(f"capabilities are still in effect: {effective}")


if __name__ == "__main__":
    _drop_privileges(int(sys.argv[1]), int(sys.argv[2]))
    # As with ``python -c``: the working directory (the checkout) first on the path.
    sys.path[0] = os.getcwd()
    exec(compile(sys.argv[3], "<snippet>", "exec"), {"__name__": "__main__"})

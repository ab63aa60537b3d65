"""faultfs: a read-only FUSE mirror of a real folder that fails on demand, for fault tests.

Root can read any file whatever its mode, so ``chmod 000`` can't make a test folder fail to
list; a filesystem can. faultfs mirrors SOURCE at MOUNTPOINT and returns *real* kernel-level
errors (EIO, EACCES, ENOENT…) to the program under test, as a failing disk, a flaky network
share or an unplugged USB stick would. The faults come from a JSON control file, read again
whenever it changes, so a test can switch them while the program runs::

    {
      "readdir":  {"2023/holiday": "EIO"},      # the folder can't be listed
      "open":     {"inbox/0001.jpg": "EIO"},    # the file can't be opened
      "read":     {"inbox/0002.jpg": "EIO"},    # it opens, but reading fails
      "stat":     {"inbox/0003.jpg": "ENOENT"}, # listed, but gone when looked at
      "unlisted": ["inbox/0004.jpg"],           # missing from its folder's listing only
      "hidden":   ["inbox/0005.jpg"],           # gone: not listed, ENOENT when looked at
      "times":    {"inbox/0001.jpg": 2}         # fail this file only its first 2 times
    }

Paths are relative to SOURCE, with ``/``; "" is SOURCE itself. Every fault returned is
appended to the log file (``--log``) as ``OPERATION ERRNO PATH``, so a test can count them.
The mount is read-only: nothing can be written through it. Runs in the foreground until
unmounted (``fusermount3 -u MOUNTPOINT``, or ``umount``) or interrupted.

    python -m tools.faultfs SOURCE MOUNTPOINT --control faults.json --log faults.log
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

_STAT_FIELDS = (
    "st_mode", "st_ino", "st_dev", "st_nlink", "st_uid", "st_gid", "st_size",
    "st_atime", "st_mtime", "st_ctime", "st_blocks", "st_blksize",
)  # fmt: skip


class Faults:
    """The control file's faults, re-read whenever the file changes (or is replaced)."""

    def __init__(self, control: Path | None) -> None:
        self.control = control
        self._seen: tuple[int, int, int] | None = None
        self._lock = threading.Lock()
        self.spec: dict[str, Any] = {}
        self.hits: dict[str, int] = {}  # path -> faults returned for it since the last change

    def current(self) -> dict[str, Any]:
        if self.control is None:
            return self.spec
        try:
            st = os.stat(self.control)
        except FileNotFoundError:
            key = None
        else:
            key = (st.st_ino, st.st_mtime_ns, st.st_size)  # replaced files get a new inode
        with self._lock:
            if key != self._seen:
                self._seen = key
                self.spec = json.loads(self.control.read_text()) if key else {}
                self.hits = {}
            return self.spec

    def error_for(self, kind: str, rel: str) -> int | None:
        """The errno to fail ``kind`` (readdir, open, read, stat) of ``rel`` with, if any."""
        spec = self.current()
        name = spec.get(kind, {}).get(rel)
        if name is None:
            return None
        limit = spec.get("times", {}).get(rel)
        with self._lock:
            if limit is not None and self.hits.get(rel, 0) >= limit:
                return None
            self.hits[rel] = self.hits.get(rel, 0) + 1
        return int(getattr(errno, name))

    def listed(self, rel: str) -> bool:
        spec = self.current()
        return rel not in spec.get("unlisted", ()) and rel not in spec.get("hidden", ())

    def hidden(self, rel: str) -> bool:
        return rel in self.current().get("hidden", ())


def make_operations(source: Path, faults: Faults, log: Path | None) -> Any:
    import mfusepy as fuse

    log_lock = threading.Lock()

    def fail(op: str, code: int, rel: str) -> fuse.FuseOSError:
        if log is not None:
            with log_lock, open(log, "a", encoding="utf-8") as f:
                f.write(f"{op} {errno.errorcode[code]} {rel}\n")
        return fuse.FuseOSError(code)

    def rel_of(path: str) -> str:
        return path.strip("/")

    def real(path: str) -> str:
        return os.path.join(source, rel_of(path))

    class FaultFS(fuse.Operations):
        use_ns = True

        def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
            rel = rel_of(path)
            if faults.hidden(rel):
                raise fail("stat", errno.ENOENT, rel)
            code = faults.error_for("stat", rel)
            if code is not None:
                raise fail("stat", code, rel)
            try:
                st = os.lstat(real(path))
            except OSError as exc:
                raise fuse.FuseOSError(exc.errno or errno.EIO) from exc
            out = {k: getattr(st, k) for k in _STAT_FIELDS}
            for k in ("st_atime", "st_mtime", "st_ctime"):
                out[k] = getattr(st, k + "_ns")
            return out

        def readlink(self, path: str) -> str:
            return os.readlink(real(path))

        def opendir(self, path: str) -> int:
            rel = rel_of(path)
            code = faults.error_for("readdir", rel)
            if code is not None:
                raise fail("readdir", code, rel)
            return 0

        def readdir(self, path: str, fh: int) -> list[Any]:
            rel = rel_of(path)
            names = []
            with os.scandir(real(path)) as it:
                for entry in it:
                    child = f"{rel}/{entry.name}" if rel else entry.name
                    if faults.listed(child):
                        mode = stat.S_IFDIR if entry.is_dir(follow_symlinks=False) else 0
                        names.append((entry.name, {"st_mode": mode or stat.S_IFREG}, 0))
            return [".", "..", *names]

        def open(self, path: str, flags: int) -> int:
            rel = rel_of(path)
            if faults.hidden(rel):
                raise fail("open", errno.ENOENT, rel)
            code = faults.error_for("open", rel)
            if code is not None:
                raise fail("open", code, rel)
            if flags & (os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_TRUNC):
                raise fuse.FuseOSError(errno.EROFS)
            return os.open(real(path), os.O_RDONLY)

        def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
            rel = rel_of(path)
            code = faults.error_for("read", rel)
            if code is not None:
                raise fail("read", code, rel)
            return os.pread(fh, size, offset)

        def release(self, path: str, fh: int) -> int:
            os.close(fh)
            return 0

        def statfs(self, path: str) -> dict[str, Any]:
            st = os.statvfs(source)
            return {
                k: getattr(st, k)
                for k in ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree",
                          "f_files", "f_flag", "f_frsize", "f_namemax")
            }  # fmt: skip

        def access(self, path: str, amode: int) -> int:
            if amode & os.W_OK:
                raise fuse.FuseOSError(errno.EROFS)
            return 0

    return FaultFS()


def serve(source: Path, mountpoint: Path, control: Path | None, log: Path | None) -> None:
    """Mount and serve until unmounted (blocks)."""
    import mfusepy as fuse

    faults = Faults(control)
    fuse.FUSE(
        make_operations(source.resolve(), faults, log),
        str(mountpoint),
        foreground=True,
        ro=True,
        fsname="faultfs",
        # No kernel caching of names, attributes or file contents: a fault switched on in
        # the control file takes effect at the very next call.
        attr_timeout=0,
        entry_timeout=0,
        negative_timeout=0,
        direct_io=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="the real folder to mirror")
    parser.add_argument("mountpoint", type=Path)
    parser.add_argument("--control", type=Path, help="JSON file of faults (may change live)")
    parser.add_argument("--log", type=Path, help="append each fault returned to this file")
    args = parser.parse_args(argv)
    serve(args.source, args.mountpoint, args.control, args.log)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Which kind of file system holds a path: a library on a network drive is refused, because
SQLite's write-ahead log needs shared memory that network file systems don't provide safely.

Linux reads /proc/self/mountinfo, macOS asks statfs, Windows asks GetDriveTypeW. Tests can
hand the Linux detector other mount tables: ``network_filesystem`` takes the text as a
parameter, and when the environment variable ``PHOTOCLIP_TEST_MOUNTINFO`` names a file, that
file is read instead of /proc/self/mountinfo (for tests only: a child process such as the CLI
can be shown a network mount that isn't there)."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass

MOUNTINFO = "/proc/self/mountinfo"
TEST_MOUNTINFO_ENV = "PHOTOCLIP_TEST_MOUNTINFO"

# Linux file system types whose files live on another computer (or a cloud service).
NETWORK_TYPES = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "smb2", "ncpfs", "ncp", "afs", "coda", "9p",
    "ceph", "glusterfs", "lustre", "gpfs", "davfs", "beegfs", "orangefs",
    "fuse.sshfs", "fuse.rclone", "fuse.s3fs", "fuse.gcsfuse", "fuse.glusterfs",
    "fuse.ceph-fuse", "fuse.davfs2", "fuse.juicefs", "fuse.goofys", "fuse.blobfuse",
    "fuse.blobfuse2", "fuse.mountpoint-s3", "fuse.curlftpfs", "fuse.smbnetfs",
})  # fmt: skip
# macOS statfs f_fstypename values of network file systems.
MACOS_NETWORK_TYPES = frozenset({"nfs", "smbfs", "afpfs", "webdav", "cifs", "ftp"})

_OCTAL = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class Mount:
    mount_point: str
    fstype: str
    source: str


def _unescape(field: str) -> str:
    """The kernel writes space, tab, newline and backslash in paths as \\040, \\011, \\012,
    \\134."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[Mount]:
    """The mounts of a /proc/<pid>/mountinfo text, in its order (later mounts over the same
    point hide earlier ones). Lines look like:
    ``36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue``."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if "-" not in fields[6:]:
            continue  # not a mountinfo line
        sep = fields.index("-", 6)
        if len(fields) < sep + 3 or len(fields) < 5:
            continue
        mounts.append(Mount(_unescape(fields[4]), fields[sep + 1], _unescape(fields[sep + 2])))
    return mounts


def mount_of(path: str, mounts: list[Mount]) -> Mount | None:
    """The mount holding ``path`` (absolute, links resolved): the longest mount point that
    contains it, the last one listed when several are mounted on the same point."""
    best: Mount | None = None
    for mount in mounts:
        point = mount.mount_point
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best.mount_point)):
            best = mount
    return best


def _existing(path: str | os.PathLike[str]) -> str:
    """``path`` with links resolved, or its nearest existing ancestor's (a library folder may
    not exist yet)."""
    real = os.path.realpath(os.path.abspath(os.path.expanduser(path)))
    while not os.path.exists(real):
        parent = os.path.dirname(real)
        if parent == real:
            break
        real = parent
    return real


def network_filesystem(path: str | os.PathLike[str], mountinfo: str | None = None) -> str | None:
    """The type of the network file system holding ``path`` ("nfs4", "smbfs", "network
    drive"…), or None when it is on this computer or can't be told. ``mountinfo`` replaces the
    Linux mount table (tests)."""
    real = _existing(path)
    if mountinfo is not None or sys.platform.startswith("linux"):
        return _linux_network_type(real, mountinfo)
    if sys.platform == "darwin":  # pragma: no cover - exercised on macOS
        return _macos_network_type(real)
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows
        return _windows_network_type(real)
    return None


def filesystem_type(path: str | os.PathLike[str], mountinfo: str | None = None) -> str | None:
    """The Linux file system type of the mount holding ``path`` (None when unknown)."""
    if mountinfo is None:
        mountinfo = _read_mountinfo()
    mount = mount_of(_existing(path), parse_mountinfo(mountinfo or ""))
    return mount.fstype if mount else None


def _read_mountinfo() -> str | None:
    try:
        with open(os.environ.get(TEST_MOUNTINFO_ENV) or MOUNTINFO, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def _linux_network_type(real: str, mountinfo: str | None) -> str | None:
    fstype = filesystem_type(real, mountinfo)
    return fstype if fstype in NETWORK_TYPES else None


def _macos_network_type(real: str) -> str | None:  # pragma: no cover - exercised on macOS
    import ctypes
    import ctypes.util

    class StatFs(ctypes.Structure):  # struct statfs with 64-bit inodes (<sys/mount.h>)
        _fields_ = [
            ("f_bsize", ctypes.c_uint32),
            ("f_iosize", ctypes.c_int32),
            ("f_blocks", ctypes.c_uint64),
            ("f_bfree", ctypes.c_uint64),
            ("f_bavail", ctypes.c_uint64),
            ("f_files", ctypes.c_uint64),
            ("f_ffree", ctypes.c_uint64),
            ("f_fsid", ctypes.c_int32 * 2),
            ("f_owner", ctypes.c_uint32),
            ("f_type", ctypes.c_uint32),
            ("f_flags", ctypes.c_uint32),
            ("f_fssubtype", ctypes.c_uint32),
            ("f_fstypename", ctypes.c_char * 16),
            ("f_mntonname", ctypes.c_char * 1024),
            ("f_mntfromname", ctypes.c_char * 1024),
            ("f_flags_ext", ctypes.c_uint32),
            ("f_reserved", ctypes.c_uint32 * 7),
        ]

    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    # On Intel Macs plain statfs fills the old 32-bit-inode struct; $INODE64 fills this one.
    try:
        statfs = libc["statfs$INODE64"]
    except AttributeError:
        statfs = libc.statfs
    buf = StatFs()
    if statfs(os.fsencode(real), ctypes.byref(buf)) != 0:
        return None
    name = buf.f_fstypename.decode("utf-8", "replace")
    return name if name in MACOS_NETWORK_TYPES else None


def _windows_network_type(real: str) -> str | None:  # pragma: no cover - exercised on Windows
    import ctypes

    drive, _ = os.path.splitdrive(real)
    if drive.startswith(("\\\\", "//")):
        return "network share"  # a UNC path: \\server\share\...
    if not drive:
        return None
    drive_remote = 4
    kind = ctypes.windll.kernel32.GetDriveTypeW(drive + "\\")  # type: ignore[attr-defined]
    return "network drive" if kind == drive_remote else None

"""Telling a network file system from a local one (Linux: /proc/self/mountinfo), and the
library refusing to live on one: SQLite's write-ahead log isn't safe there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from photoclip.errors import NetworkLibraryError, StoreError
from photoclip.fsinfo import (
    TEST_MOUNTINFO_ENV,
    filesystem_type,
    mount_of,
    network_filesystem,
    parse_mountinfo,
)
from photoclip.store import Store

REPO = Path(__file__).resolve().parents[2]

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mountinfo")

# Lines as a Linux 6.x kernel writes them: optional fields before "-", octal escapes in paths.
MOUNTINFO = r"""22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
31 27 0:40 / /mnt/nas rw,relatime shared:12 - nfs4 nas.local:/photos rw,vers=4.2
32 27 0:41 / /mnt/nas/local\040cache rw,relatime - tmpfs tmpfs rw,size=8192k
33 27 0:42 / /media/my\040share rw,relatime master:3 - cifs //server/my\134share rw
34 27 0:43 / /home/me/remote rw,nosuid,nodev - fuse.sshfs me@host:/ rw,user_id=0
35 27 0:44 / /srv rw - ext4 /dev/sdb1 rw
36 27 0:45 / /srv rw - nfs server:/srv rw
"""


def test_mountinfo_lines_are_parsed_with_their_escapes_and_optional_fields():
    mounts = parse_mountinfo(MOUNTINFO + "not a mountinfo line\n\n")

    assert [m.mount_point for m in mounts][:5] == [
        "/proc", "/", "/mnt/nas", "/mnt/nas/local cache", "/media/my share",
    ]  # fmt: skip
    share = mounts[4]
    assert (share.fstype, share.source) == ("cifs", "//server/my\\share")
    assert mounts[5].fstype == "fuse.sshfs"


def test_the_longest_mount_point_holding_a_path_wins_and_the_last_of_a_stack():
    mounts = parse_mountinfo(MOUNTINFO)

    def fstype(path: str) -> str | None:
        found = mount_of(path, mounts)
        return found.fstype if found else None

    assert fstype("/mnt/nas/2024/lib") == "nfs4"
    assert fstype("/mnt/nas") == "nfs4"
    assert fstype("/mnt/nas/local cache/lib") == "tmpfs"
    assert fstype("/mnt/nasty/lib") == "ext4"  # a common prefix is not "inside"
    assert fstype("/media/my share/x") == "cifs"
    assert fstype("/srv/library") == "nfs"  # mounted over the ext4 one


def _fake_mounts(tmp_path: Path, fstype: str) -> tuple[Path, str]:
    """A real folder, and a mount table that says a ``fstype`` file system is mounted on it."""
    share = tmp_path / "share point"
    share.mkdir()
    escaped = str(share).replace(" ", "\\040")
    return share, MOUNTINFO + f"40 27 0:50 / {escaped} rw - {fstype} server:/x rw\n"


@pytest.mark.parametrize("fstype", ["nfs", "nfs4", "cifs", "smb3", "9p", "fuse.sshfs", "ceph"])
def test_network_file_systems_are_told_apart_from_local_ones(tmp_path, fstype):
    share, table = _fake_mounts(tmp_path, fstype)

    assert network_filesystem(share / "lib" / "not yet", mountinfo=table) == fstype
    assert network_filesystem(tmp_path, mountinfo=table) is None


def test_a_link_into_a_network_share_is_followed(tmp_path):
    share, table = _fake_mounts(tmp_path, "nfs4")
    (tmp_path / "shortcut").symlink_to(share)

    assert network_filesystem(tmp_path / "shortcut" / "library", mountinfo=table) == "nfs4"


@linux_only
def test_a_real_tmpfs_mount_is_read_from_the_kernel_as_local(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    point = tmp_path / "ram disk"  # a space: the kernel writes it as \040
    point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(point)], check=True)
    try:
        (point / "lib").mkdir()
        assert filesystem_type(point / "lib") == "tmpfs"
        assert filesystem_type(point / "lib" / "library.db") == "tmpfs"
        assert network_filesystem(point / "lib") is None
        store = Store(point / "lib" / "library.db")  # a local RAM disk is fine
        assert store.schema_version > 0
        store.close()
    finally:
        subprocess.run(["umount", str(point)], check=True)
    assert filesystem_type(point) != "tmpfs"


def test_the_store_refuses_a_library_on_a_network_drive_in_words(tmp_path, monkeypatch):
    share, table = _fake_mounts(tmp_path, "nfs4")
    (tmp_path / "mountinfo").write_text(table)
    monkeypatch.setenv(TEST_MOUNTINFO_ENV, str(tmp_path / "mountinfo"))

    with pytest.raises(NetworkLibraryError) as err:
        Store(share / "photoclip" / "library.db")

    assert isinstance(err.value, StoreError)
    message = str(err.value)
    assert "network drive (nfs4)" in message
    assert "write-ahead log needs shared memory" in message
    assert "Choose a folder on this computer" in message
    assert list(share.iterdir()) == []  # refused before anything was created
    Store(tmp_path / "here" / "library.db").close()  # beside it, on this computer: fine


def test_the_cli_refuses_it_too(tmp_path):
    share, table = _fake_mounts(tmp_path, "cifs")
    (tmp_path / "mountinfo").write_text(table)
    env = dict(os.environ, PHOTOCLIP_LIBRARY=str(share / "lib"))
    env[TEST_MOUNTINFO_ENV] = str(tmp_path / "mountinfo")

    done = subprocess.run(
        [sys.executable, "-m", "photoclip", "status"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert done.returncode == 1
    assert "is on a network drive (cifs)" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (share / "lib").exists()

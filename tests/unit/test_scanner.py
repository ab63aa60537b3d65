"""The scanner on a real directory tree: what it finds, what it skips, links, errors, and
content fingerprints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import textwrap
import threading
from pathlib import Path

import pytest

from photoclip.scanner import FINGERPRINT_CHUNK, describe_os_error, fingerprint, walk
from tests import unprivileged


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def found(root: Path, **kwargs) -> list[str]:
    return [os.path.relpath(e.path, root) for e in walk(str(root), **kwargs)]


def test_finds_photos_recursively_by_extension_in_any_case(tmp_path):
    names = [
        "a.jpg", "b.JPG", "c.jpeg", "d.Jpe", "e.jfif", "f.png", "g.webp", "h.gif", "i.bmp",
        "j.tif", "k.TIFF", "l.heic", "m.HEIF", "n.hif", "o.avif", "p.dib",
        "deep/er/still/q.heic", "deep/r.PNG",
    ]  # fmt: skip
    for name in names:
        touch(tmp_path / name)
    for other in ["notes.txt", "movie.mp4", "raw.cr2", "jpg", "archive.jpg.zip", "deep/x.json"]:
        touch(tmp_path / other)

    assert sorted(found(tmp_path)) == sorted(str(Path(n)) for n in names)


def test_reports_size_and_mtime_of_each_photo(tmp_path):
    photo = touch(tmp_path / "a.jpg", b"\xff\xd8" + b"0" * 1000)
    os.utime(photo, ns=(1_600_000_000_123_456_789, 1_600_000_000_123_456_789))

    (entry,) = walk(str(tmp_path))

    assert entry.path == str(photo)
    assert entry.size == 1002
    assert entry.mtime_ns == 1_600_000_000_123_456_789


def test_skips_hidden_files_and_folders_and_system_folders(tmp_path):
    touch(tmp_path / "keep.jpg")
    touch(tmp_path / "album" / "keep.png")
    for skipped in [
        ".hidden.jpg",
        ".thumbnails/a.jpg",
        ".Trash-1000/files/deleted.jpg",
        "album/@eaDir/keep.png/SYNOPHOTO_THUMB_XL.jpg",
        "$RECYCLE.BIN/S-1-5-21/$R123.jpg",
        "System Volume Information/x.jpg",
        "lost+found/#123.jpg",
        "__MACOSX/album/._keep.png",
        "site/node_modules/pkg/logo.png",
        "#recycle/old.jpg",
    ]:
        touch(tmp_path / skipped)

    assert sorted(found(tmp_path)) == sorted([str(Path("album/keep.png")), "keep.jpg"])


def test_order_is_sorted_and_stable(tmp_path):
    # Created in a scrambled order so the directory's own order can't pass for sorted.
    for name in ["m.jpg", "b/z.jpg", "a.jpg", "b/a.jpg", "z.jpg", "b/c/d.jpg", "a2/x.jpg"]:
        touch(tmp_path / name)

    first = found(tmp_path)

    # Each folder's photos, by name, then its subfolders depth first, by name.
    assert first == [
        "a.jpg", "m.jpg", "z.jpg",
        str(Path("a2/x.jpg")),
        str(Path("b/a.jpg")), str(Path("b/z.jpg")),
        str(Path("b/c/d.jpg")),
    ]  # fmt: skip
    assert found(tmp_path) == first


def test_follows_a_folder_link_once(tmp_path):
    outside = tmp_path / "elsewhere"
    touch(outside / "far.jpg")
    root = tmp_path / "root"
    touch(root / "near.jpg")
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "second_link").symlink_to(outside, target_is_directory=True)

    # Reached through two links, the folder is walked only the first time.
    assert found(root) == ["near.jpg", str(Path("link/far.jpg"))]


def test_a_link_to_an_ancestor_does_not_loop(tmp_path):
    root = tmp_path / "root"
    touch(root / "a.jpg")
    touch(root / "sub" / "b.jpg")
    (root / "sub" / "back_to_root").symlink_to(root, target_is_directory=True)
    (root / "sub" / "self").symlink_to(root / "sub", target_is_directory=True)

    assert found(root) == ["a.jpg", str(Path("sub/b.jpg"))]


def test_a_dangling_link_is_reported_not_fatal(tmp_path):
    touch(tmp_path / "a.jpg")
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    errors: list[tuple[str, str]] = []

    assert found(tmp_path, on_error=lambda p, r: errors.append((p, r))) == ["a.jpg"]
    assert errors == [(str(tmp_path / "gone.jpg"), describe_os_error(FileNotFoundError()))]


def test_a_missing_root_is_reported_through_on_error(tmp_path):
    errors: list[tuple[str, str]] = []

    assert found(tmp_path / "unplugged", on_error=lambda p, r: errors.append((p, r))) == []
    assert errors == [
        (str(tmp_path / "unplugged"), "The folder disappeared while photoclip was looking at it.")
    ]


def test_stop_event_ends_the_walk(tmp_path):
    for i in range(5):
        touch(tmp_path / f"d{i}" / "p.jpg")
    stop = threading.Event()
    seen = []
    for entry in walk(str(tmp_path), stop=stop):
        seen.append(entry)
        stop.set()

    assert len(seen) == 1


@pytest.fixture
def shared_tmp():
    """A folder in the system's temporary folder, not pytest's (private to whoever runs the
    tests), for a child that may run as the checkout's owner (see tests/unprivileged.py)."""
    path = Path(tempfile.mkdtemp(prefix="photoclip-perm-"))
    yield path
    shutil.rmtree(path)


def _unprivileged(code: str, shared_tmp: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` where file permissions apply to it, even when the tests run as root."""
    reason = unprivileged.can_run()
    if reason is not None:
        pytest.fail(f"permission errors can't be produced: {reason}")
    return unprivileged.run_python(textwrap.dedent(code), files=[shared_tmp])


def test_an_unreadable_folder_is_reported_and_the_rest_is_walked(shared_tmp):
    visible = touch(shared_tmp / "open" / "a.jpg")
    visible.chmod(0o644)
    visible.parent.chmod(0o755)
    locked = touch(shared_tmp / "locked" / "secret.jpg").parent
    locked.chmod(0o000)
    try:
        done = _unprivileged(
            f"""
            import json
            from photoclip.scanner import walk
            errors = []
            paths = [e.path for e in walk({str(shared_tmp)!r},
                                          on_error=lambda p, r: errors.append([p, r]))]
            print(json.dumps({{"paths": paths, "errors": errors}}))
            """,
            shared_tmp,
        )
    finally:
        locked.chmod(0o755)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["paths"] == [str(visible)]
    assert result["errors"] == [
        [str(locked), "Permission denied: photoclip isn't allowed to read this folder."]
    ]


def test_describe_os_error_words_a_real_permission_error(shared_tmp):
    secret = touch(shared_tmp / "secret.jpg")
    secret.chmod(0o000)  # not even its owner may read it
    done = _unprivileged(
        f"""
        from photoclip.scanner import describe_os_error
        try:
            open({str(secret)!r}, "rb")
        except OSError as exc:
            print(type(exc).__name__, describe_os_error(exc), sep="|")
        """,
        shared_tmp,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "PermissionError|Permission denied: photoclip isn't allowed to read this file."
    )


def test_describe_os_error_words_other_errors(tmp_path):
    with pytest.raises(OSError) as missing:
        (tmp_path / "nope.jpg").read_bytes()
    with pytest.raises(OSError) as folder:
        tmp_path.read_bytes()
    with pytest.raises(OSError) as too_long:
        os.stat(tmp_path / ("x" * 5000))

    assert describe_os_error(missing.value) == (
        "The file disappeared while photoclip was looking at it."
    )
    assert describe_os_error(folder.value) == "This is a folder, not a photo."
    assert describe_os_error(too_long.value, what="folder") == (
        "The folder couldn't be read: File name too long."
    )


# -- fingerprints ------------------------------------------------------------------------------


def _random_bytes(n: int, seed: int = 0) -> bytes:
    import numpy as np

    return np.random.default_rng(seed).bytes(n)


def test_fingerprint_is_the_same_for_a_copy_elsewhere(tmp_path):
    original = touch(tmp_path / "a" / "IMG_0001.jpg", _random_bytes(3 * 1024 * 1024))
    copy = tmp_path / "b" / "renamed.jpg"
    copy.parent.mkdir()
    shutil.copy2(original, copy)

    assert fingerprint(str(original)) == fingerprint(str(copy))
    assert fingerprint(str(original), original.stat().st_size) == fingerprint(str(copy))


@pytest.mark.parametrize("size", [10, FINGERPRINT_CHUNK + 1000, 5 * FINGERPRINT_CHUNK])
def test_fingerprint_changes_with_one_byte_in_the_head(tmp_path, size):
    data = bytearray(_random_bytes(size))
    a = touch(tmp_path / "a.jpg", bytes(data))
    middle = min(size, FINGERPRINT_CHUNK) // 2
    data[middle] ^= 0x01
    b = touch(tmp_path / "b.jpg", bytes(data))

    assert fingerprint(str(a)) != fingerprint(str(b))


@pytest.mark.parametrize("size", [FINGERPRINT_CHUNK + 1000, 2 * FINGERPRINT_CHUNK - 1, 10**6])
def test_fingerprint_changes_with_the_last_byte(tmp_path, size):
    """The tail counts too: two photos that share a header but not their ends differ."""
    data = bytearray(_random_bytes(size))
    a = touch(tmp_path / "a.jpg", bytes(data))
    data[-1] ^= 0x01
    b = touch(tmp_path / "b.jpg", bytes(data))

    assert fingerprint(str(a)) != fingerprint(str(b))


def test_fingerprint_changes_with_the_size(tmp_path):
    data = _random_bytes(200_000)
    a = touch(tmp_path / "a.jpg", data)
    b = touch(tmp_path / "b.jpg", data + b"\0")

    assert fingerprint(str(a)) != fingerprint(str(b))


def test_fingerprint_reads_at_most_128_kib(tmp_path, monkeypatch):
    import io

    big = touch(tmp_path / "big.jpg", _random_bytes(8 * 1024 * 1024))
    bytes_from_disk: list[int] = []

    class CountingFile(io.FileIO):
        def readinto(self, buffer):
            n = super().readinto(buffer)
            bytes_from_disk.append(n or 0)
            return n

        def readall(self):
            data = super().readall()
            bytes_from_disk.append(len(data))
            return data

    def counting_open(path, mode="r", *args, **kwargs):
        assert mode == "rb"
        return io.BufferedReader(CountingFile(path, "rb"))

    monkeypatch.setattr("photoclip.scanner.open", counting_open, raising=False)
    fp = fingerprint(str(big))
    monkeypatch.undo()

    assert fp == fingerprint(str(big))  # the counting file read the same bytes
    assert 64 * 1024 < sum(bytes_from_disk) <= 128 * 1024

"""Walks library folders and lists the photo files in them, with size and mtime.

Read-only by design: the scanner only lists and stats, it never opens a photo for writing."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

PHOTO_EXTENSIONS = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif",
        ".png", ".webp", ".gif", ".bmp", ".dib",
        ".tif", ".tiff",
        ".heic", ".heif", ".hif", ".avif",
    }
)  # fmt: skip

# Folders that hold system files, trash or other programs' caches, never the user's photos.
SKIPPED_FOLDER_NAMES = frozenset(
    {
        "@eaDir",  # Synology thumbnails
        "$RECYCLE.BIN",
        "System Volume Information",
        "lost+found",
        "__MACOSX",
        "node_modules",
        "#recycle",
    }
)

FINGERPRINT_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    mtime_ns: int


def is_photo_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in PHOTO_EXTENSIONS


def _skip_folder(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED_FOLDER_NAMES or name.startswith(".Trash")


def walk(
    root: str,
    *,
    stop: threading.Event | None = None,
    on_error: Callable[[str, str], None] | None = None,
) -> Iterator[FileEntry]:
    """Yield every photo file below ``root``, depth first, in a stable (sorted) order.

    Symbolic links to folders are followed once: a folder reached twice (a loop, or two
    links to one place) is walked only the first time. Hidden files and folders are skipped.
    Folders that can't be listed are reported to ``on_error(path, reason)`` and skipped."""
    seen_dirs: set[tuple[int, int]] = set()
    stack = [os.path.abspath(root)]
    while stack:
        if stop is not None and stop.is_set():
            return
        folder = stack.pop()
        try:
            st = os.stat(folder)
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:
                continue
            seen_dirs.add(key)
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            if on_error is not None:
                on_error(folder, describe_os_error(exc, what="folder"))
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():  # follows links; loops are cut by seen_dirs
                    if not _skip_folder(entry.name):
                        subfolders.append(entry.path)
                    continue
                if not is_photo_name(entry.name):
                    continue
                st = entry.stat()
            except OSError as exc:
                if on_error is not None:
                    on_error(entry.path, describe_os_error(exc))
                continue
            if stat.S_ISREG(st.st_mode):
                yield FileEntry(entry.path, st.st_size, st.st_mtime_ns)
        stack.extend(reversed(subfolders))


def fingerprint(path: str, size: int | None = None) -> str:
    """A content fingerprint that survives moves and renames: size, head and tail.

    Reads at most 128 KiB, so it is cheap enough to take for every new file."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        if size is None:
            size = os.fstat(f.fileno()).st_size
        h.update(size.to_bytes(8, "little"))
        h.update(f.read(FINGERPRINT_CHUNK))
        if size > FINGERPRINT_CHUNK:  # the tail, overlapping the head in a small file
            f.seek(-FINGERPRINT_CHUNK, os.SEEK_END)
            h.update(f.read(FINGERPRINT_CHUNK))
    return h.hexdigest()


def describe_os_error(exc: OSError, what: str = "file") -> str:
    """Turn an OSError into a sentence for the Problems list."""
    if isinstance(exc, FileNotFoundError):
        return f"The {what} disappeared while photoclip was looking at it."
    if isinstance(exc, PermissionError):
        return f"Permission denied: photoclip isn't allowed to read this {what}."
    if isinstance(exc, IsADirectoryError):
        return "This is a folder, not a photo."
    reason = exc.strerror or str(exc)
    return f"The {what} couldn't be read: {reason}."

"""Walks library folders and lists the photo files in them, with size and mtime.

Read-only by design: the scanner only lists and stats, it never opens a photo for writing."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

PHOTO_EXTENSIONS = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif",
        ".png", ".webp", ".gif", ".bmp", ".dib",
        ".tif", ".tiff",
        ".heic", ".heif", ".hif", ".avif", ".avifs",
        # Multi-picture JPEG (3D cameras, some phones), animated PNG, JPEG 2000 and Photoshop
        # files: Pillow reads each; the first frame or the flattened composite is the photo.
        ".mpo", ".apng", ".jp2", ".j2k", ".jpf", ".jpx", ".psd",
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


@dataclass
class ScanOutcome:
    """What a walk learnt besides the files: where it couldn't look, and what it stood on.

    The indexer forgets a photo only where the walk really looked: never below a folder that
    failed to list, nor below a mount point that isn't mounted any more."""

    root_device: int | None = None  # st_dev of the root, None when it couldn't be read
    root_entries: int = 0  # everything the root listed (files, folders, hidden ones too)
    failed_dirs: list[str] = field(default_factory=list)
    # Links to places that can't be reached now (a drive that isn't connected, say).
    broken_links: list[str] = field(default_factory=list)
    mount_points: dict[str, int] = field(default_factory=dict)  # folder below root -> st_dev


def is_photo_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in PHOTO_EXTENSIONS


def _skip_folder(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED_FOLDER_NAMES or name.startswith(".Trash")


def path_key(path: str) -> str:
    """The form of a path that two spellings of one place share: resolved links, and the
    case folded where the OS folds it (Windows)."""
    return os.path.normcase(os.path.realpath(path))


def is_inside(path: str, folder: str) -> bool:
    """``path`` lies strictly below ``folder`` (both in one spelling, e.g. ``path_key``)."""
    return path.startswith(folder.rstrip(os.sep) + os.sep)


def walk(
    root: str,
    *,
    stop: threading.Event | None = None,
    on_error: Callable[[str, str], None] | None = None,
    outcome: ScanOutcome | None = None,
    other_roots: Iterable[str] = (),
    seen_dirs: set[tuple[int, int]] | None = None,
    seen_files: set[tuple[int, int]] | None = None,
) -> Iterator[FileEntry]:
    """Yield every photo file below ``root``, depth first, in a stable (sorted) order.

    Symbolic links are followed, except into ``root`` itself or into ``other_roots`` (those
    places are walked under their own names, so a photo is never listed twice). A folder
    reached twice (a loop, two links to one place) is walked the first time only, and a file
    with several hard links is listed once: pass the same ``seen_dirs``/``seen_files`` sets
    to the walks of every library folder to extend that across them. Hidden files and
    folders are skipped. Folders that can't be listed go to ``on_error(path, reason)`` and
    ``outcome.failed_dirs``."""
    outcome = outcome if outcome is not None else ScanOutcome()
    seen_dirs = seen_dirs if seen_dirs is not None else set()
    seen_files = seen_files if seen_files is not None else set()
    root = os.path.abspath(root)
    roots = [path_key(r) for r in (root, *other_roots)]
    stack = [root]
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
            outcome.failed_dirs.append(folder)
            if on_error is not None:
                on_error(folder, describe_os_error(exc, what="folder"))
            continue
        if folder == root:
            outcome.root_device = st.st_dev
            outcome.root_entries = len(entries)
        elif outcome.root_device is not None and st.st_dev != outcome.root_device:
            outcome.mount_points[folder] = st.st_dev
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_symlink() and not os.path.exists(entry.path):
                    outcome.broken_links.append(entry.path)
                    if is_photo_name(entry.name):
                        entry.stat()  # says why, below
                    continue
                if entry.is_dir():  # follows links; loops are cut by seen_dirs
                    if not _skip_folder(entry.name) and not (
                        entry.is_symlink() and _leads_into(entry.path, roots)
                    ):
                        subfolders.append(entry.path)
                    continue
                if not is_photo_name(entry.name):
                    continue
                if entry.is_symlink() and _leads_into(entry.path, roots):
                    continue  # listed where it really lives
                st = entry.stat()
            except OSError as exc:
                if on_error is not None:
                    on_error(entry.path, describe_os_error(exc))
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            if st.st_nlink > 1:
                file_key = (st.st_dev, st.st_ino)
                if file_key in seen_files:
                    continue
                seen_files.add(file_key)
            # A time past what 64 bits of nanoseconds hold (year 2262; a broken clock or
            # copy tool) is kept at that limit: the same file always reads the same.
            mtime_ns = min(max(st.st_mtime_ns, -(2**63)), 2**63 - 1)
            yield FileEntry(entry.path, st.st_size, mtime_ns)
        stack.extend(reversed(subfolders))


def _leads_into(link: str, roots: list[str]) -> bool:
    target = path_key(link)
    return any(target == r or is_inside(target, r) for r in roots)


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

"""Downloads a model file into the standard Hugging Face cache, photoclip's own way: it
resumes where an earlier run stopped, retries a bad connection, checks the file against the
sha256 the server publishes before anything may load it, and sends nothing but the request
for the file itself (no token, no telemetry, a plain user agent)."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import threading
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import ModelUnavailableError

if TYPE_CHECKING:  # the network's modules are imported by what downloads (10 ms a process)
    import http.client
    import ssl
    import urllib.request

# progress(bytes_done, bytes_total) while a file downloads; total is 0 when unknown.
DownloadProgress = Callable[[int, int], None]

USER_AGENT = f"photoclip/{__version__}"
DEFAULT_ENDPOINT = "https://huggingface.co"
CHUNK = 1 << 20
# A read that gets no byte for this long counts as a stalled connection (then retried).
READ_TIMEOUT_S = 30.0
# Asking what the file is: a network that swallows packets is "offline" after 3 tries of this.
HEAD_TIMEOUT_S = 10.0
# Waits between attempts that made no progress; an attempt that did resets the count.
RETRY_DELAYS_S: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 15.0)
# Free space kept on top of the file: a disk filled to the last byte troubles everything else.
SPARE_BYTES = 16 << 20
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# An ETag or commit names a file or folder in the cache: nothing else may pass.
_NAME_RE = re.compile(r"^[0-9A-Za-z_-]{1,128}$")


def disable_hub_telemetry() -> None:
    """huggingface_hub adds the torch version and an "agent" field to its user agent and
    fetches ``/api/agent-harnesses`` unless telemetry is off; photoclip promises none. The
    variable is read when huggingface_hub is imported, the constant on every request."""
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    import sys

    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_DISABLE_TELEMETRY = True  # type: ignore[attr-defined]


disable_hub_telemetry()


class DownloadError(ModelUnavailableError):
    """A download that didn't complete; the message says why and what to do."""


class FileNotOnServer(DownloadError):
    """The server has no such file in that repository (HTTP 404)."""


class DownloadCancelled(DownloadError):
    def __init__(self, message: str = "The download was cancelled.") -> None:
        super().__init__(message)


class _Transient(Exception):
    """A failure worth another attempt: a dropped or stalled connection (``connection``), or
    a server that had a problem (a 5xx answer, a wrong range)."""

    def __init__(self, why: str, *, connection: bool = True) -> None:
        super().__init__(why)
        self.connection = connection


class Offline(DownloadError):
    """The server can't be reached at all: no network, or its name can't be looked up."""


@dataclass(frozen=True)
class RemoteFile:
    url: str
    commit: str
    etag: str  # the sha256 of the content, for the large (LFS) files models are stored as
    size: int | None

    @property
    def sha256(self) -> str | None:
        return self.etag if _SHA256_RE.match(self.etag) else None


def endpoint() -> str:
    """The server to download from: ``HF_ENDPOINT`` (read now, so a test can move it), else
    huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def is_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def repo_folder(cache_dir: str | os.PathLike[str], repo: str) -> Path:
    """Where the Hugging Face cache keeps a model repository's files."""
    return Path(cache_dir) / ("models--" + repo.replace("/", "--"))


def cached_file(
    cache_dir: str | os.PathLike[str], repo: str, filename: str, revision: str = "main"
) -> str | None:
    """The path of ``filename`` of ``repo`` at ``revision`` in the Hugging Face cache when it
    is there, else None: huggingface_hub's ``try_to_load_from_cache`` (a branch name read
    through ``refs/``, then ``snapshots/<commit>/``) without importing the hub's download
    machinery, a tenth of a second each command would spend before any work."""
    storage = repo_folder(cache_dir, repo)
    ref = storage / "refs" / revision
    try:
        commit = ref.read_text(encoding="utf-8") if ref.is_file() else revision
    except OSError:
        return None
    path = storage / "snapshots" / commit / filename
    return str(path) if path.is_file() else None


def partial_files(cache_dir: str | os.PathLike[str], repo: str) -> list[Path]:
    """Unfinished downloads of ``repo`` in the cache (ours and huggingface_hub's)."""
    blobs = repo_folder(cache_dir, repo) / "blobs"
    return sorted(blobs.glob("*.incomplete")) if blobs.is_dir() else []


def download(
    repo: str,
    filename: str,
    cache_dir: str | os.PathLike[str],
    *,
    revision: str = "main",
    progress: DownloadProgress | None = None,
    stop: threading.Event | None = None,
    server: str | None = None,
    timeout_s: float | None = None,
    retry_delays_s: Sequence[float] | None = None,
) -> str:
    """Download ``filename`` of model ``repo`` into the Hugging Face cache ``cache_dir`` and
    return its path there (``snapshots/<commit>/<filename>``, a link to ``blobs/<sha256>``).

    A file an earlier run left unfinished (``blobs/<sha256>.incomplete``) is continued with a
    Range request. The file becomes a blob only once its size and sha256 match what the
    server published; nothing partial is left behind once it has. ``progress`` may raise to
    stop (as may setting ``stop``): the unfinished file is kept for the next attempt.
    Raises DownloadError (FileNotOnServer for a 404) with a sentence for the user."""
    base = (server or endpoint()).rstrip("/")
    quoted = "/".join(urllib.parse.quote(p) for p in (repo, "resolve", revision, filename))
    url = f"{base}/{quoted}"
    timeout = READ_TIMEOUT_S if timeout_s is None else timeout_s
    delays = RETRY_DELAYS_S if retry_delays_s is None else tuple(retry_delays_s)
    stop = stop or threading.Event()
    host = urllib.parse.urlsplit(base).netloc
    # Asking what the file is fails fast (an offline computer shouldn't wait half a minute
    # to be told); the transfer itself is retried patiently.
    head_timeout = min(timeout, HEAD_TIMEOUT_S)
    remote = _Attempts(delays[:2], stop, host, Offline).run(lambda: _head(url, head_timeout))
    attempt = _Attempts(delays, stop, host)
    storage = repo_folder(cache_dir, repo)
    blob = storage / "blobs" / remote.etag
    pointer = storage / "snapshots" / remote.commit / filename
    if pointer.is_file():
        return str(pointer)
    blob.parent.mkdir(parents=True, exist_ok=True)
    with _Lock(storage.parent / ".locks" / storage.name / f"{remote.etag}.lock", stop):
        if not blob.is_file():
            _fetch_blob(remote, blob, progress, stop, timeout, attempt)
        _remove_leftovers(blob)
        _link(blob, pointer)
        if revision != remote.commit:
            refs = storage / "refs"
            refs.mkdir(exist_ok=True)
            (refs / revision).write_text(remote.commit)
    return str(pointer)


# -- the requests ----------------------------------------------------------------------------


def _ssl_context() -> ssl.SSLContext:
    import ssl

    try:
        import certifi  # bundled apps may lack the system's certificates

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:
        return ssl.create_default_context()


def _request(
    url: str, method: str, headers: dict[str, str] | None = None
) -> urllib.request.Request:
    import urllib.request

    # Only what the file needs: no token, no cookies, no telemetry.
    base = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    return urllib.request.Request(url, method=method, headers={**base, **(headers or {})})


def _open(
    request: urllib.request.Request, timeout: float, *, follow: bool
) -> http.client.HTTPResponse:
    import http.client
    import socket
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None  # hand the 3xx answer back: its headers describe the file

    handlers: list[urllib.request.BaseHandler] = [
        urllib.request.HTTPSHandler(context=_ssl_context())
    ]
    if not follow:
        handlers.append(NoRedirect())
    opener = urllib.request.build_opener(*handlers)
    try:
        return opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        return exc  # type: ignore[return-value]  # an HTTPError is the response itself
    except urllib.error.URLError as exc:
        cause = exc.reason
        if isinstance(cause, socket.gaierror):
            raise Offline(f"{request.host} can't be reached: {_reason(cause)}.") from exc
        raise _Transient(_reason(cause)) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise _Transient(_reason(exc)) from exc


def _reason(exc: object) -> str:
    import http.client
    import socket

    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "the server stopped answering"
    if isinstance(exc, ConnectionRefusedError):
        return "the server refused the connection"
    if isinstance(exc, socket.gaierror):
        return "the server's name couldn't be looked up (is this computer online?)"
    if isinstance(exc, (ConnectionError, http.client.HTTPException)):
        return "the connection was lost"
    return str(exc) or type(exc).__name__


def _status_error(status: int, url: str) -> Exception:
    if status == 404:
        return FileNotOnServer(f"{url} doesn't exist on the server.")
    if status in (401, 403):
        return DownloadError(f"The server refused to send {url} (HTTP {status}).")
    if status >= 500 or status in (408, 429):
        return _Transient(f"the server had a problem (HTTP {status})", connection=False)
    return DownloadError(f"The server answered HTTP {status} for {url}.")


def _head(url: str, timeout: float) -> RemoteFile:
    """The file's commit, sha256 and size, from the answer to a HEAD request. Large files
    answer with a redirect to where their bytes are; its X-Linked-* headers describe them."""
    for _ in range(5):
        with _open(_request(url, "HEAD"), timeout, follow=False) as response:
            status = response.status
            headers = response.headers
        location = headers.get("Location")
        if status in (301, 302, 303, 307, 308) and location:
            target = urllib.parse.urljoin(url, location)
            if not headers.get("X-Repo-Commit") and (
                urllib.parse.urlsplit(target).netloc == urllib.parse.urlsplit(url).netloc
            ):
                url = target  # a renamed repository: ask again where it went
                continue
        elif status != 200:
            raise _status_error(status, url)
        commit = headers.get("X-Repo-Commit") or ""
        etag = _normalise_etag(headers.get("X-Linked-Etag") or headers.get("ETag") or "")
        size = _int(headers.get("X-Linked-Size") or headers.get("Content-Length"))
        if not _NAME_RE.match(commit) or not _NAME_RE.match(etag):
            raise DownloadError(
                f"{urllib.parse.urlsplit(url).netloc} didn't answer like a Hugging Face server "
                f"for {url}: the file's commit or checksum is missing."
            )
        return RemoteFile(url, commit, etag, size)
    raise DownloadError(f"{url} redirects too many times.")


def _normalise_etag(etag: str) -> str:
    return etag.strip().removeprefix("W/").strip('"')


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# -- the file --------------------------------------------------------------------------------


class _Attempts:
    """Runs a step again after a transient failure, waiting longer each time nothing was
    gained; gives up with a sentence once the waits are used up."""

    def __init__(
        self,
        delays: Sequence[float],
        stop: threading.Event,
        host: str,
        error: type[DownloadError] = DownloadError,
    ) -> None:
        self.error = error
        self.delays = delays
        self.stop = stop
        self.host = host
        self.failures = 0

    def run(self, step: Callable[[], RemoteFile]) -> RemoteFile:
        while True:
            try:
                return step()
            except _Transient as exc:
                self.failed(str(exc), connection=exc.connection)

    def progressed(self) -> None:
        self.failures = 0

    def failed(self, why: str, *, connection: bool = True) -> None:
        if self.failures >= len(self.delays):
            tries = f"photoclip tried {self.failures + 1} times"
            if self.error is Offline and connection:
                raise Offline(f"{self.host} can't be reached: {why} ({tries}).")
            advice = (
                "Check the internet connection and try again" if connection else ("Try again later")
            )
            raise DownloadError(
                f"The download from {self.host} failed: {why} ({tries}). {advice}: what "
                "arrived is kept, and the download continues from there."
            )
        delay = self.delays[self.failures]
        self.failures += 1
        if self.stop.wait(delay):
            raise DownloadCancelled


def _fetch_blob(
    remote: RemoteFile,
    blob: Path,
    progress: DownloadProgress | None,
    stop: threading.Event,
    timeout: float,
    attempt: _Attempts,
) -> None:
    partial = blob.with_name(blob.name + ".incomplete")
    _adopt_leftover(partial)
    hasher = _Hasher(partial)
    corrupt_once = False
    while True:
        try:
            _check_space(partial, remote.size)
            done = _get(remote, partial, hasher, progress, stop, timeout, attempt)
        except _Transient as exc:
            attempt.failed(str(exc), connection=exc.connection)
            continue
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                partial.unlink(missing_ok=True)
                raise DownloadError(_no_space(partial, remote.size)) from exc
            raise
        if remote.size is not None and done != remote.size:
            attempt.failed("the connection was lost")  # the answer ended before the file did
            continue
        expected = remote.sha256
        if expected is not None and hasher.hexdigest() != expected:
            partial.unlink(missing_ok=True)
            hasher.reset()
            if not corrupt_once:  # a proxy's hiccup, perhaps: once more from the start
                corrupt_once = True
                continue
            raise DownloadError(
                f"The model file downloaded from {urllib.parse.urlsplit(remote.url).netloc} "
                "doesn't match its published checksum, twice, so photoclip deleted it and "
                "won't use it. Try again later; if it keeps happening, something on the way "
                "(a proxy or a filter) is changing the download."
            )
        os.chmod(partial, 0o644)
        os.replace(partial, blob)
        return


class _Hasher:
    """The sha256 of the unfinished file so far, kept in step with its length."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reset()

    def reset(self) -> None:
        self.h = hashlib.sha256()
        self.length = 0

    def catch_up(self, length: int) -> None:
        if self.length == length:
            return
        self.reset()
        with open(self.path, "rb") as f:
            while self.length < length:
                chunk = f.read(min(CHUNK, length - self.length))
                if not chunk:
                    break
                self.update(chunk)

    def update(self, chunk: bytes) -> None:
        self.h.update(chunk)
        self.length += len(chunk)

    def hexdigest(self) -> str:
        return self.h.hexdigest()


def _get(
    remote: RemoteFile,
    partial: Path,
    hasher: _Hasher,
    progress: DownloadProgress | None,
    stop: threading.Event,
    timeout: float,
    attempt: _Attempts,
) -> int:
    """One GET, continuing the unfinished file. Returns its length when the answer ended."""
    import http.client

    have = partial.stat().st_size if partial.exists() else 0
    total = remote.size or 0
    if remote.size is not None and have > remote.size:
        have = 0  # not the start of this file
    headers = {"Range": f"bytes={have}-"} if have else {}
    if remote.size is not None and have == remote.size:
        hasher.catch_up(have)
        return have
    with _open(_request(remote.url, "GET", headers), timeout, follow=True) as response:
        status = response.status
        if have and status == 206:
            start = _range_start(response.headers.get("Content-Range"))
            if start != have:
                raise _Transient("the server resumed at the wrong place", connection=False)
        elif status == 200:
            have = 0
        elif status == 416:
            have = 0  # the range is past the end: the file changed; start again
            partial.unlink(missing_ok=True)
            raise _Transient("the file changed on the server", connection=False)
        else:
            raise _status_error(status, remote.url)
        with open(partial, "r+b" if have else "wb") as out:
            out.truncate(have)
            out.seek(have)
            hasher.catch_up(have)
            _report(progress, have, total)
            while True:
                if stop.is_set():
                    raise DownloadCancelled
                try:
                    chunk = response.read(CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    raise _Transient(_reason(exc)) from exc
                if not chunk:
                    break
                out.write(chunk)
                hasher.update(chunk)
                have += len(chunk)
                attempt.progressed()
                _report(progress, have, total)
            out.flush()
            os.fsync(out.fileno())
    return have


def _report(progress: DownloadProgress | None, done: int, total: int) -> None:
    if progress is None:
        return
    try:
        progress(done, total)
    except Exception as exc:  # the caller's way of saying stop
        raise DownloadCancelled from exc


def _range_start(content_range: str | None) -> int | None:
    match = re.match(r"bytes (\d+)-", content_range or "")
    return int(match.group(1)) if match else None


def _check_space(partial: Path, size: int | None) -> None:
    if size is None:
        return
    have = partial.stat().st_size if partial.exists() else 0
    free = shutil.disk_usage(partial.parent).free
    if free < size - have + SPARE_BYTES:
        partial.unlink(missing_ok=True)
        raise DownloadError(_no_space(partial, size))


def _no_space(partial: Path, size: int | None) -> str:
    folder = partial.parent.parent.parent
    need = f" ({size / 1e6:,.0f} MB)" if size else ""
    return (
        f"There isn't enough free space in {folder} for the model file{need}. Free some space "
        "on that disk and try again; nothing was left half-written."
    )


def _adopt_leftover(partial: Path) -> None:
    """Continue from the longest start of this file a killed huggingface_hub download left
    (``<sha256>.<random>.incomplete``), when photoclip has none of its own."""
    if partial.exists():
        return
    stem = partial.name.removesuffix(".incomplete")
    found = sorted(partial.parent.glob(f"{stem}.*.incomplete"), key=lambda p: p.stat().st_size)
    if found:
        os.replace(found[-1], partial)


def _remove_leftovers(blob: Path) -> None:
    """Unfinished copies of this file: ours, and those huggingface_hub's own downloads leave
    when killed (``<sha256>.<random>.incomplete``)."""
    for stale in blob.parent.glob(blob.name + ".*incomplete"):
        stale.unlink(missing_ok=True)


def _link(blob: Path, pointer: Path) -> None:
    pointer.parent.mkdir(parents=True, exist_ok=True)
    target = os.path.relpath(blob, pointer.parent)
    tmp = pointer.with_name(pointer.name + ".link")
    tmp.unlink(missing_ok=True)
    try:
        os.symlink(target, tmp)
        os.replace(tmp, pointer)
    except OSError:  # no symlinks (Windows without developer mode): a copy, as the hub does
        shutil.copyfile(blob, tmp)
        os.replace(tmp, pointer)


class _Lock:
    """One download of a file at a time across processes (the app and a CLI run may both
    start one); the other waits, stoppable."""

    def __init__(self, path: Path, stop: threading.Event) -> None:
        from filelock import FileLock  # huggingface_hub's own dependency

        path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = FileLock(str(path))
        self.stop = stop

    def __enter__(self) -> None:
        from filelock import Timeout

        while True:
            try:
                self.lock.acquire(timeout=0.5)
                return
            except Timeout:
                if self.stop.is_set():
                    raise DownloadCancelled from None

    def __exit__(self, *exc: object) -> None:
        self.lock.release()

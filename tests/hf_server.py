"""A stand-in for the Hugging Face hub on 127.0.0.1, speaking its file protocol: HEAD and GET
on ``/{org}/{repo}/resolve/{revision}/{filename}`` with ``X-Repo-Commit``, ``ETag`` and
``X-Linked-Etag`` (the file's sha256), ``X-Linked-Size``/``Content-Length``, and Range
requests answered 206 with ``Content-Range``. It can limit its bandwidth and fail on purpose
(drop the connection, answer 500, stall, pause, send bytes that don't match the sha256), and
logs every request so a test can check what was asked for and how many bytes went out.

Every wait in it is bounded and ends when the server closes, so a test can never hang on it.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

COMMIT = "c0ffee" + "0" * 34


@dataclass
class Served:
    """One file the server has: its bytes come from ``path`` (read in chunks as sent)."""

    path: Path
    size: int
    sha256: str


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    status: int = 0
    sent: int = 0  # body bytes written


@dataclass
class Faults:
    """Switches; counts say how many of the next GETs (or HEADs) are affected."""

    error_500: int = 0  # answer HTTP 500 to this many requests (HEAD or GET)
    get_500: int = 0  # answer HTTP 500 to this many GETs
    drop_after: int | None = None  # close the connection after this many body bytes...
    drops: int = 0  # ...in this many GETs
    stall_after: int | None = None  # stop sending after this many bytes...
    stall_s: float = 0.0  # ...for this long (the client should give up first)
    stalls: int = 0
    pause_after: int | None = None  # stop after this many bytes until `resume` is set
    corrupt: int = 0  # flip a byte in this many GETs (the sha256 in the headers stays)
    bytes_per_s: float | None = None  # bandwidth limit
    ignore_range: bool = False  # answer every GET with the whole file (200), as some do
    redirect: bool = False  # as huggingface.co: the file's bytes are elsewhere (/cdn/<sha>)


@dataclass
class HubState:
    files: dict[str, Served] = field(default_factory=dict)  # "org/name/filename" -> file
    faults: Faults = field(default_factory=Faults)
    log: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)
    resume: threading.Event = field(default_factory=threading.Event)
    paused: threading.Event = field(default_factory=threading.Event)  # a GET is held now

    def take(self, name: str) -> bool:
        """Use up one of fault ``name``'s count."""
        with self.lock:
            left = getattr(self.faults, name)
            if left > 0:
                setattr(self.faults, name, left - 1)
                return True
            return False


class _Handler(http.server.BaseHTTPRequestHandler):
    state: HubState
    protocol_version = "HTTP/1.1"

    def _record(self) -> Request:
        req = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
        with self.state.lock:
            self.state.log.append(req)
        return req

    def _lookup(self) -> Served | None:
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) == 5 and parts[2] == "resolve":
            return self.state.files.get(f"{parts[0]}/{parts[1]}/{parts[4]}")
        if len(parts) == 2 and parts[0] == "cdn" and self.state.faults.redirect:
            return next((f for f in self.state.files.values() if f.sha256 == parts[1]), None)
        return None

    def _redirected(self, req: Request, served: Served) -> bool:
        """The hub's answer for a large file: 302 to where its bytes are, the X-Linked-*
        headers describing them."""
        if not self.state.faults.redirect or self.path.startswith("/cdn/"):
            return False
        req.status = 302
        self.send_response(302)
        self.send_header("Location", f"/cdn/{served.sha256}")
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("X-Linked-Etag", f'"{served.sha256}"')
        self.send_header("X-Linked-Size", str(served.size))
        self.send_header("ETag", '"a-git-blob-sha1-of-the-pointer-file"')
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        return True

    def _plain(self, req: Request, status: int, code: str = "") -> None:
        req.status = status
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _begin(self, req: Request) -> Served | None:
        served = self._lookup()
        if served is None:
            self._plain(req, 404, "EntryNotFound")
            return None
        if self.state.take("error_500") or (self.command == "GET" and self.state.take("get_500")):
            self._plain(req, 500)
            return None
        return served

    def _file_headers(self, served: Served, length: int) -> None:
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("ETag", f'"{served.sha256}"')
        self.send_header("X-Linked-Etag", f'"{served.sha256}"')
        self.send_header("X-Linked-Size", str(served.size))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(length))
        self.send_header("Connection", "close")

    def do_HEAD(self) -> None:
        req = self._record()
        served = self._begin(req)
        if served is None or self._redirected(req, served):
            return
        req.status = 200
        self.send_response(200)
        self._file_headers(served, served.size)
        self.end_headers()
        self.close_connection = True

    def do_GET(self) -> None:
        req = self._record()
        served = self._begin(req)
        if served is None or self._redirected(req, served):
            return
        start = 0
        rng = self.headers.get("Range", "")
        if rng.startswith("bytes=") and rng.endswith("-") and not self.state.faults.ignore_range:
            start = int(rng[6:-1])
        if start >= served.size and start:
            req.status = 416
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{served.size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        req.status = 206 if start else 200
        self.send_response(req.status)
        self._file_headers(served, served.size - start)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{served.size - 1}/{served.size}")
        self.end_headers()
        self._send_body(req, served, start)
        self.close_connection = True

    def _send_body(self, req: Request, served: Served, start: int) -> None:
        state, faults = self.state, self.state.faults
        drop = faults.drop_after if faults.drop_after is not None and state.take("drops") else None
        stall = (
            faults.stall_after if faults.stall_after is not None and state.take("stalls") else None
        )
        pause = faults.pause_after
        corrupt_at = served.size // 2 if state.take("corrupt") else None
        if drop == 0:  # the connection drops before the first byte
            self.connection.shutdown(2)
            return
        began = time.monotonic()
        pos = start
        with open(served.path, "rb") as f:
            f.seek(start)
            while pos < served.size and not state.closing.is_set():
                limit = 1 << 16
                for mark in (drop, stall, pause):
                    if mark is not None and req.sent < mark:
                        limit = min(limit, mark - req.sent)
                chunk = f.read(limit)
                if not chunk:
                    break
                if corrupt_at is not None and pos <= corrupt_at < pos + len(chunk):
                    i = corrupt_at - pos
                    chunk = chunk[:i] + bytes([chunk[i] ^ 0xFF]) + chunk[i + 1 :]
                try:
                    self.wfile.write(chunk)
                    self.wfile.flush()
                except OSError:
                    return  # the client went away
                pos += len(chunk)
                req.sent += len(chunk)
                if faults.bytes_per_s:
                    ahead = req.sent / faults.bytes_per_s - (time.monotonic() - began)
                    if ahead > 0:
                        state.closing.wait(ahead)
                if drop is not None and req.sent >= drop:
                    self.connection.shutdown(2)  # a dropped connection, mid-file
                    return
                if stall is not None and req.sent == stall:
                    state.closing.wait(faults.stall_s)
                    stall = None
                if pause is not None and req.sent == pause:
                    state.paused.set()
                    while not state.resume.wait(0.05) and not state.closing.is_set():
                        pass
                    pause = None

    def log_message(self, format: str, *args: object) -> None:
        pass


class FakeHub:
    """``with FakeHub() as hub: hub.serve(repo, filename, path)``; ``hub.url`` is the
    HF_ENDPOINT to give photoclip."""

    def __init__(self) -> None:
        self.state = HubState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def faults(self) -> Faults:
        return self.state.faults

    @property
    def log(self) -> list[Request]:
        with self.state.lock:
            return list(self.state.log)

    def serve(self, repo: str, filename: str, path: Path) -> Served:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        served = Served(Path(path), Path(path).stat().st_size, h.hexdigest())
        self.state.files[f"{repo}/{filename}"] = served
        return served

    def gets(self) -> list[Request]:
        return [r for r in self.log if r.method == "GET"]

    def paths(self) -> set[str]:
        return {r.path for r in self.log}

    def wait_for(self, condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
        """Wait (bounded) until ``condition()`` is true; fail the test otherwise."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s} s waiting for the download")
            time.sleep(0.02)

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.state.closing.set()
        self.state.resume.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

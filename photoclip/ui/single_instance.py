"""One photoclip window per library: a second launch hands its folders to the first over a
local socket (named from a hash of the library path) and exits. A lock file next to the
socket makes launches take turns from their hand-off attempt until the winner listens."""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os

from PySide6.QtCore import QByteArray, QDir, QLockFile, QObject, Signal
from PySide6.QtNetwork import QAbstractSocket, QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_MS = 500
MAX_MESSAGE_BYTES = 1 << 20
# How long a launch waits for another one, started at the same moment, to get its server up
# (normally milliseconds). A lock whose holder died is taken over at once (QLockFile checks
# the process).
LAUNCH_LOCK_TIMEOUT_MS = 10_000


def server_name(library_db: str | os.PathLike[str]) -> str:
    """Unique per user and library; short enough for a Unix socket path."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name (some containers)
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    key = f"{user}\0{os.path.realpath(library_db)}"
    return "photoclip-" + hashlib.sha256(key.encode()).hexdigest()[:20]


def encode_message(folders: list[str]) -> bytes:
    return json.dumps({"folders": folders}).encode() + b"\n"


def decode_message(data: bytes) -> list[str]:
    try:
        message = json.loads(data.decode("utf-8"))
        folders = message.get("folders", [])
    except (ValueError, AttributeError):
        return []
    return [f for f in folders if isinstance(f, str)] if isinstance(folders, list) else []


def lock_path(name: str) -> str:
    """The launch lock, beside the server's socket (which Qt puts in the temp folder)."""
    return os.path.join(QDir.tempPath(), f"{name}.lock")


class SingleInstance(QObject):
    """``hand_off()`` then, when nobody took the folders, ``listen()``: the first launch
    becomes the instance and emits ``activated(folders)`` for every later launch.

    Race-free: ``hand_off()`` takes the launch lock and holds it (when it returns False)
    until ``listen()`` has the server up, so two launches at the same moment take turns
    and the second finds the first's server."""

    activated = Signal(list)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.handed_off = False  # True once another instance took this launch's folders
        self._folders: list[str] = []
        self._lock = QLockFile(lock_path(name))
        self._server: QLocalServer | None = None
        self._buffers: dict[QLocalSocket, bytearray] = {}

    def hand_off(self, folders: list[str]) -> bool:
        """Send ``folders`` to a running instance. True when one took them (then exit);
        False: call ``listen()`` next (the launch lock is held until then)."""
        self._folders = list(folders)
        if not self._lock.isLocked() and not self._lock.tryLock(LAUNCH_LOCK_TIMEOUT_MS):
            # Can't write the temp folder, or a hung launch: go on as if alone.
            log.warning("Single-instance lock %s not taken (%s)", lock_path(self.name),
                        self._lock.error().name)  # fmt: skip
        self.handed_off = self._send(folders)
        if self.handed_off:
            self._unlock()
        return self.handed_off

    def _send(self, folders: list[str]) -> bool:
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(CONNECT_TIMEOUT_MS):
            return False
        socket.write(QByteArray(encode_message(folders)))
        ok = socket.waitForBytesWritten(CONNECT_TIMEOUT_MS)
        socket.disconnectFromServer()
        if socket.state() != QLocalSocket.LocalSocketState.UnconnectedState:
            socket.waitForDisconnected(CONNECT_TIMEOUT_MS)
        return bool(ok)

    def listen(self) -> bool:
        """Become the instance for this library. False if the name can't be taken (then
        ``handed_off`` says whether a running instance took the folders after all)."""
        try:
            return self._listen()
        finally:
            self._unlock()  # the server is up (or can't be): the next launch may look

    def _listen(self) -> bool:
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            if server.serverError() != QAbstractSocket.SocketError.AddressInUseError:
                log.warning("Single-instance server failed: %s", server.errorString())
                return False
            # The socket is taken. Before removing it as a crash's leftover, make sure
            # nobody answers on it: a live instance's server must never be stolen.
            if self._send(self._folders):
                self.handed_off = True
                log.warning("Another photoclip has this library open; it took the folders.")
                return False
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                log.warning("Single-instance server failed: %s", server.errorString())
                return False
        server.newConnection.connect(self._on_connection)
        self._server = server
        return True

    def _unlock(self) -> None:
        if self._lock.isLocked():
            self._lock.unlock()

    def close(self) -> None:
        self._unlock()
        if self._server is not None:
            self._server.close()
            self._server = None

    def _on_connection(self) -> None:
        assert self._server is not None
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            self._buffers[socket] = bytearray()
            socket.readyRead.connect(lambda s=socket: self._on_ready_read(s))
            socket.disconnected.connect(lambda s=socket: self._on_disconnected(s))
            if socket.bytesAvailable():
                self._on_ready_read(socket)

    def _on_ready_read(self, socket: QLocalSocket) -> None:
        buffer = self._buffers.get(socket)
        if buffer is None:
            return
        buffer.extend(bytes(socket.readAll().data()))
        if len(buffer) > MAX_MESSAGE_BYTES:
            socket.abort()
            return
        if b"\n" in buffer:
            line = bytes(buffer).split(b"\n", 1)[0]
            self._buffers.pop(socket, None)
            self.activated.emit(decode_message(line))
            socket.disconnectFromServer()

    def _on_disconnected(self, socket: QLocalSocket) -> None:
        if socket in self._buffers and socket.bytesAvailable():
            self._on_ready_read(socket)  # a short message can arrive with the hang-up
        self._buffers.pop(socket, None)
        socket.deleteLater()

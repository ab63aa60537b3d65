"""One photoclip window per library: a second launch hands its folders to the first over a
local socket (named from a hash of the library path) and exits."""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os

from PySide6.QtCore import QByteArray, QObject, Signal
from PySide6.QtNetwork import QAbstractSocket, QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_MS = 500
MAX_MESSAGE_BYTES = 1 << 20


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


class SingleInstance(QObject):
    """``hand_off()`` in a second instance; ``listen()`` in the first, which then emits
    ``activated(folders)`` for every later launch."""

    activated = Signal(list)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server: QLocalServer | None = None
        self._buffers: dict[QLocalSocket, bytearray] = {}

    def hand_off(self, folders: list[str]) -> bool:
        """Send ``folders`` to a running instance. True when one took them (then exit)."""
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
        """Become the instance for this library. False if the name can't be taken."""
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            if server.serverError() != QAbstractSocket.SocketError.AddressInUseError:
                log.warning("Single-instance server failed: %s", server.errorString())
                return False
            # Nobody answered hand_off(), so this is a stale socket left by a crash.
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                log.warning("Single-instance server failed: %s", server.errorString())
                return False
        server.newConnection.connect(self._on_connection)
        self._server = server
        return True

    def close(self) -> None:
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

"""One running app per user: a second launch hands its request to the first and exits.

Thread contract: GUI thread only. The first instance listens on a ``QLocalServer``
(a Unix socket or a Windows named pipe, readable by this user only); a later launch
connects, writes one JSON line (``{"paths": [...]}``: show the app, or open these paths
in the transfer window) and exits. A server name left behind by a crashed instance is
detected (nobody answers) and taken over.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

_CONNECT_TIMEOUT_MS = 500
_MAX_MESSAGE = 1 << 20


def server_name(state_dir: str) -> str:
    """A name unique per user and per state folder (tests and dev runs never collide)."""
    digest = hashlib.sha256(f"{getpass.getuser()}\0{state_dir}".encode()).hexdigest()[:16]
    return f"almc-assistant-{digest}"


class SingleInstance(QObject):
    """Either forwards a request to the running instance or becomes it.

    ``message_received`` carries the decoded JSON object a later launch sent.
    """

    message_received = Signal(object)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._server: QLocalServer | None = None
        self._buffers: dict[QLocalSocket, bytearray] = {}

    @property
    def name(self) -> str:
        return self._name

    def forward(self, message: dict[str, Any]) -> bool:
        """Send ``message`` to a running instance; ``False`` when none answers."""
        socket = QLocalSocket()
        socket.connectToServer(self._name)
        if not socket.waitForConnected(_CONNECT_TIMEOUT_MS):
            return False
        socket.write(json.dumps(message).encode("utf-8") + b"\n")
        ok = socket.waitForBytesWritten(_CONNECT_TIMEOUT_MS)
        socket.disconnectFromServer()
        if socket.state() != QLocalSocket.LocalSocketState.UnconnectedState:
            socket.waitForDisconnected(_CONNECT_TIMEOUT_MS)
        return ok

    def listen(self) -> bool:
        """Become the running instance; ``False`` if the name cannot be taken."""
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self._name):
            # Left behind by a crash (forward() found nobody answering): take it over.
            QLocalServer.removeServer(self._name)
            if not server.listen(self._name):
                log.warning("single-instance server %s: %s", self._name, server.errorString())
                return False
        server.newConnection.connect(self._on_server_new_connection)
        self._server = server
        return True

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    @Slot()
    def _on_server_new_connection(self) -> None:
        assert self._server is not None
        while (socket := self._server.nextPendingConnection()) is not None:
            self._buffers[socket] = bytearray()
            socket.readyRead.connect(self._on_socket_ready_read)
            socket.disconnected.connect(self._on_socket_disconnected)
            if socket.bytesAvailable():
                self._read(socket)

    @Slot()
    def _on_socket_ready_read(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket):
            self._read(socket)

    @Slot()
    def _on_socket_disconnected(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket):
            self._read(socket)
            self._buffers.pop(socket, None)
            socket.deleteLater()

    def _read(self, socket: QLocalSocket) -> None:
        buffer = self._buffers.get(socket)
        if buffer is None:
            return
        buffer += bytes(socket.readAll().data())
        if len(buffer) > _MAX_MESSAGE:
            log.warning("single-instance message too large; dropped")
            buffer.clear()
            return
        while b"\n" in buffer:
            line, _, rest = bytes(buffer).partition(b"\n")
            buffer[:] = rest
            try:
                message = json.loads(line)
            except ValueError:
                log.warning("single-instance: unreadable message %r", line[:200])
                continue
            if isinstance(message, dict):
                self.message_received.emit(message)

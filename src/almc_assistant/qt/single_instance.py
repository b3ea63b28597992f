"""One running app per user: a second launch hands its request to the first and exits.

Thread contract: GUI thread only. The first instance listens on a ``QLocalServer``; a
later launch connects, writes one JSON line (``{"paths": [...]}``: show the app, or open
these paths in the transfer window) and exits. A server name left behind by a crashed
instance is detected (nobody answers) and taken over.

On a shared workstation the peer is trusted only if it runs as the same user: the Unix
socket lives in a 0700 folder of this user (``$XDG_RUNTIME_DIR/almc-assistant``, else
the state folder's ``run``), and both ends check the other's credentials
(``SO_PEERCRED`` / ``LOCAL_PEERCRED``, :mod:`almc_assistant.core.peercred`). On Windows
the pipe's name holds the user and the session id, and :mod:`almc_assistant.core.winpipe`
serves it instead of ``QLocalServer`` (first instance only, a user-only DACL, both ends'
SIDs checked; its reader thread hands lines over through a queued signal). A peer of
another user is never sent anything and never makes the app exit: the app then starts
anyway (logged) with its tray.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.peercred import same_user_fd, same_user_pipe
from almc_assistant.core.privatefs import ensure_private_dir

if TYPE_CHECKING:
    from almc_assistant.core.winpipe import PipeServer

log = logging.getLogger(__name__)

_CONNECT_TIMEOUT_MS = 500
_MAX_MESSAGE = 1 << 20


_MAX_SOCKET_PATH = 100  # sun_path holds 104 (macOS) or 108 (Linux) bytes


def server_name(state_dir: str) -> str:
    """A name unique per user and per state folder (tests and dev runs never collide):
    a socket path in a private folder of this user (POSIX) or a per-user, per-session
    pipe name (Windows); "" when no private folder can be had (no single instance)."""
    user = getpass.getuser()
    digest = hashlib.sha256(f"{user}\0{state_dir}".encode()).hexdigest()[:12]
    if sys.platform == "win32":
        return f"almc-assistant-{user}-{_windows_session()}-{digest}"
    for folder in _runtime_folders(Path(state_dir)):
        path = folder / f"{digest}.sock"
        if len(os.fsencode(path)) > _MAX_SOCKET_PATH:
            continue
        try:
            ensure_private_dir(folder)
        except (OSError, AlmcError) as exc:
            log.warning("single-instance folder %s refused: %s", folder, exc)
            continue
        return str(path)
    log.warning("no private folder for the single-instance socket; each launch runs alone")
    return ""


def _runtime_folders(state_dir: Path) -> list[Path]:
    out = []
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        out.append(Path(runtime) / "almc-assistant")
    out.append(state_dir / "run")
    out.append(Path(tempfile.gettempdir()) / f"almc-assistant-{os.geteuid()}")
    return out


def _windows_session() -> int:  # pragma: no cover - Windows
    try:
        import ctypes
        from ctypes import wintypes

        session = wintypes.DWORD()
        k32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        if k32.ProcessIdToSessionId(os.getpid(), ctypes.byref(session)):
            return int(session.value)
    except (OSError, AttributeError):
        pass
    return 0


def _same_user(socket: QLocalSocket, *, server_side: bool) -> bool:
    descriptor = int(socket.socketDescriptor())
    if sys.platform == "win32":
        return same_user_pipe(descriptor, server_side=server_side)
    return same_user_fd(descriptor)


class SingleInstance(QObject):
    """Either forwards a request to the running instance or becomes it.

    ``message_received`` carries the decoded JSON object a later launch sent.
    """

    message_received = Signal(object)
    _line_received = Signal(bytes)  # from the Windows pipe's reader thread (queued)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._server: QLocalServer | None = None
        self._pipe: PipeServer | None = None  # on Windows
        self._buffers: dict[QLocalSocket, bytearray] = {}
        self._line_received.connect(self._on_line)

    @property
    def name(self) -> str:
        return self._name

    def forward(self, message: dict[str, object]) -> bool:
        """Send ``message`` to a running instance; ``False`` when none answers."""
        if not self._name:
            return False
        if sys.platform == "win32":  # pragma: no cover - tested by the Windows lane
            from almc_assistant.core import winpipe

            line = json.dumps(message).encode("utf-8") + b"\n"
            sent = winpipe.send(self._name, line, timeout_ms=_CONNECT_TIMEOUT_MS)
            if sent is None:
                log.warning(
                    "single-instance: %s is another user's; this app starts on its own", self._name
                )
            return bool(sent)
        socket = QLocalSocket()
        socket.connectToServer(self._name)
        if not socket.waitForConnected(_CONNECT_TIMEOUT_MS):
            return False
        if not _same_user(socket, server_side=False):
            log.warning(
                "single-instance: %s is held by another user's process; nothing sent, "
                "this app starts on its own",
                self._name,
            )
            socket.abort()
            return False
        socket.write(json.dumps(message).encode("utf-8") + b"\n")
        ok = socket.waitForBytesWritten(_CONNECT_TIMEOUT_MS)
        socket.disconnectFromServer()
        if socket.state() != QLocalSocket.LocalSocketState.UnconnectedState:
            socket.waitForDisconnected(_CONNECT_TIMEOUT_MS)
        return ok

    def listen(self) -> bool:
        """Become the running instance; ``False`` if the name cannot be taken."""
        if not self._name:
            return False
        if sys.platform == "win32":  # pragma: no cover - tested by the Windows lane
            from almc_assistant.core import winpipe

            pipe = winpipe.PipeServer(self._name, self._line_received.emit)
            if not pipe.start():
                return False
            self._pipe = pipe
            return True
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self._name):
            # Left behind by a crash (forward() found nobody answering): take it over,
            # unless it is not ours (then start without being found by later launches).
            if not self._ours_to_remove():
                log.warning("single-instance name %s is not ours; not taken over", self._name)
                return False
            QLocalServer.removeServer(self._name)
            if not server.listen(self._name):
                log.warning("single-instance server %s: %s", self._name, server.errorString())
                return False
        server.newConnection.connect(self._on_server_new_connection)
        self._server = server
        return True

    def _ours_to_remove(self) -> bool:
        if sys.platform == "win32":
            return True  # a pipe vanishes with its process; nothing to remove
        try:
            st = os.lstat(self._name)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return st.st_uid == os.geteuid() and not stat.S_ISLNK(st.st_mode)

    def close(self) -> None:
        if self._pipe is not None:
            self._pipe.stop()
            self._pipe = None
        if self._server is not None:
            self._server.close()
            self._server = None

    @Slot()
    def _on_server_new_connection(self) -> None:
        assert self._server is not None
        while (socket := self._server.nextPendingConnection()) is not None:
            if not _same_user(socket, server_side=True):
                log.warning("single-instance: a connection from another user was refused")
                socket.abort()
                socket.deleteLater()
                continue
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
            self._on_line(line)

    @Slot(bytes)
    def _on_line(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            log.warning("single-instance: unreadable message %r", line[:200])
            return
        if isinstance(message, dict):
            self.message_received.emit(message)

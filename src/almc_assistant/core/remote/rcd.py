"""A private ``rclone rcd`` for this app: loopback only, a fresh user and password per run.

Thread contract: :class:`RcDaemon` is shared by all workers (and, through a
:class:`~almc_assistant.core.remote.session.RemoteSession`, by every job of a service);
:meth:`RcDaemon.call` may be called from any thread (it takes an idle HTTP connection
from a small pool, or opens one). :meth:`stop` is called once, by whoever owns the
daemon (the session, the app at exit, a test's fixture).

Why a server and not one rclone process per file: a process per file pays rclone's start
and a new SSH/TLS session (and, for cloud backends, a token refresh) for every file; the
daemon keeps its connections and listings warm across thousands of small files, and
streams each upload (``operations/uploadfile`` reads the request body as it arrives: no
temporary file, no second read of the source). The daemon listens on 127.0.0.1 only, on
a free port, with a random user and password given through its environment (never its
command line, which other accounts can read in ``/proc``). It dies with the app: it is
stopped at exit, and on Linux it also gets ``SIGKILL`` when the thread that started it
ends (``PR_SET_PDEATHSIG``): the main thread, or a keeper thread that lives as long as
the daemon (``die_with_thread``; the session starts it so).
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import http.client
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.remote.rclonebin import rclone_binary
from almc_assistant.core.remote.vault import daemon_env

log = logging.getLogger(__name__)

# Flags for every remote: fail fast on a dead link instead of hanging; rclone's own
# "corrupted on transfer" check is replaced by the proof each backend gives (proof.py).
DAEMON_FLAGS = (
    "--contimeout=15s",
    "--timeout=60s",
    "--low-level-retries=2",
    "--ignore-checksum",
    "--streaming-upload-cutoff=8Mi",  # S3: files up to 8 MiB go single-part (MD5 ETag)
    "--use-json-log",
    "--inplace",  # every upload already goes to a hidden partial name of ours
)


MAX_IDLE = 16  # idle HTTP connections kept to the daemon


class RcloneCallError(AlmcError):
    """rclone answered a call with an error (``status`` is its HTTP status)."""

    title = "Remote destination error"

    def __init__(self, detail: str, *, status: int = 0, **kw: Any) -> None:
        super().__init__(detail, **kw)
        self.status = status


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prctl() -> Any:
    """libc's ``prctl``, looked up in the parent (the child of a process with threads
    must not import or load anything between fork and exec); ``None`` if unavailable."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _die_with_parent(prctl: Any) -> Callable[[], None]:
    def child() -> None:  # pragma: no cover - runs in the child
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    return child


class RcDaemon:
    """``rclone rcd`` bound to 127.0.0.1 with its own user and password."""

    def __init__(self, config: Path, *, extra_flags: tuple[str, ...] = ()) -> None:
        self.config = config
        self.user = "almc-" + secrets.token_hex(6)
        self.password = secrets.token_urlsafe(24)
        self.port = 0
        self._extra = extra_flags
        self._proc: subprocess.Popen[bytes] | None = None
        self._idle: list[http.client.HTTPConnection] = []  # connections free for a call
        self._conns_lock = threading.Lock()
        self.stopped = threading.Event()
        self._drainer: threading.Thread | None = None
        self._auth = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode(
            "ascii"
        )

    # ------------------------------------------------------------------ life
    def start(self, *, timeout: float = 20.0, die_with_thread: bool = False) -> RcDaemon:
        """Start the daemon; ``die_with_thread``: the calling thread lives as long as the
        daemon (Linux: the daemon is killed when that thread ends, so also when the app
        dies without stopping it)."""
        binary = rclone_binary()
        env = dict(os.environ)
        env["RCLONE_RC_USER"] = self.user
        env["RCLONE_RC_PASS"] = self.password
        env.pop("RCLONE_CONFIG_PASS", None)  # never the user's own: ours (vault) or none
        env.update(daemon_env(self.config))
        prctl = _prctl() if sys.platform == "linux" else None
        failure = ""  # why the last try could not even start it
        for attempt in range(3):
            self.port = _free_port()
            args = [
                str(binary),
                "rcd",
                f"--config={self.config}",
                f"--rc-addr=127.0.0.1:{self.port}",
                *DAEMON_FLAGS,
                *self._extra,
            ]
            linux_main = sys.platform == "linux" and (
                die_with_thread or threading.current_thread() is threading.main_thread()
            )
            try:
                self._proc = subprocess.Popen(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    env=env,
                    preexec_fn=_die_with_parent(prctl) if linux_main and prctl else None,
                )
            except OSError as exc:  # e.g. CreateProcess's transient "Internal error" (1359)
                log.warning("rclone rcd could not be started (try %d): %s", attempt + 1, exc)
                failure = f" ({exc})"
                continue
            self._drainer = threading.Thread(target=self._drain, daemon=True, name="rclone-log")
            self._drainer.start()
            if self._wait_ready(timeout):
                atexit.register(self.stop)
                self.stopped.clear()  # a failed try before this one set it
                return self
            log.warning("rclone rcd did not answer on port %s (try %d)", self.port, attempt + 1)
            self.stop()
        raise AlmcError(
            f"The rclone helper for remote destinations did not start{failure}.",
            title="Remote destinations unavailable",
            next_step="Try again; if it persists, send the log to staff.",
        )

    def _drain(self) -> None:
        proc = self._proc
        if proc is None or proc.stderr is None:
            return
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            try:
                entry = json.loads(line)
                log.debug("rclone: %s", entry.get("msg", line))
            except ValueError:
                log.debug("rclone: %s", line)

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                self.call("rc/noop")
                return True
            except (OSError, http.client.HTTPException, RcloneCallError):
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if self._drainer is not None:
            self._drainer.join(5)
        if proc.stderr is not None:
            proc.stderr.close()
        with self._conns_lock:
            conns, self._idle = self._idle, []
        for conn in conns:
            conn.close()
        atexit.unregister(self.stop)
        self.stopped.set()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # ------------------------------------------------------------------ calls
    def connection(self, timeout: float = 600.0) -> http.client.HTTPConnection:
        """A new connection to the daemon (for a streaming upload)."""
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    @property
    def authorization(self) -> str:
        return self._auth

    def call(self, path: str, **params: Any) -> dict[str, Any]:
        """POST ``params`` as JSON to ``path``; the answer's JSON, or :class:`RcloneCallError`."""
        body = json.dumps(params)
        headers = {"Authorization": self._auth, "Content-Type": "application/json"}
        for attempt in (0, 1):
            conn = self._take() if attempt == 0 else self.connection()
            try:
                conn.request("POST", "/" + path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (OSError, http.client.HTTPException):
                conn.close()  # an idle one the daemon closed meanwhile: once more, afresh
                if attempt or not self.running:
                    raise
        self._give(conn)
        return parse_answer(path, resp.status, data)

    def _take(self) -> http.client.HTTPConnection:
        with self._conns_lock:
            if self._idle:
                return self._idle.pop()
        return self.connection()

    def _give(self, conn: http.client.HTTPConnection) -> None:
        with self._conns_lock:
            if self._proc is not None and len(self._idle) < MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()


def parse_answer(path: str, status: int, data: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(data) if data.strip() else {}
    except ValueError:
        answer = {"error": data.decode("utf-8", "replace")[:500]}
    if status != 200:
        raise RcloneCallError(str(answer.get("error", f"HTTP {status}")), status=status)
    return answer if isinstance(answer, dict) else {"answer": answer}

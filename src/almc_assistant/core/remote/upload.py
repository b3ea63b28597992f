"""One streaming upload through the daemon's ``operations/uploadfile``: a partial name.

Thread contract: an :class:`RcUpload` belongs to the one worker that writes it.

The request body is sent with chunked transfer encoding as the chunks of our single read
arrive; rclone hands the multipart body to the backend as a stream (``Rcat``), so the
source is never read again and nothing is spooled to a local temporary file for
backends that stream (SFTP, S3, WebDAV, SMB, Drive, OneDrive).
"""

from __future__ import annotations

import contextlib
import http.client
import secrets
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from almc_assistant.core.remote.faults import RemoteError, describe
from almc_assistant.core.remote.rcd import RcloneCallError, parse_answer

if TYPE_CHECKING:
    from almc_assistant.core.remote.rclone_backend import RcloneBackend

PARTIAL_SUFFIX = ".almc-partial"
# Backends that take an upload as a stream: rclone's buffering of small uploads in memory
# (for S3's single-part MD5, above all) is skipped for them (measured: a third of rclone's
# CPU for 2 MiB files over SFTP). Others may spool a stream to a local file first.
STREAMING = frozenset({"sftp"})


def partial_name(final_name: str) -> str:
    """A hidden name beside the final one, unique per upload: ``.NAME.<token>.almc-partial``."""
    return f".{final_name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}"


class RcUpload:
    def __init__(self, backend: RcloneBackend, relpath: str, size: int) -> None:
        self.backend = backend
        self.relpath = relpath
        self.size = size
        folder, _, name = relpath.rpartition("/")
        self.folder = folder
        self.partial = f"{folder}/{partial_name(name)}" if folder else partial_name(name)
        self.written = 0
        self._boundary = "almc-" + secrets.token_hex(16)
        self._conn: http.client.HTTPConnection | None = backend.daemon.connection()
        params = {"fs": backend.fs(""), "remote": folder}
        if backend.type in STREAMING:  # no buffering of small files in rclone
            params["_config"] = '{"StreamingUploadCutoff": 0}'
        query = urlencode(params)
        try:
            self._conn.putrequest("POST", "/operations/uploadfile?" + query)
            self._conn.putheader("Authorization", backend.daemon.authorization)
            self._conn.putheader("Content-Type", f"multipart/form-data; boundary={self._boundary}")
            self._conn.putheader("Transfer-Encoding", "chunked")
            self._conn.endheaders()
            leaf = self.partial.rpartition("/")[2]
            self._send(
                f'--{self._boundary}\r\nContent-Disposition: form-data; name="file"; '
                f"filename*=utf-8''{quote(leaf, safe='')}\r\n"
                "Content-Type: application/octet-stream\r\n\r\n".encode()
            )
        except OSError as exc:
            raise self._failed(exc) from exc

    def _send(self, data: bytes | memoryview) -> None:
        assert self._conn is not None
        self._conn.send(b"%x\r\n" % len(data))
        self._conn.send(data)
        self._conn.send(b"\r\n")

    def _failed(self, exc: BaseException) -> RemoteError:
        """The daemon's own answer when it has one (it stops reading on a server error)."""
        message = str(exc) or type(exc).__name__
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError, http.client.HTTPException):
                if conn.sock is not None:
                    conn.sock.settimeout(5)
                resp = conn.getresponse()
                parse_answer("operations/uploadfile", resp.status, resp.read())
            with contextlib.suppress(OSError):
                conn.close()
        if isinstance(exc, RcloneCallError):
            message = exc.detail
        if "ssh_fx_failure" in message.lower() or message.strip().lower() == "failure":
            free = self.backend.free_space()  # SFTP says only "Failure" for a full disk
            if free is not None and free < self.size:
                message += f"; no space left for {self.size} bytes: {free} bytes free"
        return self.backend.fault(f"upload {self.relpath}", message)

    def write(self, chunk: bytes | memoryview) -> None:
        if self._conn is None:
            raise describe(self.backend.label, f"upload {self.relpath}", "upload closed")
        if not len(chunk):
            return
        try:
            self._send(chunk)
        except OSError as exc:
            raise self._failed(exc) from exc
        self.written += len(chunk)

    def finish(self) -> None:
        """Send the end; rclone answers once the server has accepted (closed) the file."""
        if self._conn is None:
            raise describe(self.backend.label, f"upload {self.relpath}", "upload closed")
        conn = self._conn
        try:
            self._send(f"\r\n--{self._boundary}--\r\n".encode())
            conn.send(b"0\r\n\r\n")
            resp = conn.getresponse()
            parse_answer("operations/uploadfile", resp.status, resp.read())
        except (OSError, http.client.HTTPException, RcloneCallError) as exc:
            raise self._failed(exc) from exc
        self._conn = None
        conn.close()
        if self.written != self.size:  # the stored size is then checked by the proof
            raise describe(
                self.backend.label,
                f"upload {self.relpath}",
                f"{self.written} bytes were sent instead of the announced {self.size}",
            )

    def abort(self) -> None:
        """Drop the connection and remove the partial (best effort: a rerun removes it)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        self.backend.remove_partial(self.partial)

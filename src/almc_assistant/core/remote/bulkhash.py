"""Server-side hashes of many stored files in one SSH command (SFTP), instead of one each.

Thread contract: one :class:`BulkHasher` per backend, shared by the job's workers;
:meth:`BulkHasher.digest` may be called from any thread and blocks until that file's hash
is known. At most one bulk command runs at a time per backend: while it runs, the
requests of the other workers pile up and go together in the next one (a group commit,
no waiting for a batch to fill).

Why: rclone's SFTP backend runs one command per file on the server (``b3sum PATH`` over a
new SSH session: a process started on the server, a round trip or more). For thousands
of small files that cost is most of a copy's time. Measured here (loopback): 64 files of
2 MiB hashed one by one 6 ms each, 16 at a time 1 ms each.

How, with rclone alone (no SSH client of our own, the remote's own authentication): the
names to hash are stored in a small list file (NUL-separated, relative to the root) at
the remote root, and rclone is asked for the "hash" of that list through a connection
string whose hash command is a fixed POSIX ``sh`` script: it runs the configured hash
command (``b3sum``, or ``sha256sum``) over every listed file with ``xargs -0`` in the
root folder and prints the result in hex (rclone keeps only the first word of a hash
command's output, so the whole output must be one word). Its lines are parsed like a
manifest (``b3sum`` format) and matched by name: a name missing from the output (a file
gone, an error) is asked for alone, so every failure keeps its own message. The script
is constant (names never enter a command line) and the command is the one the probe
already checked; :func:`works` checks the bulk form on the probe file too, and bulk
hashing is not used where it does not give the same answer.

Only for an SFTP server with a Unix shell, a single-word hash command, and files up to
:data:`BULK_MAX_SIZE` (a large file is hashed alone: it would hold up the small ones).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from almc_assistant.core.remote.faults import RemoteError
from almc_assistant.core.remote.upload import RcUpload
from almc_assistant.core.transfer.manifest import parse_line

if TYPE_CHECKING:
    from almc_assistant.core.remote.rclone_backend import RcloneBackend

log = logging.getLogger(__name__)

BULK_MAX_FILES = 64
BULK_MAX_SIZE = 64 << 20
LIST_NAME = "almc-hashlist"

# $0: the hash command; $1: the list file's path on the server (appended by rclone),
# absolute or relative to the login folder. The list is opened, then removed (one call
# less), then the hash command runs in the list's folder, where the listed names start.
_SCRIPT = (
    'exec < "$1" && rm -f -- "$1" && cd -- "$(dirname -- "$1")"'
    ' && xargs -0 "$0" -- 2>/dev/null | od -An -v -tx1 | tr -d " \\n"'
)
MAX_IN_FLIGHT = 2  # bulk commands at once per backend
_ONE_WORD = re.compile(r"^[A-Za-z0-9_./+-]+$")


def bulk_command(command: str) -> str | None:
    """The bulk form of hash command ``command`` (``None`` when it is not one word)."""
    if not _ONE_WORD.match(command):
        return None
    return f"sh -c '{_SCRIPT}' {command}"


def parse_output(answer: str) -> dict[str, str]:
    """``relpath -> digest`` from the hex of the command's output."""
    try:
        text = bytes.fromhex(answer.strip()).decode("utf-8", "surrogateescape")
    except ValueError:
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        parsed = parse_line(line)
        if parsed is not None:
            out[parsed[1]] = parsed[0]
    return out


@dataclass(slots=True, eq=False)
class _Request:
    relpath: str
    done: bool = False
    digest: str = ""
    error: RemoteError | None = None


class BulkHasher:
    """Hashes stored files of ``backend`` with ``algorithm``, many per server command."""

    def __init__(
        self, backend: RcloneBackend, algorithm: str, fs: str, single: Callable[[str], str]
    ) -> None:
        """``fs``: the root as a connection string whose ``algorithm`` command is the
        bulk script; ``single``: hash one file the ordinary way (the fallback)."""
        self._backend = backend
        self.algorithm = algorithm
        self._fs = fs
        self._single = single
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[_Request] = []
        self._running = 0  # bulk commands running
        self.commands = 0  # bulk commands run (tests count them)

    def digest(self, relpath: str) -> str:
        """The server's hash of ``relpath`` ("" when it gave none)."""
        req = _Request(relpath)
        with self._cond:
            self._queue.append(req)
            while not req.done:
                if self._running >= MAX_IN_FLIGHT or not self._queue:
                    self._cond.wait()
                    continue
                self._running += 1
                batch = self._queue[:BULK_MAX_FILES]
                del self._queue[:BULK_MAX_FILES]
                self._cond.release()
                try:
                    self._run(batch)
                finally:
                    self._cond.acquire()
                    self._running -= 1
                    self._cond.notify_all()
        if req.error is not None:
            raise req.error
        return req.digest

    def _run(self, batch: list[_Request]) -> None:
        """Fill in every request of ``batch`` (never raises)."""
        try:
            found = self.hash_many([r.relpath for r in batch])
        except RemoteError as exc:
            for r in batch:
                r.error, r.done = exc, True
            return
        except BaseException as exc:  # an unexpected one: each file is asked alone below
            log.warning("%s: bulk hash failed: %r", self._backend.label, exc)
            found = {}
        for r in batch:
            if r.relpath in found:
                r.digest = found[r.relpath]
            else:
                try:
                    r.digest = self._single(r.relpath)
                except RemoteError as exc:
                    r.error = exc
            r.done = True

    def hash_many(self, relpaths: list[str]) -> dict[str, str]:
        """One server command over ``relpaths``: ``relpath -> digest`` of those it hashed."""
        if len(relpaths) == 1:
            return {relpaths[0]: self._single(relpaths[0])}
        self.commands += 1
        body = b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in relpaths)
        # stored under a hidden partial name at the root (a killed run's is removed with
        # the other stale partials)
        upload = RcUpload(self._backend, LIST_NAME, len(body))
        found: dict[str, str] = {}
        try:
            upload.write(body)
            upload.finish()
            answer = self._backend.call(
                "check the stored files",
                "operations/hashsumfile",
                fs=self._fs,
                remote=upload.partial,
                hashType=self.algorithm,
            )
            found = parse_output(str(answer.get("hash") or ""))
        finally:
            if not found:  # the script removes the list; it may not have run
                with contextlib.suppress(RemoteError):
                    self._backend.call(
                        "remove a list file",
                        "operations/deletefile",
                        fs=self._backend.fs(""),
                        remote=upload.partial,
                    )
        return found


def works(hasher: BulkHasher, probe: str, expected: str) -> bool:
    """Whether the bulk form gives ``expected`` for the probe file ``probe`` (twice listed,
    so that the command really runs in bulk)."""
    try:
        found = hasher.hash_many([probe, probe])
    except RemoteError as exc:
        log.info("bulk hashing not available: %s", exc.detail)
        return False
    return found.get(probe) == expected

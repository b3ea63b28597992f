"""The lock of one destination root, shared by every job, process and user writing there.

Thread contract: :func:`locked` may be used from any thread; it serialises the threads
of this process too (a per-root mutex), then takes the file lock.

Why a lock, and why only around the manifest: copies themselves never need one (each
partial has a unique name, and a final name is published without replacing anything:
:mod:`publish`, :mod:`landing`). What concurrent jobs can lose is manifest lines: two
jobs appending while a third rewrites the file sorted would drop the appends made in
between. So every append to the manifest, and its rewrite at the end of a job, happen
under an exclusive lock on ``DEST/.almc-lock``; the rewrite re-reads the manifest from
disk under the lock, so it keeps every other job's lines. The lock is held for one write
(microseconds), never while copying, so a big and a small job at one destination run at
full speed side by side.

The lock file is opened without following links and without blocking, and must be a
regular file: a link or FIFO planted at its name is refused with an error naming it.
POSIX: ``flock`` (NFS clients forward it to the server; sshfs and other FUSE mounts keep
it local to this machine: two machines writing one manifest through sshfs are not
serialised, see the README). Windows: ``LockFileEx`` on the file's first byte (not
``msvcrt.locking``: Wine's gives up after 10 ms and leaves ``errno`` at 0, so a busy lock
surfaced as "[Errno 0] Error"). Both are tried without blocking, with a short backoff,
for at most :data:`LOCK_WAIT_S`: a lock still held then (a copy hung on a dead network
share) or refused for another reason is a :class:`DestinationLockError` naming the file,
never a hang and never a bare error number.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from almc_assistant.core import filelock
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.transfer.faults import CopyError
from almc_assistant.core.transfer.naming import LOCK_NAME

LOCK_WAIT_S = 60.0  # each holder keeps it for one write; a minute means something is stuck

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_NOFOLLOW |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_mutexes: dict[str, threading.Lock] = {}
_mutexes_lock = threading.Lock()


def planted(path: Path, what: str) -> CopyError:
    """The error for a link or special file found where the engine writes its records
    (the destination is unusable for the job: nothing more is written there)."""
    return CopyError(
        f"{path} is not a regular file (a symbolic link, a folder or a special file is at "
        f"the name of {what}). Nothing was written through it.",
        title=f"Unexpected {path.name} at the destination",
        next_step="Ask whoever put it there, or the facility staff, to remove it; then "
        "copy again. (On a shared destination someone may be trying to redirect your "
        "copies.)",
        paths=(path,),
        destination_dead=True,
    )


class DestinationLockError(AlmcError, OSError):
    """The destination's lock could not be taken. An ``OSError`` too, so the manifest
    keeps its lines for the end of the job (its retry path), as for any write error."""

    title = "Destination is busy"


def lock_failed(path: Path, why: str) -> DestinationLockError:
    return DestinationLockError(
        f"The lock file {path} {why}, so the list of verified copies there (the manifest) "
        "was not updated yet. The copies themselves are not affected.",
        next_step="Check that no other copy to this destination is stuck (a program "
        "waiting on a network share that went away); then copy again: files already "
        "verified are not copied twice.",
        paths=(path,),
    )


def check_lock_file(root: Path) -> None:
    """Raise :func:`planted` if something other than a regular file has the lock's name
    (an early, clear refusal; :func:`locked` never follows a link anyway)."""
    try:
        st = (root / LOCK_NAME).lstat()
    except OSError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise planted(root / LOCK_NAME, "the destination's lock file")


def _mutex(root: Path) -> threading.Lock:
    with _mutexes_lock:
        return _mutexes.setdefault(str(root), threading.Lock())


def _open(path: Path) -> int:
    for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):
        try:
            fd = os.open(path, flags | _NOFOLLOW, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise planted(path, "the destination's lock file") from exc
            if exc.errno == errno.EACCES and flags != os.O_RDONLY:
                continue  # another user's lock file: reading is enough to lock it
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise planted(path, "the destination's lock file")
        return fd
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def locked(root: Path) -> Iterator[None]:
    """Hold ``root``'s lock (blocking until free). ``OSError``/``AlmcError`` propagate."""
    with _mutex(root):
        fd = _open(root / LOCK_NAME)
        try:
            _lock(fd, root / LOCK_NAME)
            try:
                yield
            finally:
                filelock.unlock(fd)
        finally:
            os.close(fd)


def _lock(fd: int, path: Path) -> None:
    """Take the lock, polling with a backoff (5 ms doubling to 50 ms) up to LOCK_WAIT_S."""
    try:
        filelock.wait(fd, path, LOCK_WAIT_S)
    except filelock.LockTimeout as exc:
        raise lock_failed(path, f"stayed locked by another copy for {LOCK_WAIT_S:g} s") from exc
    except OSError as exc:
        raise lock_failed(path, f"could not be locked ({_describe(exc)})") from exc


def _describe(exc: OSError) -> str:
    winerror = getattr(exc, "winerror", None)
    return f"Windows error {winerror}: {exc.strerror}" if winerror else str(exc)

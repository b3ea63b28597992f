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
serialised, see the README). Windows: ``msvcrt.locking`` on the file's first byte.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from almc_assistant.core.transfer.faults import CopyError
from almc_assistant.core.transfer.naming import LOCK_NAME

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
            _lock(fd)
            try:
                yield
            finally:
                _unlock(fd)
        finally:
            os.close(fd)


if os.name == "nt":  # pragma: no cover - Windows only
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]
                return
            except OSError as exc:  # LK_LOCK gives up after 10 s: keep waiting
                if exc.errno != errno.EDEADLK:
                    raise

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

"""The source side of one file's copy: open it safely, and prove it did not change.

Thread contract: pure functions on one file, callable from any worker. Used by both byte
movers (:mod:`streamed`, :mod:`grouped`) and the driver (:mod:`pipeline`).

"Unchanged" is :meth:`~almc_assistant.core.identity.FileIdentity.unchanged_since`: same
file (device and inode), same type, size, mtime **and ctime**. The "before" identity is
the ``fstat`` of the open handle the bytes are read from, taken right after opening; the
"after" identity is taken once every copy has been read back: the handle's ``fstat`` and
the name's ``lstat`` (the name must still reach that same file). An edit in the middle of
the copy that keeps the size and restores the mtime (``dd conv=notrunc`` then
``touch -d``) still moves the ctime, which no unprivileged call can set back, so such a
torn copy is never called verified.

Limit: the kernel stamps ctime from a coarse clock (one tick, a few milliseconds on
Linux before multigrain timestamps). An edit in the same tick as the change right before
the copy opened the file would keep the ctime; a file that old by less than a tick is
still being written, and its size or mtime betrays that in practice.

Failures are classified here: a source that was deleted, or swapped for a link or
another file, is final (reported at once, never retried).
"""

from __future__ import annotations

import errno
import os

from almc_assistant.core.identity import FileIdentity
from almc_assistant.core.transfer.faults import CopyError, from_os_error, source_changed
from almc_assistant.core.transfer.scan import FileTask

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_OPEN_FLAGS |= getattr(os, "O_BINARY", 0)


def source_error(exc: OSError, task: FileTask, action: str = "read") -> CopyError:
    """An ``OSError`` about the source: gone or swapped is final, the rest as classified."""
    if exc.errno == errno.ENOENT:
        return source_changed(task.source, "it was deleted or renamed")
    if exc.errno == errno.ELOOP:
        return source_changed(task.source, "it was replaced by a symbolic link")
    return from_os_error(exc, action=action, path=task.source, source=task.source)


def open_source(task: FileTask) -> tuple[int, FileIdentity]:
    """Open ``task``'s source without following a link or blocking (a FIFO swapped in).

    Returns the descriptor and the identity the bytes are read from. Raises
    :class:`CopyError` when it cannot be opened or is no longer what was listed.
    """
    try:
        fd = os.open(task.source, _OPEN_FLAGS)
    except OSError as exc:
        raise source_error(exc, task) from exc
    try:
        before = FileIdentity.of_fd(fd)
        listed = task.identity
        if not before.is_regular:
            raise source_changed(task.source, "it is no longer a regular file")
        if listed is not None and not before.same_file(listed):
            raise source_changed(task.source, "it was replaced by another file of the same name")
        if before.size != task.size or before.mtime_ns != task.mtime_ns:
            raise source_changed(task.source, "its size or modification time changed")
    except BaseException:
        os.close(fd)
        raise
    return fd, before


def check_unchanged(task: FileTask, before: FileIdentity, fd: int | None = None) -> None:
    """Raise :class:`CopyError` unless the source (its name, and ``fd`` if given) is
    unchanged since ``before``."""
    try:
        now = [FileIdentity.of_path(task.source)]
        if fd is not None:
            now.append(FileIdentity.of_fd(fd))
    except OSError as exc:
        raise source_error(exc, task) from exc
    for ident in now:
        if what := ident.change_from(before):
            raise source_changed(task.source, what)

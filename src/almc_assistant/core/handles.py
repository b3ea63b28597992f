"""Handle-based file access: walk, read and unlink without following links (for cleanup).

Thread contract: a :class:`Handles` holds open descriptors for one caller (one thread);
close it (``with``) when done. The functions are stateless.

A path names whatever is at it *now*: a folder swapped for a symlink between a check and
a use sends a path-based delete somewhere else. So cleanup never uses a path twice. It
opens the root it trusts (an acquisition folder, a configured destination: resolved once,
as configured), then each component below it with ``openat(parent, name,
O_NOFOLLOW | O_DIRECTORY)``: a symlink anywhere below the root fails the walk (ELOOP or
ENOTDIR), ``..``, ``.``, empty and absolute components are refused before any open. A file
is opened ``O_NOFOLLOW | O_NONBLOCK`` only after ``fstatat`` says it is a regular file
(a FIFO or a device is never opened, so never blocks), and ``fstat`` on the open handle
must say the same file. It is hashed through that handle, with its cached pages dropped
first (``transfer.cache.evict``, ``transfer.hashing.hash_fd``: read from storage). A
delete is ``unlinkat(parent_fd, name)`` relative to the folder still held open, after
``fstatat`` shows the name still is the same, unchanged file (``FileIdentity``).

Linux's ``openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`` would do the walk in one call;
the per-component ``openat`` walk gives the same guarantee on every POSIX system, so it is
the one used.

**Windows** (``core.winhandles.WinHandles``, same methods; :func:`open_handles` picks):
each component is opened by name with ``FILE_FLAG_OPEN_REPARSE_POINT`` and refused if it
is a reparse point (symlink, junction, cloud placeholder) or if
``GetFinalPathNameByHandleW`` puts it elsewhere; the folders are held without
``FILE_SHARE_DELETE`` (nothing can rename them), the file is held sharing reads only (no
writer, no rename), hashed through its handle, and deleted through that same handle
(``SetFileInformationByHandle``, ``FileDispositionInfo[Ex]``).
"""

from __future__ import annotations

import contextlib
import os
import stat as stat_mod
import sys
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Self

from almc_assistant.core.identity import FileIdentity

if TYPE_CHECKING:
    from almc_assistant.core.winhandles import WinHandles

_DIR_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_DIRECTORY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_FILE_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_BUFFER = 1 << 20


class Refused(Exception):
    """The walk or the check refused a path; ``str(exc)`` says why in plain words."""


def supported() -> bool:
    """Whether this platform has what the handle-based walk needs (POSIX ``*at`` calls,
    or Windows handles)."""
    if sys.platform == "win32":
        return True
    return (
        hasattr(os, "O_NOFOLLOW")
        and hasattr(os, "O_DIRECTORY")
        and os.open in os.supports_dir_fd
        and os.stat in os.supports_dir_fd
        and os.unlink in os.supports_dir_fd
    )


def components(relative: PurePath) -> list[str]:
    """The names of a relative path, refusing ``..``, ``.``, empty and absolute ones."""
    if relative.is_absolute() or relative.anchor:
        raise Refused(f"{relative} is not a path below the folder")
    parts = list(relative.parts)
    if not parts:
        raise Refused("the path names the folder itself, not a file in it")
    for part in parts:
        if part in ("", ".", "..") or "/" in part or "\0" in part:
            raise Refused(
                f"{relative} has a '{part}' component (refused: it could leave the folder)"
            )
    return parts


def relative_below(path: PurePath, root: PurePath) -> PurePath | None:
    """``path`` relative to ``root`` (textually, or below root's real location), or None.

    Textual only: the walk, not this, proves where the path really leads."""
    for base in (root, Path(os.path.realpath(root))):
        if path != base and base in path.parents:
            return path.relative_to(base)
    return None


def open_handles() -> Handles | WinHandles:
    """A fresh set of handles for one decision: POSIX descriptors or Windows handles."""
    if sys.platform == "win32":
        from almc_assistant.core.winhandles import WinHandles

        return WinHandles()
    return Handles()


class HeldDescriptors:
    """Descriptors opened for one cleanup decision, closed together (``with``)."""

    def __init__(self) -> None:
        self._fds: list[int] = []
        self.reached_root = False  # the last open_root succeeded (its folder is reachable)

    def keep(self, fd: int) -> int:
        self._fds.append(fd)
        return fd

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        while self._fds:
            with contextlib.suppress(OSError):
                os.close(self._fds.pop())


class Handles(HeldDescriptors):
    """The POSIX walk: ``openat`` relative to descriptors held open."""

    def open_root(self, root: PurePath) -> tuple[int, os.stat_result]:
        """Open a trusted folder (its own path resolved, as configured)."""
        self.reached_root = False
        real = os.path.realpath(root)
        try:
            fd = self.keep(os.open(real, _DIR_FLAGS))
        except OSError as exc:
            raise Refused(f"cannot open the folder {root} ({exc.strerror})") from exc
        self.reached_root = True
        return fd, os.fstat(fd)

    def walk(self, root_fd: int, names: Sequence[str]) -> list[tuple[int, os.stat_result]]:
        """Open each folder of ``names`` below ``root_fd``, never following a link.

        Returns each folder's descriptor and ``fstat`` (the last is the parent)."""
        chain: list[tuple[int, os.stat_result]] = []
        fd = root_fd
        for name in names:
            try:
                fd = self.keep(os.open(name, _DIR_FLAGS, dir_fd=fd))
            except OSError as exc:
                raise Refused(_walk_error(name, exc)) from exc
            chain.append((fd, os.fstat(fd)))
        return chain

    def open_regular(
        self, parent_fd: int, name: str, *, for_delete: bool = False
    ) -> tuple[int, FileIdentity]:
        """Open a regular file in ``parent_fd`` for reading; anything else is refused
        before it is opened (a FIFO never blocks, a device is never touched).
        (``for_delete`` matters on Windows only: a name is deleted relative to its folder.)"""
        try:
            before = FileIdentity.of(os.stat(name, dir_fd=parent_fd, follow_symlinks=False))
        except OSError as exc:
            raise Refused(_walk_error(name, exc)) from exc
        if not before.is_regular:
            raise Refused(f"'{name}' is {_kind(before.mode)}, not a regular file")
        try:
            fd = self.keep(os.open(name, _FILE_FLAGS, dir_fd=parent_fd))
        except OSError as exc:
            raise Refused(_walk_error(name, exc)) from exc
        ident = FileIdentity.of_fd(fd)
        if not ident.is_regular or not ident.same_file(before):
            raise Refused(f"'{name}' was replaced while it was being opened")
        return fd, ident

    def hash_open(self, fd: int) -> tuple[str, int]:
        return hash_open(fd)

    def still_there(self, parent_fd: int, name: str, expected: FileIdentity) -> str:
        return still_there(parent_fd, name, expected)

    def unlink(self, parent_fd: int, name: str, fd: int) -> None:
        """Remove ``name`` from the folder held open as ``parent_fd`` (``fd``: the file's
        own descriptor, which Windows deletes through)."""
        unlink_at(parent_fd, name)


def hash_open(fd: int) -> tuple[str, int]:
    """BLAKE3 and size of an open regular file, read from storage (cache dropped first)."""
    # Imported here: the copy engine's package is heavy, and the CLI starts without it.
    from almc_assistant.core.transfer import cache
    from almc_assistant.core.transfer.hashing import hash_fd

    os.lseek(fd, 0, os.SEEK_SET)
    cache.evict(fd)
    cache.sequential(fd)
    return hash_fd(fd, bytearray(_BUFFER))


def still_there(parent_fd: int, name: str, expected: FileIdentity) -> str:
    """Why ``name`` in ``parent_fd`` is no longer ``expected``, unchanged ("" if it is)."""
    try:
        now = FileIdentity.of(os.stat(name, dir_fd=parent_fd, follow_symlinks=False))
    except OSError as exc:
        return f"it can no longer be found ({exc.strerror})"
    return now.change_from(expected)


def unlink_at(parent_fd: int, name: str) -> None:
    """Remove ``name`` from the folder held open as ``parent_fd``."""
    os.unlink(name, dir_fd=parent_fd)


def _walk_error(name: str, exc: OSError) -> str:
    import errno

    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        return f"'{name}' is a link or not a folder (links are never followed)"
    if exc.errno == errno.ENOENT:
        return f"'{name}' is missing"
    return f"cannot open '{name}' ({exc.strerror})"


def _kind(mode: int) -> str:
    for test, word in (
        (stat_mod.S_ISLNK, "a symbolic link"),
        (stat_mod.S_ISFIFO, "a named pipe (FIFO)"),
        (stat_mod.S_ISDIR, "a folder"),
        (stat_mod.S_ISCHR, "a device"),
        (stat_mod.S_ISBLK, "a device"),
        (stat_mod.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return word
    return "not a regular file"

"""Files and folders only their owner may read: the user's catalog, markers and logs.

Thread contract: plain functions, safe from any thread (they keep no state).

On a shared workstation another user must never be able to read, replace or redirect
what one user's app writes. So every folder of a user's state is 0700 and every file
0600; names are created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` (never through a link a
neighbour planted), ownership is checked with ``fstat`` on the opened descriptor, and
modes are tightened with ``fchmod`` on that descriptor, never by path. A name that is a
link, a FIFO or belongs to someone else is refused with :class:`UnsafeStateError`, which
names it and says what to do, instead of being opened (a FIFO would block the open).

On Windows the per-user folders (``%LOCALAPPDATA%``) carry the user-only ACL the system
gives them; the POSIX ownership checks are skipped there.
"""

from __future__ import annotations

import logging.handlers
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from almc_assistant.core.errors import AlmcError

POSIX = os.name == "posix"
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_PATH = getattr(os, "O_PATH", 0)  # Linux


class UnsafeStateError(AlmcError):
    """A state file or folder is a link, not a regular file, or belongs to someone else."""

    title = "State file refused"


def refuse(path: Path, what: str, next_step: str = "") -> UnsafeStateError:
    return UnsafeStateError(
        f"{path} {what}; almc-assistant does not open it, so that no other account can "
        "read or redirect your records.",
        next_step=next_step
        or "Remove it (or ask staff to), then start almc-assistant again; your files are "
        "found again by the next scan.",
        paths=(path,),
    )


def _owner_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"


def check_owned(path: Path, st: os.stat_result, *, uid: int | None = None) -> None:
    """Raise unless ``st`` (of ``path``) belongs to ``uid`` (default: this process)."""
    if not POSIX:
        return
    want = os.geteuid() if uid is None else uid
    if st.st_uid != want:
        raise refuse(path, f"belongs to {_owner_name(st.st_uid)}, not {_owner_name(want)}")


def open_dir(path: Path) -> int:
    """A descriptor on folder ``path`` itself (never through a link as last component).

    A folder we may enter but not list (a ``1733`` shared state folder) is opened with
    ``O_PATH`` where the system has it: enough to stat it and to work below it."""
    flags = _DIRECTORY | NOFOLLOW | _CLOEXEC
    try:
        try:
            return os.open(path, os.O_RDONLY | flags)
        except PermissionError:
            if not _PATH:
                raise
            return os.open(path, _PATH | flags)
    except OSError as exc:
        if path.is_symlink():
            raise refuse(path, "is a symbolic link where a folder was expected") from exc
        raise


def ensure_private_dir(path: Path) -> None:
    """Make ``path`` a folder of this user with mode 0700 (created if missing).

    Parents are created as usual (the user's home already protects them); the folder
    itself must be this user's, not a link, and is tightened to 0700 through its
    descriptor when it was more open.
    """
    if not POSIX:
        path.mkdir(parents=True, exist_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(0o700)
    except FileExistsError:
        pass
    fd = open_dir(path)
    try:
        st = os.fstat(fd)
        check_owned(path, st)
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.fchmod(fd, 0o700)
    finally:
        os.close(fd)


def check_entry(dir_fd: int, folder: Path, name: str, *, create: bool = False) -> bool:
    """Check ``folder/name`` (``dir_fd`` open on ``folder``) is this user's regular file.

    Returns whether it exists (after creating it empty with mode 0600 when ``create``).
    A link, a FIFO or another non-regular file, or someone else's file raises
    :class:`UnsafeStateError`; a file readable by others is made 0600.
    """
    path = folder / name
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        if not create:
            return False
        try:
            fd = os.open(
                name,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | _CLOEXEC,
                0o600,
                dir_fd=dir_fd,
            )
        except FileExistsError:  # raced by ourselves (another thread): check it again
            return check_entry(dir_fd, folder, name)
        os.close(fd)
        return True
    if stat.S_ISLNK(st.st_mode):
        raise refuse(path, "is a symbolic link")
    if not stat.S_ISREG(st.st_mode):
        raise refuse(path, "is not a regular file (a FIFO, device or folder)")
    check_owned(path, st)
    if stat.S_IMODE(st.st_mode) & 0o077:
        fd = os.open(name, os.O_RDONLY | NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=dir_fd)
        try:
            again = os.fstat(fd)
            if (again.st_dev, again.st_ino) == (st.st_dev, st.st_ino):
                os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
    return True


def check_private_files(folder: Path, names: tuple[str, ...], *, create: str = "") -> None:
    """:func:`check_entry` for each name in ``folder`` (POSIX; nothing on Windows)."""
    if not POSIX:
        return
    fd = open_dir(folder)
    try:
        for name in names:
            check_entry(fd, folder, name, create=name == create)
    finally:
        os.close(fd)


def _refusal_or(exc: OSError, path: Path) -> Exception:
    """Why opening ``path`` failed: a link or a non-regular file is a refusal naming it
    (ELOOP, or ENXIO for a FIFO nobody reads); anything else stays the ``OSError``."""
    try:
        st = path.lstat()
    except OSError:
        return exc
    if stat.S_ISLNK(st.st_mode):
        return refuse(path, "is a symbolic link")
    if not stat.S_ISREG(st.st_mode):
        return refuse(path, "is not a regular file (a FIFO, device or folder)")
    return exc


def _open_regular(path: Path, flags: int, *, uid: int | None) -> tuple[int, os.stat_result]:
    """``path`` opened with ``flags`` (never through a link, never waiting on a FIFO),
    checked on the descriptor to be a regular file of ``uid`` (default: ours)."""
    try:
        fd = os.open(path, flags | NOFOLLOW | _NONBLOCK | _CLOEXEC, 0o600)
    except OSError as exc:
        raise _refusal_or(exc, path) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise refuse(path, "is not a regular file")
        check_owned(path, st, uid=uid)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def open_private_append(path: Path) -> IO[str]:
    """``path`` opened for appending text, created 0600, never through a link.

    For logs and the audit log: refuses a link, a non-regular file, or a file of
    another user (:class:`UnsafeStateError`); makes an existing file 0600.
    """
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    fd, st = _open_regular(path, flags, uid=None)
    try:
        if POSIX and stat.S_IMODE(st.st_mode) & 0o077:
            os.fchmod(fd, 0o600)
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return open(fd, "a", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def read_foreign(path: Path, *, uid: int, max_bytes: int) -> Iterator[IO[bytes]]:
    """Open another user's state file for reading, as staff: never through a link, never
    blocking on a FIFO, only a regular file owned by ``uid`` and at most ``max_bytes``."""
    fd, st = _open_regular(path, os.O_RDONLY, uid=uid)
    try:
        if st.st_size > max_bytes:
            raise refuse(path, f"is larger than {max_bytes} bytes")
    except BaseException:
        os.close(fd)
        raise
    with open(fd, "rb") as fh:
        yield fh


def is_root() -> bool:
    """Root (POSIX): the only account that may read every user's private catalog."""
    return POSIX and os.geteuid() == 0


def is_superuser() -> bool:
    """Root (POSIX), or on Windows a process running as an *elevated* administrator
    (its token holds BUILTIN\\Administrators enabled: ``CheckTokenMembership``; an
    administrator's UAC-filtered token is not): the accounts whose catalog speaks for
    every user's files (``core.evidence``). Any doubt answers False."""
    if sys.platform == "win32":  # pragma: no cover - Windows only (the Windows lane runs it)
        from almc_assistant.core import winacl

        try:
            return winacl.is_elevated_admin()
        except OSError:
            return False
    return is_root()


def is_staff(staff_group: str = "") -> bool:
    """Root, an elevated Windows administrator, or a member of the facility's staff group."""
    if sys.platform == "win32":
        return is_superuser()
    if os.geteuid() == 0:
        return True
    if not staff_group:
        return False
    try:
        import grp

        gid = grp.getgrnam(staff_group).gr_gid
    except (ImportError, KeyError):
        return False
    return gid in os.getgroups() or gid == os.getegid()


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files are created 0600 and never opened through a link
    (file names in a log are as private as the catalog)."""

    def _open(self) -> IO[str]:  # type: ignore[override]
        return open_private_append(Path(self.baseFilename))

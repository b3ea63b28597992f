"""Where each user's catalog lives, and how staff find every user's catalog.

Thread contract: plain functions (they stat and create folders); call them from any
thread, off the GUI thread.

Every user's catalog is private to that user. Without ``shared_state_dir`` it is in the
user's own state folder. With it, the facility's folder holds one subfolder per user,
named by the numeric uid and owned by that uid with mode 0700, so that staff's cleanup
finds all catalogs in one place while no user can read, replace or add to another's:

- ``shared_state_dir`` itself is created by staff, never by the app, and must belong to
  root (or to the user running, for a one-user test setup); if other users may write to
  it, it must have the sticky bit (``1733`` or ``1777``) so nobody can rename or delete
  another user's subfolder. Otherwise it is refused and the user's catalog stays in their
  own folder, with a note saying why (the app never stops for it).
- ``<uid>/`` is created by the user (mode 0700) when the folder lets them, or by staff
  beforehand (``install -d -o ann -m 0700``). A subfolder named after a uid but owned by
  someone else (a neighbour took the name first) is refused with a message naming it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core import privatefs
from almc_assistant.core.privatefs import UnsafeStateError, refuse

CATALOG_NAME = "catalog.sqlite3"


@dataclass(frozen=True, slots=True)
class CatalogPlace:
    """Where this user's catalog is, and why it is not where the facility asked if so."""

    path: Path
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UserFolder:
    """One user's subfolder of the facility's shared state folder (as staff see it)."""

    uid: int
    name: str
    folder: Path

    @property
    def catalog(self) -> Path:
        return self.folder / CATALOG_NAME


def _euid() -> int:
    return os.geteuid() if privatefs.POSIX else -1


def user_catalog(shared_state_dir: Path | None, private: Path) -> CatalogPlace:
    """This user's catalog: in ``shared_state_dir/<uid>/`` when the facility keeps one
    and it is sound, else ``private`` (with a note saying why)."""
    if shared_state_dir is None:
        return CatalogPlace(private)
    try:
        folder = own_folder(shared_state_dir)
    except (UnsafeStateError, OSError) as exc:
        if isinstance(exc, UnsafeStateError):
            why, ask = exc.detail, f"Tell staff: {exc.next_step.removeprefix('Staff: ')}"
        else:
            why, ask = _words(exc, shared_state_dir), "Tell staff."
        note = (
            f"The facility's shared state folder cannot hold your catalog: {why} Your "
            f"catalog is kept in your own folder {private.parent} instead, where staff's "
            f"cleanup does not see it (so it keeps your files). {ask}"
        )
        return CatalogPlace(private, (note,))
    return CatalogPlace(folder / CATALOG_NAME)


def _words(exc: OSError, path: Path) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"{path} does not exist (staff create it; the app never does)."
    return f"{exc.filename or path}: {exc.strerror}."


def open_shared_root(root: Path) -> int:
    """A descriptor on ``shared_state_dir`` after checking who owns it and who may write.

    Raises :class:`UnsafeStateError` (or ``OSError``, e.g. when it does not exist)."""
    fd = privatefs.open_dir(root)
    try:
        if privatefs.POSIX:
            st = os.fstat(fd)
            if st.st_uid not in (0, _euid()):
                raise refuse(
                    root,
                    f"belongs to {_name(st.st_uid)} (a user), not to root",
                    "Staff: make it root's (chown root), mode 1733 or 0755.",
                )
            if stat.S_IMODE(st.st_mode) & 0o022 and not st.st_mode & stat.S_ISVTX:
                raise refuse(
                    root,
                    "may be written by other users without the sticky bit",
                    "Staff: chmod 1733 (or 0755 and create each user's folder).",
                )
    except BaseException:
        os.close(fd)
        raise
    return fd


def own_folder(root: Path) -> Path:
    """This user's subfolder of ``root`` (created 0700 when missing and allowed)."""
    if not privatefs.POSIX:  # Windows: the installer's ACLs guard ProgramData
        from almc_assistant.core.session import current_user

        folder = root / current_user()
        privatefs.ensure_private_dir(folder)
        return folder
    uid = _euid()
    fd = open_shared_root(root)
    try:
        name = str(uid)
        try:
            os.mkdir(name, 0o700, dir_fd=fd)
        except FileExistsError:
            pass
        except PermissionError as exc:
            raise refuse(
                root / name,
                "does not exist and you may not create it",
                f"Staff: create it for this user: install -d -o {_name(uid)} -m 0700 {root / name}",
            ) from exc
        _check_user_folder(fd, root, name, uid)
    finally:
        os.close(fd)
    folder = root / name
    privatefs.ensure_private_dir(folder)
    return folder


def _check_user_folder(root_fd: int, root: Path, name: str, uid: int) -> None:
    path = root / name
    st = os.stat(name, dir_fd=root_fd, follow_symlinks=False)
    if stat.S_ISLNK(st.st_mode):
        raise refuse(path, "is a symbolic link, not a folder", _remove(path))
    if not stat.S_ISDIR(st.st_mode):
        raise refuse(path, "is not a folder", _remove(path))
    if st.st_uid != uid:
        raise refuse(
            path,
            f"is named after uid {uid} ({_name(uid)}) but belongs to {_name(st.st_uid)}",
            _remove(path),
        )


def _remove(path: Path) -> str:
    return f"Staff: remove {path} (it is not the user's); it is made again at the next start."


def user_folders(root: Path) -> tuple[list[UserFolder], list[str]]:
    """Staff: every sound per-user folder of ``root``, and a message per refused one.

    A folder is sound when it is named by a uid, is a real folder owned by that uid, and
    no one else may write to it."""
    found: list[UserFolder] = []
    problems: list[str] = []
    fd = open_shared_root(root)
    try:
        names = sorted(os.listdir(fd))  # noqa: PTH208 - by descriptor, not path
        for name in names:
            if not name.isdigit():
                continue
            uid = int(name)
            try:
                _check_user_folder(fd, root, name, uid)
                mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
                if stat.S_IMODE(mode) & 0o022:
                    raise refuse(root / name, "may be written by other users", _remove(root / name))
            except UnsafeStateError as exc:
                problems.append(exc.detail + " " + exc.next_step)
                continue
            found.append(UserFolder(uid, _name(uid), root / name))
    finally:
        os.close(fd)
    return found, problems


def _name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid-{uid}"

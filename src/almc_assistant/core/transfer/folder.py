"""A folder at a destination, held open so that every name in it is reached without
following a link again: the engine's writes happen *beneath* the destination root.

Thread contract: a :class:`Folder` belongs to the worker that opened it (or to one group
of the grouped path); it is closed by its owner. Its methods are plain system calls.

:meth:`Folder.walk` opens the root by its path (the root itself may be a link the user
configured), checks it is still on the device it was on when the job started, then opens
each folder below it with ``openat(O_DIRECTORY | O_NOFOLLOW)``, creating it first when
missing (``mkdirat``). A link, a file or anything but a folder at a folder's name stops
the walk (:class:`Planted`), and so does a folder another user owns (:class:`Foreign`),
for an unprivileged process. Every later call (create a partial, read it back, rename
it, link it, read a file found there, remove a partial, ``fsync``) is relative to the
descriptor, so a folder renamed or swapped for a link after the walk cannot redirect
them. Where descriptors of folders cannot be used this way (Windows), the same calls go
by path, after the same checks by path.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

_DIR_FDS = os.open in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class Gone(Exception):
    """The destination root is missing or on another device than at the start."""


class Planted(Exception):
    """Something other than a folder is at the name of a folder of the copy."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path


class Foreign(Exception):
    """An existing folder of the copy belongs to another (non-root) user."""

    def __init__(self, path: Path, uid: int) -> None:
        super().__init__(str(path))
        self.path = path
        self.uid = uid


def _someone_elses(st: os.stat_result) -> bool:
    if not hasattr(os, "geteuid") or os.geteuid() == 0:
        return False
    return st.st_uid not in (os.geteuid(), 0)


class Folder:
    """An open folder (``fd``) at ``path``; ``fd`` is ``None`` where only paths work."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self.fd = fd
        self.created: list[Path] = []  # folders this walk made
        self.device: int | None = None  # st_dev of the destination, when walked from it
        # where this folder's partials are written, when not in it (a share: staging)
        self.staging: Folder | None = None

    # -- opening
    @classmethod
    def walk(cls, root: Path, device: int, parts: list[str]) -> Folder:
        """Open ``root/parts...`` as described in the module docstring."""
        if not _DIR_FDS:  # pragma: no cover - Windows
            return cls._walk_by_path(root, device, parts)
        try:
            fd = os.open(root, os.O_RDONLY | _DIRECTORY)
        except OSError as exc:
            raise Gone() from exc
        folder = cls(root, fd)
        folder.device = device
        try:
            if os.fstat(fd).st_dev != device:
                raise Gone()
            for part in parts:
                folder._step(part)
        except BaseException:
            folder.close()
            raise
        return folder

    def _step(self, name: str) -> None:
        assert self.fd is not None
        path = self.path / name
        made = False
        flags = os.O_RDONLY | _DIRECTORY | _NOFOLLOW
        try:
            try:  # opened first: a mkdir of an existing folder holds its parent's lock
                fd = os.open(name, flags, dir_fd=self.fd)  # for a round trip on a share
            except FileNotFoundError:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o777, dir_fd=self.fd)
                    made = True
                fd = os.open(name, flags, dir_fd=self.fd)
        except OSError as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise Planted(path) from exc  # ELOOP (a link), ENOTDIR (a file)
        st = os.fstat(fd)
        if not stat.S_ISDIR(st.st_mode):
            os.close(fd)
            raise Planted(path)
        if not made and _someone_elses(st):
            os.close(fd)
            raise Foreign(path, st.st_uid)
        os.close(self.fd)
        self.fd, self.path = fd, path
        if made:
            self.created.append(path)

    @classmethod
    def _walk_by_path(
        cls, root: Path, device: int, parts: list[str]
    ) -> Folder:  # pragma: no cover - Windows
        try:
            if root.stat().st_dev != device:
                raise Gone()
        except OSError as exc:
            raise Gone() from exc
        current = root
        folder = cls(root, None)
        folder.device = device
        for part in parts:
            current = current / part
            made = False
            with contextlib.suppress(FileExistsError):
                current.mkdir()
                made = True
            if not stat.S_ISDIR(current.lstat().st_mode):
                raise Planted(current)
            if made:
                folder.created.append(current)
        folder.path = current
        return folder

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def home(self) -> Folder:
        """The folder where this folder's partials are written: its staging folder on a
        share, else itself."""
        return self.staging if self.staging is not None else self

    # -- calls relative to the folder
    def open(self, name: str, flags: int, mode: int = 0o644) -> int:
        if self.fd is None:  # pragma: no cover - Windows
            return os.open(self.path / name, flags, mode)
        return os.open(name, flags, mode, dir_fd=self.fd)

    def unlink(self, name: str) -> None:
        if self.fd is None:  # pragma: no cover - Windows
            (self.path / name).unlink()
        else:
            os.unlink(name, dir_fd=self.fd)

    def lstat(self, name: str) -> os.stat_result:
        if self.fd is None:  # pragma: no cover - Windows
            return (self.path / name).lstat()
        return os.stat(name, dir_fd=self.fd, follow_symlinks=False)

    def link(self, src: str, dst: str) -> None:
        if self.fd is None:  # pragma: no cover - Windows
            os.link(self.path / src, self.path / dst)
        else:
            os.link(src, dst, src_dir_fd=self.fd, dst_dir_fd=self.fd, follow_symlinks=False)

    def link_from(self, source: Folder, src: str, dst: str) -> None:
        """Link ``src`` of the folder ``source`` to ``dst`` here (fails if ``dst`` exists)."""
        assert self.fd is not None and source.fd is not None
        os.link(src, dst, src_dir_fd=source.fd, dst_dir_fd=self.fd, follow_symlinks=False)

    def replace_from(self, source: Folder, src: str, dst: str) -> None:
        assert self.fd is not None and source.fd is not None
        os.replace(src, dst, src_dir_fd=source.fd, dst_dir_fd=self.fd)

    def replace(self, src: str, dst: str) -> None:
        if self.fd is None:  # pragma: no cover - Windows
            (self.path / src).replace(self.path / dst)
        else:
            os.replace(src, dst, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def utime(self, name: str, ns: tuple[int, int]) -> None:
        if self.fd is None:  # pragma: no cover - Windows
            os.utime(self.path / name, ns=ns)
        else:
            os.utime(name, ns=ns, dir_fd=self.fd, follow_symlinks=False)

    def names(self) -> list[str]:
        if self.fd is None:  # pragma: no cover - Windows
            return os.listdir(self.path)  # noqa: PTH208
        return os.listdir(self.fd)  # noqa: PTH208

    def still_at_path(self) -> bool:
        """The open folder is still the one its path names (not moved, not swapped for a
        link since the walk): checked right before a copy gets its final name."""
        if self.fd is None:  # pragma: no cover - Windows
            return True
        try:
            named = self.path.lstat()
        except OSError:
            return False
        held = os.fstat(self.fd)
        return stat.S_ISDIR(named.st_mode) and (named.st_dev, named.st_ino) == (
            held.st_dev,
            held.st_ino,
        )

    def fsync(self) -> None:
        """Make renames in this folder durable."""
        if self.fd is not None:
            os.fsync(self.fd)

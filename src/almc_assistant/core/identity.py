"""File identity: "the same file" and "unchanged" as the storage sees them, not by path.

Thread contract: immutable values and pure functions, safe anywhere.

A path names whatever is at it now; a symlink, a rename or an in-place edit with the
modification time restored all keep a path looking the same. :class:`FileIdentity`
captures what a ``stat`` (or ``fstat`` on an open handle) says about one file: the
device and file number (inode on POSIX, the volume serial number and file index on
Windows), its type, owner, size, modification time and status-change time (ctime: any
write or metadata change moves it, and no unprivileged call can set it back).

On Windows ``st_ctime`` is the *creation* time, which an edit never moves; there the
change time is NTFS's ``ChangeTime``, read through a handle (:mod:`core.wininfo`), with
the volume serial, file index, size and mtime from the same handle. So on Windows give
:meth:`FileIdentity.of` the path the ``stat`` came from (or use :meth:`of_path` /
:meth:`of_fd`): an identity made from a bare ``stat_result`` there carries the creation
time, which only ever makes a file look changed (a re-hash), never unchanged.

- :meth:`FileIdentity.same_file`: two names (or handles) reach one file.
- :meth:`FileIdentity.unchanged_since`: nothing about the file changed in between; the
  test "unchanged" means everywhere (copy, cleanup): size, mtime, ctime and identity.
"""

from __future__ import annotations

import os
import stat as stat_mod
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from almc_assistant.core import wininfo

_WINDOWS = sys.platform == "win32"


def entry_stat(entry: os.DirEntry[str]) -> os.stat_result:
    """``entry.stat(follow_symlinks=False)`` with the file number: on Windows a
    ``DirEntry``'s stat has ``st_ino`` and ``st_dev`` 0, which :meth:`FileIdentity.same_file`
    must read as "unknown" (so every file would look like every other); ``os.lstat``
    fills them."""
    st = entry.stat(follow_symlinks=False)
    return os.lstat(entry.path) if st.st_ino == 0 else st


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """What one ``stat`` result says about a file, for comparisons."""

    dev: int
    ino: int
    mode: int
    uid: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(
        cls,
        st: os.stat_result,
        path: str | os.PathLike[str] | None = None,
        *,
        follow_symlinks: bool = False,
    ) -> FileIdentity:
        """The identity ``st`` describes; on Windows, with ``path`` (where ``st`` was
        taken, links followed as for ``st``), the change time read through a handle."""
        ident = cls(
            dev=st.st_dev,
            ino=st.st_ino,
            mode=st.st_mode,
            uid=getattr(st, "st_uid", 0),
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            ctime_ns=st.st_ctime_ns,
        )
        if _WINDOWS and path is not None:  # pragma: no cover - tested by the Windows lane
            from almc_assistant.core import wininfo

            return ident._with(wininfo.identity_of_path(path, follow_links=follow_symlinks))
        return ident

    @classmethod
    def of_fd(cls, fd: int) -> FileIdentity:
        ident = cls.of(os.fstat(fd))
        if _WINDOWS:  # pragma: no cover - tested by the Windows lane
            from almc_assistant.core import wininfo

            return ident._with(wininfo.identity_of_handle(wininfo.handle_of_fd(fd)))
        return ident

    @classmethod
    def of_path(
        cls, path: str | os.PathLike[str], *, follow_symlinks: bool = False
    ) -> FileIdentity:
        """The identity of what is at ``path`` (the link itself unless ``follow_symlinks``)."""
        st = Path(path).stat(follow_symlinks=follow_symlinks)
        return cls.of(st, path, follow_symlinks=follow_symlinks)

    def _with(self, info: wininfo.HandleInfo) -> FileIdentity:  # pragma: no cover - Windows
        """This identity with what a Windows handle says (change time, not creation)."""
        return replace(
            self,
            dev=info.volume_serial,
            ino=info.file_index,
            size=self.size if self.is_dir else info.size,
            mtime_ns=info.mtime_ns,
            ctime_ns=info.change_ns,
        )

    @property
    def is_regular(self) -> bool:
        return stat_mod.S_ISREG(self.mode)

    @property
    def is_dir(self) -> bool:
        return stat_mod.S_ISDIR(self.mode)

    @property
    def is_link(self) -> bool:
        return stat_mod.S_ISLNK(self.mode)

    @property
    def known(self) -> bool:
        """Whether the platform gave a real file number (some network file systems and
        old Windows Pythons give 0): without one, :meth:`same_file` cannot say "no"."""
        return self.ino != 0

    def same_file(self, other: FileIdentity) -> bool:
        """Both describe one file (same device and file number).

        When either file number is unknown (0), the answer is True: callers use this to
        refuse ("a copy must not be its own source"), so not knowing must refuse too.
        """
        if not (self.known and other.known):
            return True
        return (self.dev, self.ino) == (other.dev, other.ino)

    def unchanged_since(self, before: FileIdentity) -> bool:
        """Same file, same type, owner, size, modification time and status-change time.

        An edit that keeps the size and restores the mtime (``touch -d``) still moves
        the ctime; a file replaced under the same name has another file number.
        """
        return (
            self.same_file(before)
            and stat_mod.S_IFMT(self.mode) == stat_mod.S_IFMT(before.mode)
            and self.uid == before.uid
            and self.size == before.size
            and self.mtime_ns == before.mtime_ns
            and self.ctime_ns == before.ctime_ns
        )

    def change_from(self, before: FileIdentity) -> str:
        """What changed since ``before``, in plain words ("" when nothing did)."""
        if not self.same_file(before):
            return "it was replaced by another file of the same name"
        if stat_mod.S_IFMT(self.mode) != stat_mod.S_IFMT(before.mode):
            return "it is no longer the same kind of file"
        if self.uid != before.uid:
            return f"its owner changed (uid {before.uid} -> {self.uid})"
        if self.size != before.size:
            return f"its size changed ({before.size} -> {self.size} bytes)"
        if self.mtime_ns != before.mtime_ns:
            return "it was modified"
        if self.ctime_ns != before.ctime_ns:
            return "it was written to or its attributes changed (its modification time was kept)"
        return ""

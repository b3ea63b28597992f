"""File identity: "the same file" and "unchanged" as the storage sees them, not by path.

Thread contract: immutable values and pure functions, safe anywhere.

A path names whatever is at it now; a symlink, a rename or an in-place edit with the
modification time restored all keep a path looking the same. :class:`FileIdentity`
captures what a ``stat`` (or ``fstat`` on an open handle) says about one file: the
device and file number (inode on POSIX, the volume serial number and file index on
Windows), its type, owner, size, modification time and status-change time (ctime: any
write or metadata change moves it, and no unprivileged call can set it back).

- :meth:`FileIdentity.same_file`: two names (or handles) reach one file.
- :meth:`FileIdentity.unchanged_since`: nothing about the file changed in between; the
  test "unchanged" means everywhere (copy, cleanup): size, mtime, ctime and identity.
"""

from __future__ import annotations

import os
import stat as stat_mod
from dataclasses import dataclass
from pathlib import Path


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
    def of(cls, st: os.stat_result) -> FileIdentity:
        return cls(
            dev=st.st_dev,
            ino=st.st_ino,
            mode=st.st_mode,
            uid=getattr(st, "st_uid", 0),
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            ctime_ns=st.st_ctime_ns,
        )

    @classmethod
    def of_fd(cls, fd: int) -> FileIdentity:
        return cls.of(os.fstat(fd))

    @classmethod
    def of_path(
        cls, path: str | os.PathLike[str], *, follow_symlinks: bool = False
    ) -> FileIdentity:
        """The identity of what is at ``path`` (the link itself unless ``follow_symlinks``)."""
        return cls.of(Path(path).stat(follow_symlinks=follow_symlinks))

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

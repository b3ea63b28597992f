"""Windows: cleanup's checked walk, read and delete through handles (see ``core.handles``).

Thread contract: a :class:`WinHandles` holds open handles for one caller (one thread);
close it (``with``) when done.

Win32 has no ``openat``: each component below the trusted root is opened by its full
name with ``FILE_FLAG_OPEN_REPARSE_POINT`` (a symlink, junction or other reparse point is
opened itself, never followed) and refused if its attributes say reparse point, or if
``GetFinalPathNameByHandleW`` says the handle's file lies anywhere but at the walked name
(containment proven by the handle, not the text). Every folder handle is held open
without ``FILE_SHARE_DELETE``, so no folder of the chain can be renamed, removed or
swapped for a junction while the decision is made. The file is opened with
``GENERIC_READ`` (and ``DELETE`` for a source), sharing *read only*: no other program
can write, rename or delete it while it is held (a file still being written is refused:
its writer does not share). It is hashed through that handle (reopened with
``FILE_FLAG_NO_BUFFERING`` by ``ReOpenFile``, so from storage; a volume refusing the
flag is refused, its bytes would come from the cache; Wine accepts the flag and reads
through Linux's page cache, which the lane cannot tell apart), and deleted through the
same handle with ``SetFileInformationByHandle`` (``FileDispositionInfoEx`` with POSIX
semantics, else ``FileDispositionInfo``): the file deleted is the one checked, whatever
its name leads to by then.

Descriptors handed out are C runtime descriptors over these handles
(``msvcrt.open_osfhandle``), so ``os.fstat`` and :class:`FileIdentity` work on them.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Sequence
from pathlib import PurePath

from almc_assistant.core import wininfo
from almc_assistant.core.handles import HeldDescriptors, Refused
from almc_assistant.core.identity import FileIdentity

_FOLDER_ACCESS = wininfo.FILE_READ_ATTRIBUTES | wininfo.READ_CONTROL | wininfo.SYNCHRONIZE
_FOLDER_SHARE = wininfo.SHARE_READ | wininfo.SHARE_WRITE  # never SHARE_DELETE: no rename
_SHARING_VIOLATION = 32
_FILE_DISPOSITION_INFO = 4
_FILE_DISPOSITION_INFO_EX = 21
_DISPOSITION_DELETE_POSIX = 0x1 | 0x2  # FILE_DISPOSITION_FLAG_DELETE | POSIX_SEMANTICS
_NO_BUFFERING = 0x20000000
_BUFFER = 1 << 20
_NO_UNCACHED_READ = (
    "its volume refuses uncached reads (FILE_FLAG_NO_BUFFERING), so its bytes cannot be "
    "re-read from the storage itself"
)


class WinHandles(HeldDescriptors):
    """Handles opened for one cleanup decision, closed together (``core.handles.Handles``
    on Windows: the same methods)."""

    def __init__(self) -> None:
        super().__init__()
        self._paths: dict[int, str] = {}

    def _open(self, path: str, access: int, share: int) -> int:
        handle = wininfo.open_handle(path, access=access, share=share)
        try:
            import msvcrt

            fd = msvcrt.open_osfhandle(handle, os.O_RDONLY | getattr(os, "O_BINARY", 0))  # type: ignore[attr-defined]
        except OSError:
            wininfo.close(handle)
            raise
        self._paths[fd] = path
        return self.keep(fd)

    def _path(self, parent_fd: int, name: str) -> str:
        return self._paths[parent_fd].rstrip("\\") + "\\" + name

    def open_root(self, root: PurePath) -> tuple[int, os.stat_result]:
        """Open a trusted folder (its own path resolved, as configured)."""
        self.reached_root = False
        real = os.path.realpath(root)
        try:
            fd = self._open(real, _FOLDER_ACCESS, _FOLDER_SHARE)
        except OSError as exc:
            raise Refused(f"cannot open the folder {root} ({exc.strerror})") from exc
        self._paths[fd] = wininfo.final_path(wininfo.handle_of_fd(fd))
        self.reached_root = True
        return fd, os.fstat(fd)

    def _below(self, parent_fd: int, name: str, access: int, share: int, *, folder: bool) -> int:
        path = self._path(parent_fd, name)
        try:
            fd = self._open(path, access, share)
        except OSError as exc:
            raise Refused(_open_error(name, exc)) from exc
        handle = wininfo.handle_of_fd(fd)
        info = wininfo.identity_of_handle(handle)
        if info.is_reparse_point:
            raise Refused(f"'{name}' is a link, a junction or a reparse point (never followed)")
        if info.is_dir != folder:
            raise Refused(f"'{name}' is {'not ' if folder else ''}a folder")
        final = wininfo.final_path(handle)
        if os.path.normcase(final) != os.path.normcase(path):
            raise Refused(f"'{name}' leads to {final}, outside the folder walked")
        return fd

    def walk(self, root_fd: int, names: Sequence[str]) -> list[tuple[int, os.stat_result]]:
        """Open each folder of ``names`` below ``root_fd``, never following a link."""
        chain: list[tuple[int, os.stat_result]] = []
        fd = root_fd
        for name in names:
            fd = self._below(fd, name, _FOLDER_ACCESS, _FOLDER_SHARE, folder=True)
            chain.append((fd, os.fstat(fd)))
        return chain

    def open_regular(
        self, parent_fd: int, name: str, *, for_delete: bool = False
    ) -> tuple[int, FileIdentity]:
        """Open a regular file in ``parent_fd`` for reading, sharing only reads (and with
        ``DELETE`` access when it may be deleted through this handle)."""
        access = wininfo.GENERIC_READ | (wininfo.DELETE if for_delete else 0)
        fd = self._below(parent_fd, name, access, wininfo.SHARE_READ, folder=False)
        return fd, FileIdentity.of_fd(fd)

    def hash_open(self, fd: int) -> tuple[str, int]:
        """BLAKE3 and size of an open file, read with the cache bypassed (``ReOpenFile``
        + ``FILE_FLAG_NO_BUFFERING``). Where the volume refuses that flag the bytes could
        only come from the cache: refused, so nothing is deleted on that evidence."""
        import blake3

        from almc_assistant.core.transfer import unbuffered

        hasher = blake3.blake3()
        buf = bytearray(_BUFFER + unbuffered.ALIGN)
        k = wininfo.kernel32()
        share = wininfo.SHARE_READ | wininfo.SHARE_DELETE
        raw = k.ReOpenFile(wininfo.handle_of_fd(fd), wininfo.GENERIC_READ, share, _NO_BUFFERING)
        if not raw or raw == ctypes.c_void_p(-1).value:
            raise Refused(_NO_UNCACHED_READ)
        reader = unbuffered.UnbufferedReader(k, raw, unbuffered.sector_alignment(self._paths[fd]))
        try:
            end = reader.read_range(0, 1 << 62, buf, hasher.update)
        except unbuffered.Unsupported as exc:
            raise Refused(_NO_UNCACHED_READ) from exc
        finally:
            reader.close()
        return hasher.hexdigest(), end

    def still_there(self, parent_fd: int, name: str, expected: FileIdentity) -> str:
        """Why ``name`` in ``parent_fd`` is no longer ``expected``, unchanged ("" if it is)."""
        try:
            now = FileIdentity.of_path(self._path(parent_fd, name))
        except OSError as exc:
            return f"it can no longer be found ({exc.strerror})"
        return now.change_from(expected)

    def unlink(self, parent_fd: int, name: str, fd: int) -> None:
        """Delete the file open as ``fd`` through that handle (``name`` only to check)."""
        handle = wininfo.handle_of_fd(fd)
        k = wininfo.kernel32()
        flags = ctypes.c_uint32(_DISPOSITION_DELETE_POSIX)
        if not k.SetFileInformationByHandle(
            handle, _FILE_DISPOSITION_INFO_EX, ctypes.byref(flags), ctypes.sizeof(flags)
        ):
            delete = ctypes.c_ubyte(1)  # FILE_DISPOSITION_INFO.DeleteFile
            if not k.SetFileInformationByHandle(
                handle, _FILE_DISPOSITION_INFO, ctypes.byref(delete), ctypes.sizeof(delete)
            ):
                raise wininfo.last_error("cannot delete", name)
        self._fds.remove(fd)
        os.close(fd)  # the last handle: the delete happens now
        path = self._path(parent_fd, name)
        if os.path.lexists(path):
            raise OSError(0, "it is still there after the delete", path)


def _open_error(name: str, exc: OSError) -> str:
    if getattr(exc, "winerror", None) == _SHARING_VIOLATION:
        return f"'{name}' is open in another program that may be writing it"
    if getattr(exc, "winerror", None) in (2, 3):
        return f"'{name}' is missing"
    return f"cannot open '{name}' ({exc.strerror})"

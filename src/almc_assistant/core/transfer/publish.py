"""Give a verified partial its final name without ever replacing a file found there.

Thread contract: stateless; callable from any worker.

Every step below is atomic: if anything appears at the final name, however late, the
publish fails and the file there is untouched. What each file system gives:

- **Linux, local file systems** (ext4, xfs, btrfs, tmpfs, vfat, exfat, ntfs3, ...):
  ``renameat2(RENAME_NOREPLACE)``, one system call.
- **Where that flag is refused** (``EINVAL``: sshfs and other FUSE file systems, SMB/CIFS,
  NFS) and on **macOS**: ``link(partial, final)`` then ``unlink(partial)``. The refusal
  is remembered per device (for the process), so later files there go straight to
  ``link`` instead of paying a refused call (a round trip on a network share) each. ``link`` fails
  with ``EEXIST`` atomically on the server; sshfs does it with OpenSSH's
  ``hardlink@openssh.com`` extension, NFS and SMB with their own hard-link calls. If we
  die between the two calls, the final name holds the verified bytes and the partial
  name a second link to them, which the next run removes as a stale partial.
- **A partial in a staging folder** (network shares, :mod:`staging`): ``link`` from the
  staging folder to the final name, then ``unlink`` in the staging folder; the same
  guarantees, and only the ``link`` takes the final folder's lock.
- **Windows**: ``os.rename`` (``MoveFileExW`` without ``MOVEFILE_REPLACE_EXISTING``)
  fails when the name exists: atomic too.
- **A file system with neither** (no hard links, no no-replace rename: rare; some FUSE
  drives): the name is checked, then renamed; a file written there between the two
  calls (microseconds) would be replaced. This last resort is logged with the file
  system's name so the receipt reader can tell.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from almc_assistant.core.transfer.folder import Folder

log = logging.getLogger(__name__)

_AT_FDCWD = -100
# link(2) not possible here: fall back to the last resort
_NO_LINK = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL, errno.EXDEV, errno.EMLINK}
_RENAME_NOREPLACE = 1
_REFUSED: set[int] = set()  # devices whose file system refused RENAME_NOREPLACE


def _load_renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2  # glibc >= 2.28
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_RENAMEAT2 = _load_renameat2()


def publish(partial: Path, final: Path) -> bool:
    """Rename ``partial`` to ``final`` (same folder); ``False`` (nothing renamed) if
    ``final`` exists. Other failures raise :class:`OSError`."""
    assert partial.parent == final.parent
    if os.name == "nt":  # pragma: no cover - Windows
        return publish_in(Folder(final.parent, None), partial.name, final.name)
    with Folder(final.parent, os.open(final.parent, os.O_RDONLY | os.O_DIRECTORY)) as folder:
        return publish_in(folder, partial.name, final.name)


def publish_in(folder: Folder, partial: str, final: str) -> bool:
    """Rename ``partial`` (in ``folder.home``: ``folder`` or its staging folder) to
    ``final`` in ``folder``; ``False`` (nothing renamed) if ``final`` exists. Other
    failures raise :class:`OSError`."""
    if folder.staging is not None:
        return _link_then_unlink(folder, partial, final)
    if _RENAMEAT2 is not None and folder.fd is not None and folder.device not in _REFUSED:
        src, dst = os.fsencode(partial), os.fsencode(final)
        if _RENAMEAT2(folder.fd, src, folder.fd, dst, _RENAME_NOREPLACE) == 0:
            return True
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            return False
        if err not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            where = str(folder.path / partial)
            raise OSError(err, os.strerror(err), where, None, str(folder.path / final))
        if folder.device is not None:
            _REFUSED.add(folder.device)
    if os.name == "nt":  # pragma: no cover - MoveFileExW without REPLACE_EXISTING
        try:
            (folder.path / partial).rename(folder.path / final)
        except FileExistsError:
            return False
        return True
    return _link_then_unlink(folder, partial, final)


def _link_then_unlink(folder: Folder, partial: str, final: str) -> bool:
    home = folder.home
    try:
        if home is folder:
            folder.link(partial, final)
        else:
            folder.link_from(home, partial, final)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
        log.warning(
            "%s: neither a no-replace rename nor a hard link is possible here (%s); "
            "checking the name, then renaming",
            folder.path,
            exc.strerror,
        )
        try:
            folder.lstat(final)
            return False
        except FileNotFoundError:
            pass
        if home is folder:
            folder.replace(partial, final)
        else:
            folder.replace_from(home, partial, final)
        return True
    try:
        home.unlink(partial)
    except FileNotFoundError:
        pass
    except OSError as exc:  # the final name is right; the extra name is a stale partial
        log.info("could not remove %s after linking it to %s: %s", partial, final, exc)
    return True

"""Staging folders on a network share: one per worker, where its partials are written.

Thread contract: one :class:`Staging` per share destination per job, shared by the
workers; :meth:`Staging.folder` gives the calling thread its own folder (created on first
use); :meth:`Staging.close` runs on the job thread after the workers end.

Why: on a mounted share (sshfs, SMB, NFS) the kernel serialises the name operations of
one folder (create, link, unlink: each holds the folder's lock for a round trip), and a
partial written next to its final name costs three of them there (create the partial,
link it to the final name, remove the partial). With the partials in a folder of the
worker's own, only the ``link`` to the final name touches the final folder, so many
workers overlap their round trips instead of queueing on one lock (measured in
``bench/bench_netshare.py``; see the README's network-share section).

Safety is unchanged: the partial is created ``O_EXCL`` in the staging folder, written,
``fsync``-ed and read back there; it gets its final name with ``link`` (which fails when
the name exists: never a replacement) from the staging folder's descriptor to the final
folder's, then its staging name is removed. A staging folder is
``.almc-staging-<owner>-<token>`` at the destination root (``<owner>`` as in
:mod:`owner`), mode 0700, made with ``mkdirat`` and opened ``O_NOFOLLOW``. Emptied and
removed at the end of the job; a crashed job's folder (its owner gone) is emptied of its
partials and removed by the next job at that root.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import stat
import threading
from pathlib import Path

from almc_assistant.core.transfer import owner
from almc_assistant.core.transfer.folder import Folder, Gone
from almc_assistant.core.transfer.naming import STAGING_PREFIX, remove_stale_partials

log = logging.getLogger(__name__)

_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
USABLE = _DIRECTORY != 0 and os.open in os.supports_dir_fd


class Staging:
    """The staging folders of one job at one destination root (``device``)."""

    def __init__(self, root: Path, device: int) -> None:
        self.root = root
        self.device = device
        self._local = threading.local()
        self._lock = threading.Lock()
        self._made: list[Folder] = []

    def folder(self) -> Folder:
        """The calling thread's staging folder (made on first use); ``OSError`` if it
        cannot be made (the root gone or moved to another device included)."""
        held: Folder | None = getattr(self._local, "folder", None)
        if held is not None and held.fd is not None:
            return held
        name = f"{STAGING_PREFIX}{owner.marker()}-{secrets.token_hex(6)}"
        try:
            root = Folder.walk(self.root, self.device, [])
        except Gone:
            gone = FileNotFoundError(errno.ENOENT, "the destination is gone", str(self.root))
            raise gone from None
        try:
            assert root.fd is not None
            os.mkdir(name, 0o700, dir_fd=root.fd)
            fd = os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=root.fd)
        finally:
            root.close()
        if not stat.S_ISDIR(os.fstat(fd).st_mode):  # pragma: no cover - a race only
            os.close(fd)
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(self.root / name))
        made = Folder(self.root / name, fd)
        made.device = self.device
        self._local.folder = made
        with self._lock:
            self._made.append(made)
        return made

    def close(self) -> None:
        """Empty (of this job's partials) and remove every staging folder; never raises."""
        with self._lock:
            made, self._made = self._made, []
        for folder in made:
            remove_stale_partials(folder)
            name = folder.path.name
            folder.close()
            try:
                with Folder.walk(self.root, self.device, []) as root:
                    os.rmdir(name, dir_fd=root.fd)
            except (OSError, Gone) as exc:  # Gone: the root went away
                log.info("could not remove the staging folder %s: %r", folder.path, exc)


def remove_stale_staging(root: Folder) -> None:
    """Remove the staging folders at ``root`` whose job is gone (their partials first:
    never trusted or resumed). Best effort, quiet: a log line per folder it could not
    remove."""
    try:
        names = [n for n in root.names() if n.startswith(STAGING_PREFIX)]
    except OSError:
        return
    for name in names:
        who = "-".join(name[len(STAGING_PREFIX) :].split("-", 3)[:3])
        try:
            if not owner.is_stale(who, root.lstat(name).st_ctime):
                continue
            assert root.fd is not None
            fd = os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=root.fd)
            with Folder(root.path / name, fd) as stale:
                remove_stale_partials(stale)
            os.rmdir(name, dir_fd=root.fd)
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.info("could not remove the stale staging folder %s: %s", root.path / name, exc)


# network file systems whose folders take hard links between them (rclone mounts are
# left out: no hard links, and their own upload queue)
NETWORK = frozenset({"fuse.sshfs", "cifs", "smb3", "smbfs", "nfs", "nfs4", "9p", "ceph"})


def wanted(fs_type: str) -> bool:
    """Whether a destination of file system ``fs_type`` gets staging folders: a network
    share, where descriptors of folders work (not Windows)."""
    if os.environ.get("ALMC_NO_STAGING"):  # benchmarks: partials beside their final name
        return False
    return USABLE and fs_type in NETWORK

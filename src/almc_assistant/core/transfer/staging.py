"""Staging folders on a network share: a few per job, where the workers' partials are written.

Thread contract: one :class:`Staging` per share destination per job, shared by the
workers; :meth:`Staging.folder` gives the calling thread its staging folder (one of at
most ``FOLDERS``, made on first use; a few workers share one); :meth:`Staging.close`
runs on the job thread after the workers end.

Why: on a mounted share (sshfs, SMB, NFS) the kernel serialises the name operations of
one folder (create, link, unlink: each holds the folder's lock for a round trip), and a
partial written next to its final name costs three of them there (create the partial,
link it to the final name, remove the partial). With the partials in staging folders,
only the ``link`` to the final name touches the final folder, so many workers overlap
their round trips instead of queueing on one lock (measured in
``bench/bench_netshare.py``; see the README's network-share section).

How many: each staging folder is made (``mkdir``) and removed (``rmdir``) in the
destination root, which serialises those too (about three round trips each), so one
folder per worker cost 12 x 2 x 3 round trips per job (0.7 s at the start and 1.3 s at
the end at 20 ms, where they were removed one after the other). A staging folder sees
the create and the unlink of each of its partials (about four round trips of its lock
per file), against the final folder's three per file for *every* worker's files, so
``FOLDERS`` (4) of them keep four times the final folder's pace. At the end they are
removed in parallel, each with one ``rmdir`` first (an empty folder: the usual case);
only one that is not empty is listed and emptied of this job's partials first.

Safety is unchanged: the partial is created ``O_EXCL`` in the staging folder (its name is
unique in the process: :func:`naming.partial_name`), written, ``fsync``-ed and read back
there; it gets its final name with ``link`` (which fails when the name exists: never a
replacement) from the staging folder's descriptor to the final folder's, then its staging
name is removed. A staging folder is ``.almc-staging-<owner>-<token>`` at the destination
root (``<owner>`` as in :mod:`owner`), mode 0700, made with ``mkdirat`` and opened
``O_NOFOLLOW``. ``rmdir`` never removes a folder that holds anything. A crashed job's
folder (its owner gone) is emptied of its partials and removed by the next job at that
root.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import secrets
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from almc_assistant.core.transfer import owner
from almc_assistant.core.transfer.folder import Folder, Gone
from almc_assistant.core.transfer.naming import STAGING_PREFIX, remove_stale_partials

log = logging.getLogger(__name__)

_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
USABLE = _DIRECTORY != 0 and os.open in os.supports_dir_fd


FOLDERS = 4  # staging folders per job and share destination (see the module)


class Staging:
    """The staging folders of one job at one destination root (``device``)."""

    def __init__(self, root: Path, device: int, folders: int = FOLDERS) -> None:
        self.root = root
        self.device = device
        self._local = threading.local()
        self._lock = threading.Lock()
        self._slots = itertools.count()  # next() is atomic under the GIL
        self._count = max(folders, 1)
        self._gates = [threading.Lock() for _ in range(self._count)]
        self._folders: list[Folder | None] = [None] * self._count
        self._made: list[Folder] = []

    def folder(self) -> Folder:
        """The calling thread's staging folder (made on first use by the first of its
        threads); ``OSError`` if it cannot be made (the root gone or moved to another
        device included)."""
        slot: int | None = getattr(self._local, "slot", None)
        if slot is None:
            slot = next(self._slots) % self._count
            self._local.slot = slot
        with self._gates[slot]:
            held = self._folders[slot]
            if held is not None and held.fd is not None:
                return held
            made = self._make()
            self._folders[slot] = made
        with self._lock:
            self._made.append(made)
        return made

    def _make(self) -> Folder:
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
        return made

    def close(self) -> None:
        """Remove every staging folder (emptied of this job's partials first when not
        empty), in parallel; never raises."""
        with self._lock:
            made, self._made = self._made, []
            self._folders = [None] * self._count
        if not made:
            return
        try:
            root = Folder.walk(self.root, self.device, [])
        except (OSError, Gone) as exc:  # Gone: the root went away
            log.info("could not remove the staging folders in %s: %r", self.root, exc)
            for folder in made:
                folder.close()
            return
        with root:
            if len(made) == 1:
                _remove(root, made[0])
                return
            with ThreadPoolExecutor(len(made), thread_name_prefix="almc-staging") as pool:
                for _ in pool.map(lambda folder: _remove(root, folder), made):
                    pass


def _remove(root: Folder, folder: Folder) -> None:
    """Remove the staging ``folder`` from ``root``: one ``rmdir`` when it is empty (the
    usual case: one round trip), else its partials first; never raises. The folder is
    closed before each ``rmdir`` (an SMB server may refuse to remove an open folder)."""
    name = folder.path.name
    folder.close()
    try:
        try:
            os.rmdir(name, dir_fd=root.fd)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        assert root.fd is not None
        fd = os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=root.fd)
        with Folder(folder.path, fd) as again:
            remove_stale_partials(again)
        os.rmdir(name, dir_fd=root.fd)
    except OSError as exc:
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

"""Small files in groups: one durability point per group instead of two ``fsync`` per file.

Thread contract: a :class:`BatchCopier` belongs to one worker thread, like
:class:`~almc_assistant.core.transfer.copier.FileCopier`.

Copying 20,000 files of 64 KiB costs little I/O but, done one by one, two journal commits
per file and destination (the file's ``fsync``, then its folder's). For files that fit in
one read, on local Linux file systems, a group is copied like this instead:

1. each source is read once into the worker's buffer and hashed, and written to a hidden
   partial per destination, its mtime set;
2. ``syncfs`` on each destination: every partial of the group is durable at once (a
   write-back error is reported here, as ``fsync`` would);
3. each partial's (now clean) pages are dropped and it is read back from storage and
   compared, and the sources are re-checked (size, mtime, ctime, identity:
   :func:`source.check_unchanged`). Reads of sources and of
   read-backs are started 32 files at a time (``POSIX_FADV_WILLNEED`` after the pages
   were dropped), so their storage latencies overlap instead of adding up;
4. the verified partials are renamed to their final names (or settled with a file that
   appeared there: :mod:`landing`), and a second ``syncfs`` makes the renames durable
   before the copies are reported verified and written to the manifest.

A file already at its target name with the source's size (a rerun) is not written: it is
read back from storage with the group's read-backs and adopted when its BLAKE3 equals
the source's (:func:`landing.accept`).

A remote target of a grouped file (:mod:`remote_dest`) is fed from the same one read: its
upload is sent and proven right after the read (:func:`remote_steps.prove_upload`), the
source is re-checked, and the copy is published (:func:`remote_steps.publish_proven`) at
once, file by file (a server lost mid-group keeps what it had proven and published); a
same-size file already there is adopted only by proof.

The guarantees are those of the one-file path: the final name never holds unverified
bytes, every failure removes its partial. Other platforms and network file systems
(where ``syncfs`` may not reach the server) use the one-file path.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core.destination_backend import SourceDigests
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.identity import FileIdentity
from almc_assistant.core.remote.digests import ReadPassDigests
from almc_assistant.core.transfer import cache
from almc_assistant.core.transfer.control import JobControl
from almc_assistant.core.transfer.copier import CopyHooks
from almc_assistant.core.transfer.destination import JobDestination
from almc_assistant.core.transfer.faults import (
    CopyError,
    mismatch,
    source_changed,
)
from almc_assistant.core.transfer.folder import Folder
from almc_assistant.core.transfer.hashing import hash_fd, open_from_storage
from almc_assistant.core.transfer.landing import Differs, Result, Verified, accept, land
from almc_assistant.core.transfer.naming import partial_name, release_partial
from almc_assistant.core.transfer.progress import Progress
from almc_assistant.core.transfer.remote_dest import (
    UPLOAD_THREADS,
    RemoteDestination,
    RemoteStream,
)
from almc_assistant.core.transfer.remote_steps import adopt_remote, prove_upload, publish_proven
from almc_assistant.core.transfer.scan import FileTask
from almc_assistant.core.transfer.source import check_unchanged, open_source, source_error
from almc_assistant.core.transfer.targets import Target
from almc_assistant.core.transfer.writer import Lease

# local file systems where syncfs flushes everything to the device
_LOCAL = {"ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "vfat", "msdos", "exfat", "ntfs"}
_LOCAL |= {"tmpfs", "jfs", "reiserfs", "bcachefs", "zfs"}
PREFETCH = 32  # files whose storage reads are started together


def _load_syncfs() -> object | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.syncfs
    except (OSError, AttributeError):
        return None


_SYNCFS = _load_syncfs()


def syncfs(path: Path) -> None:
    """Flush the file system holding ``path`` (data and metadata); raise on error."""
    assert _SYNCFS is not None
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        if _SYNCFS(fd) != 0:  # type: ignore[operator]
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(path))
    finally:
        os.close(fd)


def batchable(dest: JobDestination | RemoteDestination) -> bool:
    """Whether small files to ``dest`` may go through a group (local file systems only)."""
    return _SYNCFS is not None and isinstance(dest, JobDestination) and dest.fs.type in _LOCAL


@dataclass(slots=True)
class _Partial:
    task: FileTask
    target: Target
    folder: Folder  # shared by the group's partials in one folder (see BatchCopier._folder)
    name: str
    digest: str
    committed: bool = False

    @property
    def path(self) -> Path:
        return self.folder.path / self.name

    failed: bool = False  # its result is an error (see BatchCopier._fail)


@dataclass(slots=True)
class _Adopt:
    """A same-size file already at the target name (a rerun): read back, kept if equal."""

    task: FileTask
    target: Target
    folder: Folder
    digest: str


Key = tuple[FileTask, Target]


class BatchCopier:
    def __init__(
        self, control: JobControl, progress: Progress, hooks: CopyHooks | None, buf: bytearray
    ) -> None:
        self._control = control
        self._progress = progress
        self._hooks = hooks or CopyHooks()
        self._buf = buf
        self._before: dict[FileTask, FileIdentity] = {}  # each source as opened
        self._folders: dict[tuple[int, str], Folder] = {}  # open for the group
        self._adopts: list[_Adopt] = []  # files already at their names (reruns)
        self._uploads: list[RemoteStream] = []  # removed at the end unless published
        # Remote targets are sent, proven and published on threads of the group's own
        # (UPLOAD_THREADS), while this thread reads and writes the next files.
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[tuple[Key, Future[Result]]] = []

    def copy(self, items: list[tuple[FileTask, list[Target]]]) -> dict[Key, Result]:
        """Copy every (small) file of ``items`` to its targets; a result per pair."""
        results: dict[Key, Result] = {}
        partials: list[_Partial] = []
        self._adopts.clear()
        self._before.clear()
        self._uploads.clear()
        try:
            for i in range(0, len(items), PREFETCH):
                window = items[i : i + PREFETCH]
                sources = [self._open_source(task) for task, _ in window]
                try:
                    for (task, targets), src in zip(window, sources, strict=True):
                        self._write(task, targets, src, partials, results)
                finally:
                    for src in sources:
                        if isinstance(src, int):
                            os.close(src)
            live = self._sync(partials, results)
            live = self._read_back(live, results)
            self._adopt_all(results)
            live = self._check_sources(live, results)
            self._commit(live, results)
            for key, future in self._pending:
                results[key] = future.result()
        finally:
            if self._pool is not None:  # its uploads end before their partials go
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
            self._pending.clear()
            for up in self._uploads:
                up.discard()  # published ones are left alone
            for p in partials:
                if not p.committed:
                    with contextlib.suppress(OSError):
                        p.folder.unlink(p.name)
                release_partial(p.path)
            for folder in self._folders.values():
                folder.close()
            self._folders.clear()
        return results

    def _folder(self, t: Target, task: FileTask) -> Folder:
        """The target's folder, opened once per group (:meth:`JobDestination.open_folder`)."""
        relfolder = t.relpath.rpartition("/")[0]
        key = (id(t.dest), relfolder)
        folder = self._folders.get(key)
        if folder is None:
            folder = self._folders[key] = _local(t).open_folder(relfolder, task.source)
        return folder

    def _fail(self, p: _Partial, err: CopyError, results: dict[Key, Result]) -> None:
        results[(p.task, p.target)] = err
        p.failed = True
        with contextlib.suppress(OSError):
            p.folder.unlink(p.name)

    def _dest_error(self, exc: OSError, action: str, t: Target, task: FileTask) -> CopyError:
        return _local(t).error(exc, action=action, path=t.final, source=task.source)

    def _open_source(self, task: FileTask) -> int | CopyError:
        """Open a source and start reading it in the background (reads of a group overlap)."""
        try:
            fd, self._before[task] = open_source(task)
        except CopyError as err:
            return err
        cache.prefetch(fd)
        return fd

    def _read_source(self, task: FileTask, fd: int) -> memoryview:
        try:
            view = memoryview(self._buf)
            total = 0
            while total < len(view) and (n := os.readv(fd, [view[total:]])):
                total += n
            if total != task.size:
                raise source_changed(task.source, f"{total} bytes were read, not {task.size}")
            cache.evict(fd)
            return view[:total]
        except OSError as exc:
            raise source_error(exc, task) from exc

    def _write(
        self,
        task: FileTask,
        targets: list[Target],
        src: int | CopyError,
        partials: list[_Partial],
        results: dict[Key, Result],
    ) -> None:
        if self._hooks.before_file is not None:
            self._hooks.before_file(task)
        self._control.checkpoint()
        try:
            if isinstance(src, CopyError):
                raise src
            data = self._read_source(task, src)
        except CopyError as err:
            for t in targets:
                results[(task, t)] = err
            return
        remotes = [t.dest for t in targets if isinstance(t.dest, RemoteDestination)]
        hasher = ReadPassDigests(
            set().union(*(d.backend.wanted_digests() for d in remotes)), threads=False
        )
        hasher.update(data)
        digests = hasher.result()
        digest = digests.blake3
        self._progress.add(task, task.size)
        if self._hooks.on_chunk is not None and task.size:  # as the one-file path: per read
            self._hooks.on_chunk(task, task.size)
        for t in targets:
            if isinstance(t.dest, RemoteDestination):
                self._remote(task, t, t.dest, data, digests)
                continue
            if t.adopt:
                try:
                    self._adopts.append(_Adopt(task, t, self._folder(t, task), digest))
                except CopyError as err:
                    results[(task, t)] = err
                except OSError as exc:
                    results[(task, t)] = self._dest_error(exc, "read back", t, task)
                continue
            name = partial_name(t.final.name)
            path = t.final.with_name(name)
            try:
                folder = self._folder(t, task)
                fd = folder.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except CopyError as err:
                results[(task, t)] = err
                release_partial(path)
                continue
            except OSError as exc:
                results[(task, t)] = self._dest_error(exc, "create", t, task)
                release_partial(path)
                continue
            p = _Partial(task, t, folder, name, digest)
            partials.append(p)
            try:
                rest = data
                while rest:
                    rest = rest[os.write(fd, rest) :]
                os.utime(fd, ns=(time.time_ns(), task.mtime_ns))
            except OSError as exc:
                self._fail(p, self._dest_error(exc, "write", t, task), results)
            finally:
                os.close(fd)

    def _remote(
        self,
        task: FileTask,
        t: Target,
        dest: RemoteDestination,
        data: memoryview,
        digests: SourceDigests,
    ) -> None:
        """Send ``data`` to a remote target, prove it, re-check the source and publish it,
        on the group's upload thread (or adopt by proof what is already there)."""
        self._control.checkpoint()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(UPLOAD_THREADS, thread_name_prefix="almc-upload")
        payload = memoryview(bytes(data))  # the read buffer is reused for the next file
        future = self._pool.submit(self._send, task, t, dest, payload, digests)
        self._pending.append(((task, t), future))

    def _send(
        self,
        task: FileTask,
        t: Target,
        dest: RemoteDestination,
        data: memoryview,
        digests: SourceDigests,
    ) -> Result:
        self._control.checkpoint()
        if t.adopt:
            result = adopt_remote(dest, t.relpath, digests, task.source)
            return self._unchanged(task, result)
        try:
            stream = dest.start(t.relpath, task.size, threaded=False, window=len(self._buf))
        except (AlmcError, OSError) as exc:
            return dest.error(exc, action="upload", source=task.source)
        self._uploads.append(stream)
        stream.writer.put(data, Lease(1))
        result = self._unchanged(task, prove_upload(stream, digests, task.source))
        return publish_proven(stream, digests, result, task.source)

    def _unchanged(self, task: FileTask, result: Result) -> Result:
        """``result`` if the source is unchanged since it was opened, else why not."""
        if not isinstance(result, Verified):
            return result
        try:
            check_unchanged(task, self._before[task])
        except CopyError as err:
            return err
        return result

    def _sync(self, partials: list[_Partial], results: dict[Key, Result]) -> list[_Partial]:
        live = _live(partials)
        for device, dest in _one_per_device(live).items():
            try:
                syncfs(dest.root)
            except OSError as exc:
                for p in live:
                    if p.target.dest.device == device:
                        self._fail(p, self._dest_error(exc, "write", p.target, p.task), results)
        return _live(live)

    def _read_back(self, live: list[_Partial], results: dict[Key, Result]) -> list[_Partial]:
        for i in range(0, len(live), PREFETCH):
            window = live[i : i + PREFETCH]
            if self._hooks.after_flush is not None:
                for p in window:
                    self._hooks.after_flush(p.path, 0, p.task.size)
            fds: list[int | OSError] = []
            for p in window:  # cache dropped, storage reads started for the whole window
                try:
                    fds.append(open_from_storage(p.folder, p.name, prefetch=True))
                except OSError as exc:
                    fds.append(exc)
            for p, fd in zip(window, fds, strict=True):
                try:
                    if isinstance(fd, OSError):
                        raise fd
                    got, _ = hash_fd(fd, self._buf)
                except OSError as exc:
                    self._fail(p, self._dest_error(exc, "read back", p.target, p.task), results)
                    continue
                finally:
                    if isinstance(fd, int):
                        os.close(fd)
                if got != p.digest:
                    self._fail(p, mismatch(p.task.source, p.target.final, p.digest, got), results)
        return _live(live)

    def _adopt_all(self, results: dict[Key, Result]) -> None:
        """Read back the files found at adopted names, storage reads overlapped as in
        :meth:`_read_back`; equal bytes are adopted, others are ``Differs``."""
        for i in range(0, len(self._adopts), PREFETCH):
            window = self._adopts[i : i + PREFETCH]
            fds: list[int | OSError] = []
            for a in window:
                try:
                    fds.append(open_from_storage(a.folder, a.target.final.name, prefetch=True))
                except OSError as exc:
                    fds.append(exc)
            for a, fd in zip(window, fds, strict=True):
                key = (a.task, a.target)
                if isinstance(fd, OSError):
                    if fd.errno in (errno.ELOOP, errno.EISDIR):  # a link, not a regular file
                        results[key] = Differs()
                    else:
                        results[key] = self._dest_error(fd, "read back", a.target, a.task)
                    continue
                try:
                    got, _ = hash_fd(fd, self._buf)
                except OSError as exc:
                    results[key] = self._dest_error(exc, "read back", a.target, a.task)
                    continue
                finally:
                    os.close(fd)
                if got != a.digest:
                    results[key] = Differs()
                else:
                    results[key] = accept(a.folder, a.target, a.digest, a.task.mtime_ns)

    def _check_sources(self, live: list[_Partial], results: dict[Key, Result]) -> list[_Partial]:
        changed: dict[FileTask, CopyError | None] = {}  # one stat per source

        def why(task: FileTask) -> CopyError | None:
            if task not in changed:
                try:
                    check_unchanged(task, self._before[task])
                    changed[task] = None
                except CopyError as exc:
                    changed[task] = exc
            return changed[task]

        for p in live:
            if (err := why(p.task)) is not None:
                self._fail(p, err, results)
        for a in self._adopts:
            if (err := why(a.task)) is not None:
                results[(a.task, a.target)] = err
        return _live(live)

    def _commit(self, live: list[_Partial], results: dict[Key, Result]) -> None:
        renamed: list[_Partial] = []
        checked: set[JobDestination] = set()
        for p in live:
            t = p.target
            try:
                if t.dest not in checked:  # once per destination and group
                    t.dest.check_alive(p.task.source)
                    checked.add(_local(t))
                landed = land(p.folder, p.name, t, p.digest, self._buf)
            except CopyError as err:
                self._fail(p, err, results)
                continue
            except OSError as exc:
                self._fail(p, self._dest_error(exc, "rename", t, p.task), results)
                continue
            if isinstance(landed, Verified) and not landed.adopted:
                p.committed = True
                renamed.append(p)
            else:  # a file appeared at the name: settled with it (the partial goes)
                results[(p.task, t)] = landed
                p.failed = True
        for device, dest in _one_per_device(renamed).items():
            mine = [p for p in renamed if p.target.dest.device == device]
            try:
                syncfs(dest.root)
                for d in {_local(p.target) for p in mine}:
                    d.manifest.record_many(
                        [(p.target.relpath, p.digest) for p in mine if p.target.dest is d]
                    )
                now = time.time()
                for p in mine:
                    results[(p.task, p.target)] = Verified(p.digest, now, adopted=False)
            except CopyError as err:  # e.g. a link planted at the manifest's lock file
                for p in mine:
                    results[(p.task, p.target)] = err
            except OSError as exc:
                for p in mine:  # the bytes are verified but the rename may not be durable
                    results[(p.task, p.target)] = self._dest_error(
                        exc, "finish the verified copy", p.target, p.task
                    )


def _live(partials: list[_Partial]) -> list[_Partial]:
    """The partials without an error so far."""
    return [p for p in partials if not p.failed]


def _one_per_device(partials: list[_Partial]) -> dict[int, JobDestination]:
    """One destination per file system: ``syncfs`` once for two destinations on one disk."""
    out: dict[int, JobDestination] = {}
    for p in partials:
        out.setdefault(p.target.dest.device, _local(p.target))
    return out


def _local(t: Target) -> JobDestination:
    """The destination of a grouped target: always a local one (:func:`batchable`)."""
    assert isinstance(t.dest, JobDestination)
    return t.dest

"""Bytes of small files read whole, once, into partials made durable together.

Thread contract: a :class:`GroupedMover` belongs to the worker thread of its pipeline;
remote targets are sent on the run's upload threads (:attr:`copystate.Run.pool`).

Copying 20,000 files of 64 KiB costs little I/O but, done one by one, two journal commits
per file and destination (the file's ``fsync``, then its folder's). A file that fits in
one read, to local Linux file systems (:func:`batchable`), is written so instead:

1. sources are opened 32 at a time with their reads started in the background
   (``POSIX_FADV_WILLNEED``), so their storage latencies overlap;
2. each is read whole into the worker's buffer, hashed, and written to a hidden partial
   per local destination, its mtime set (:class:`~copystate.Written`, ``grouped``: the
   driver makes the group durable with one ``syncfs`` per device, then reads back);
3. a remote target (:mod:`remote_dest`) is fed from the same read on the run's upload
   thread, which proves it, re-checks the source and publishes it at once
   (:func:`remote_steps.prove_upload`, :func:`remote_steps.publish_proven`); a same-size
   file already there is adopted only by proof (:func:`remote_steps.adopt_remote`).

**Direct I/O** (:mod:`direct`), for files of :data:`DIRECT_FROM` bytes or more on file
systems that honour it: the source is read with ``O_DIRECT`` (no read-ahead into the
cache, and no prefetch: the device moves the bytes into the page-aligned buffer), the
partial's whole blocks are written so and its tail through the cache (``syncfs`` makes
both durable), and the read-back (:meth:`GroupedMover.hash_stored`, after the pages were
dropped all the same) reads with ``O_DIRECT`` too: such a copy says
``READ_BACK_UNBUFFERED``. A refused direct transfer (``EINVAL``) goes through the cache
instead, and the copy keeps ``READ_BACK_EVICTED``. Why: on a VM whose page-cache pages are
each a fault to the host, the buffered copy of 2,000 x 2 MiB spent most of its time in
the kernel (README, "Direct I/O for grouped files").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import blake3

from almc_assistant.core.destination_backend import SourceDigests
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.rawio import fill, fill_direct, load_syncfs, set_direct, write_direct
from almc_assistant.core.remote.digests import ReadPassDigests
from almc_assistant.core.transfer import cache, direct
from almc_assistant.core.transfer.control import JobControl
from almc_assistant.core.transfer.copystate import Adopt, Opened, Run, Written, dest_error
from almc_assistant.core.transfer.destination import JobDestination
from almc_assistant.core.transfer.faults import CopyError, source_changed
from almc_assistant.core.transfer.hooks import CopyHooks
from almc_assistant.core.transfer.landing import Result, Verified
from almc_assistant.core.transfer.naming import partial_name, release_partial
from almc_assistant.core.transfer.progress import Progress
from almc_assistant.core.transfer.remote_dest import UPLOAD_THREADS, RemoteDestination
from almc_assistant.core.transfer.remote_steps import adopt_remote, prove_upload, publish_proven
from almc_assistant.core.transfer.scan import FileTask
from almc_assistant.core.transfer.source import check_unchanged, open_source, source_error
from almc_assistant.core.transfer.targets import Target
from almc_assistant.core.transfer.writer import Lease

# local file systems where syncfs flushes everything to the device
_LOCAL = {"ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "vfat", "msdos", "exfat", "ntfs"}
_LOCAL |= {"tmpfs", "jfs", "reiserfs", "bcachefs", "zfs"}
PREFETCH = 32  # files whose storage reads are started together
DIRECT_FROM = 1 << 20  # bytes: smaller files go through the cache (measured: README)


_SYNCFS = load_syncfs()


def syncfs(path: Path) -> None:
    """Flush the file system holding ``path`` (data and metadata); raise on error."""
    assert _SYNCFS is not None
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        if _SYNCFS(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(path))
    finally:
        os.close(fd)


def batchable(dest: JobDestination | RemoteDestination) -> bool:
    """Whether small files to ``dest`` may go through a group (local file systems only)."""
    return _SYNCFS is not None and isinstance(dest, JobDestination) and dest.fs.type in _LOCAL


class GroupedMover:
    def __init__(
        self, control: JobControl, progress: Progress, hooks: CopyHooks, buf: bytearray
    ) -> None:
        self._control = control
        self._progress = progress
        self._hooks = hooks
        self._buf = buf
        # sources and partials are read into page-aligned memory (direct I/O's buffers);
        # one block more than the largest file: a read of a file that grew shows it
        self._aligned: direct.Buffer = direct.buffer(direct.round_up(len(buf) + 1))
        self._suits: dict[int, bool] = {}  # per device: whether direct I/O is used there

    def move(self, run: Run, items: list[tuple[FileTask, list[Target]]]) -> None:
        """Write every (small) file of ``items`` to its targets, sources read 32 at once."""
        for i in range(0, len(items), PREFETCH):
            window = items[i : i + PREFETCH]
            sources = [self._open_source(run, task) for task, _ in window]
            try:
                for (task, targets), src in zip(window, sources, strict=True):
                    self._write(run, task, targets, src)
            finally:
                for src in sources:
                    if isinstance(src, tuple):
                        os.close(src[0])

    def direct_on(self, fd: int, device: int, size: int) -> bool:
        """Whether a file of ``size`` bytes open as ``fd`` on ``device`` is moved by direct
        I/O (its file system asked once per device)."""
        if size < DIRECT_FROM:
            return False
        if (suits := self._suits.get(device)) is None:
            suits = self._suits[device] = direct.suits(fd)
        return suits

    def _open_source(self, run: Run, task: FileTask) -> tuple[int, bool] | CopyError:
        """Open a source: given ``O_DIRECT`` (read when its turn comes), or its reads
        started in the background (the cached reads of a group overlap)."""
        try:
            fd, before = open_source(task)
        except CopyError as err:
            return err
        run.sources[task] = Opened(before)
        if self.direct_on(fd, before.dev, task.size) and set_direct(fd, True):
            return fd, True
        cache.prefetch(fd)
        return fd, False

    def _read_source(self, task: FileTask, fd: int, unbuffered: bool) -> memoryview:
        try:
            view = memoryview(self._aligned)[: direct.round_up(task.size + 1)]
            total = fill_direct(fd, view)[0] if unbuffered else fill(fd, view)
            if total != task.size:
                raise source_changed(task.source, f"{total} bytes were read, not {task.size}")
            cache.evict(fd)  # pages a refused direct read, or another program, left
            return view[:total]
        except OSError as exc:
            raise source_error(exc, task) from exc

    def hash_stored(self, fd: int, stored: int) -> tuple[str, bool]:
        """BLAKE3 of the partial open as ``fd`` (``stored`` bytes by ``fstat``), read with
        ``O_DIRECT`` from the device; whether every byte was (else, after a refusal, the
        rest came through the cache: the caller dropped its pages before)."""
        view = memoryview(self._aligned)[: direct.round_up(stored + 1)]
        if set_direct(fd, True):
            total, unbuffered = fill_direct(fd, view, stop=stored)
        else:
            total, unbuffered = fill(fd, view), False
        return blake3.blake3(view[:total]).hexdigest(), unbuffered

    def _write(
        self, run: Run, task: FileTask, targets: list[Target], src: tuple[int, bool] | CopyError
    ) -> None:
        if self._hooks.before_file is not None:
            self._hooks.before_file(task)
        self._control.checkpoint()
        try:
            if isinstance(src, CopyError):
                raise src
            data = self._read_source(task, *src)
        except CopyError as err:
            for t in targets:
                run.results[(task, t)] = err
            return
        remotes = [t.dest for t in targets if isinstance(t.dest, RemoteDestination)]
        hasher = ReadPassDigests(  # BLAKE3, plus what the remotes' proofs need
            set().union(*(d.backend.wanted_digests() for d in remotes)), threads=False
        )
        hasher.update(data)
        digests = hasher.result()
        self._progress.add(task, task.size)
        if self._hooks.on_chunk is not None and task.size:  # as the streamed path: per read
            self._hooks.on_chunk(task, task.size)
        for t in targets:
            if isinstance(t.dest, RemoteDestination):
                self._remote(run, task, t, t.dest, data, digests)
            elif t.adopt:
                try:
                    run.adopts.append(Adopt(task, t, digests, run.folder(t, task)))
                except CopyError as err:
                    run.results[(task, t)] = err
                except OSError as exc:
                    run.results[(task, t)] = dest_error(exc, "read back", t, task)
            else:
                self._write_partial(run, task, t, data, digests.blake3)

    def _write_partial(
        self, run: Run, task: FileTask, t: Target, data: memoryview, digest: str
    ) -> None:
        name = partial_name(t.final.name)
        try:
            folder = run.folder(t, task)
            fd = folder.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except CopyError as err:
            run.results[(task, t)] = err
            release_partial(name)
            return
        except OSError as exc:
            run.results[(task, t)] = dest_error(exc, "create", t, task)
            release_partial(name)
            return
        w = Written(task, t, folder, name, digest, grouped=True)
        run.written.append(w)
        try:
            if self.direct_on(fd, t.dest.device, len(data)) and set_direct(fd, True):
                write_direct(fd, data)
            else:
                rest = data
                while rest:
                    rest = rest[os.write(fd, rest) :]
            os.utime(fd, ns=(time.time_ns(), task.mtime_ns))
        except OSError as exc:
            run.fail(w, dest_error(exc, "write", t, task))
        finally:
            os.close(fd)

    def _remote(
        self,
        run: Run,
        task: FileTask,
        t: Target,
        dest: RemoteDestination,
        data: memoryview,
        digests: SourceDigests,
    ) -> None:
        """Send ``data`` to a remote target, prove it, re-check the source and publish it,
        on the run's upload threads (or adopt by proof what is already there)."""
        self._control.checkpoint()
        if run.pool is None:
            run.pool = ThreadPoolExecutor(UPLOAD_THREADS, thread_name_prefix="almc-upload")
        payload = memoryview(bytes(data))  # the read buffer is reused for the next file
        future = run.pool.submit(self._send, run, task, t, dest, payload, digests)
        run.pending.append(((task, t), future))

    def _send(
        self,
        run: Run,
        task: FileTask,
        t: Target,
        dest: RemoteDestination,
        data: memoryview,
        digests: SourceDigests,
    ) -> Result:
        self._control.checkpoint()
        if t.adopt:
            result = adopt_remote(dest, t.relpath, digests, task.source)
            return _unchanged(run, task, result)
        try:
            stream = dest.start(t.relpath, task.size, threaded=False, window=len(self._buf))
        except (AlmcError, OSError) as exc:
            return dest.error(exc, action="upload", source=task.source)
        run.uploads.append(stream)
        stream.writer.put(data, Lease(1))
        result = _unchanged(run, task, prove_upload(stream, digests, task.source))
        return publish_proven(stream, digests, result, task.source)


def _unchanged(run: Run, task: FileTask, result: Result) -> Result:
    """``result`` if the source is unchanged since it was opened, else why not."""
    if not isinstance(result, Verified):
        return result
    try:
        check_unchanged(task, run.sources[task].before)
    except CopyError as err:
        return err
    return result

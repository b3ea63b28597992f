"""Bytes of one file read in chunks, once, into every destination's partial and upload.

Thread contract: a :class:`StreamedMover` belongs to the worker thread of its pipeline
(it owns that worker's reusable buffers). It starts read-back threads for large files
and writer threads for multi-chunk files, and joins them before a copy is published.

The pipeline (:mod:`pipeline`) hands it a file that does not go with a group (a large
file, or any file to a destination where ``syncfs`` is not enough, such as a network
share). For that file:

1. The source is opened without following a link or blocking (:mod:`source`) and kept
   open until the driver has checked it is unchanged.
2. Per local target, a hidden partial next to the final name (``O_EXCL``,
   :class:`~partial.PartialFile`); per remote target, an upload (:mod:`remote_dest`).
3. The source is read once in large chunks into reused, page-aligned buffers, hashed
   with BLAKE3 (and what the remotes' servers can prove), and written to every partial
   and upload. On Linux a file of several chunks is read, written and read back with
   ``O_DIRECT`` where the file system honours it (:mod:`direct`): the device moves the
   bytes, not the kernel's page cache, whose copying cost more than the hashing. Every
   ``WINDOW`` bytes each partial is flushed, evicted and read back by a trailing thread
   (:mod:`readback`), so verification overlaps writing.
4. The size read is checked; each partial gets the source's mtime, is ``fsync``\\ ed and
   its read-back finished and compared; each upload is finished and proven by its backend
   (:func:`remote_steps.prove_upload`), overlapping the local read-backs.

What it wrote goes back to the driver as :class:`~copystate.Written` (read back and
matched) and :class:`~copystate.Proven` (proven uploads), which publishes them.
"""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

from almc_assistant.core.destination_backend import SourceDigests
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.remote.digests import ReadPassDigests
from almc_assistant.core.transfer import cache, direct
from almc_assistant.core.transfer.control import JobControl
from almc_assistant.core.transfer.copystate import Adopt, Opened, Proven, Run, Written, dest_error
from almc_assistant.core.transfer.faults import CopyError, mismatch, source_changed
from almc_assistant.core.transfer.hooks import CopyHooks
from almc_assistant.core.transfer.landing import Verified
from almc_assistant.core.transfer.partial import PartialFile
from almc_assistant.core.transfer.progress import Progress
from almc_assistant.core.transfer.remote_dest import RemoteDestination, RemoteStream
from almc_assistant.core.transfer.remote_steps import prove_upload
from almc_assistant.core.transfer.scan import FileTask
from almc_assistant.core.transfer.source import open_source, source_error
from almc_assistant.core.transfer.targets import Target
from almc_assistant.core.transfer.writer import Lease


class StreamedMover:
    def __init__(
        self,
        control: JobControl,
        progress: Progress,
        hooks: CopyHooks,
        *,
        chunk: int,
        window: int,
    ) -> None:
        self._control = control
        self._progress = progress
        self._hooks = hooks
        self._buf = bytearray(chunk)  # for the groups of small files (:mod:`grouped`)
        self._window = window
        # page aligned, for direct I/O (:mod:`direct`); allocated when first needed
        self._rb_bufs: list[direct.Buffer] = []
        self._bufs: list[direct.Buffer] = []

    @property
    def buffer(self) -> bytearray:
        return self._buf

    def _rb_buffer(self, i: int) -> direct.Buffer:
        while len(self._rb_bufs) <= i:
            self._rb_bufs.append(direct.buffer(len(self._buf)))
        return self._rb_bufs[i]

    def move(self, run: Run, task: FileTask, targets: list[Target]) -> None:
        """Write ``task`` to ``targets`` and prove every copy; what is left goes to
        ``run`` (its failures as results)."""
        if self._hooks.before_file is not None:
            self._hooks.before_file(task)
        try:
            fd, before = open_source(task)
        except CopyError as err:
            for t in targets:
                run.results[(task, t)] = err
            return
        run.sources[task] = Opened(before, fd)
        streams: dict[Target, PartialFile] = {}
        uploads: dict[Target, RemoteStream] = {}
        try:
            cache.sequential(fd)
            self._open_streams(run, task, targets, streams)
            self._open_uploads(run, task, targets, uploads)
            digests = self._pump(run, task, fd, targets, streams, uploads)
            proofs = self._finish_all(run, task, digests, streams, uploads)
        except CopyError as err:  # the source failed or changed: every open copy fails
            for t in targets:
                if not isinstance(run.results.get((task, t)), CopyError):
                    run.results[(task, t)] = err
            for stream in streams.values():
                stream.discard()
            for up in uploads.values():
                up.discard()
            return
        except BaseException:
            for stream in streams.values():
                stream.discard()
            for up in uploads.values():
                up.discard()
            raise
        for t, stream in streams.items():
            assert stream.readback is not None
            run.written.append(
                Written(
                    task,
                    t,
                    stream.folder,
                    stream.name,
                    digests.blake3,
                    grouped=False,
                    stream=stream,
                    read_back=stream.readback.method,
                )
            )
        for t, up in uploads.items():
            run.uploads.append(up)
            run.proven.append(Proven((task, t), up, digests, proofs[t]))
        for t in targets:
            if t.adopt:
                run.adopts.append(Adopt(task, t, digests, None))

    def _open_streams(
        self, run: Run, task: FileTask, targets: list[Target], streams: dict[Target, PartialFile]
    ) -> None:
        local = (t for t in targets if not t.adopt and not isinstance(t.dest, RemoteDestination))
        for i, t in enumerate(local):
            assert not isinstance(t.dest, RemoteDestination)
            try:
                folder = t.dest.open_folder(t.relpath.rpartition("/")[0], task.source)
                try:
                    streams[t] = PartialFile(
                        t,
                        folder,
                        self._rb_buffer(i),
                        trailing=task.size > self._window,
                        threaded_writes=task.size > len(self._buf),
                        direct=task.size > len(self._buf),
                        window=self._window,
                        after_flush=self._hooks.after_flush,
                    )
                except BaseException:
                    folder.close()
                    raise
            except CopyError as err:
                run.results[(task, t)] = err
            except OSError as exc:
                run.results[(task, t)] = dest_error(exc, "create", t, task)

    def _open_uploads(
        self, run: Run, task: FileTask, targets: list[Target], uploads: dict[Target, RemoteStream]
    ) -> None:
        for t in targets:
            if t.adopt or not isinstance(t.dest, RemoteDestination):
                continue
            try:
                uploads[t] = t.dest.start(
                    t.relpath,
                    task.size,
                    threaded=task.size > len(self._buf),
                    window=self._window,
                )
            except (AlmcError, OSError) as exc:
                run.results[(task, t)] = t.dest.error(exc, action="upload", source=task.source)

    def _pump(
        self,
        run: Run,
        task: FileTask,
        src_fd: int,
        targets: list[Target],
        streams: dict[Target, PartialFile],
        uploads: dict[Target, RemoteStream],
    ) -> SourceDigests:
        wanted: set[str] = set()  # what the remotes' servers can prove, besides BLAKE3
        for t in targets:
            if isinstance(t.dest, RemoteDestination):
                wanted |= t.dest.backend.wanted_digests()
        hasher = ReadPassDigests(wanted, threads=False)
        # several buffers when writers run on their own threads: the next chunk is read
        # while the previous ones are still being written
        views = [memoryview(b) for b in self._buffers(3 if task.size > len(self._buf) else 1)]
        leases: list[Lease | None] = [None] * len(views)
        total = 0
        next_window = self._window
        src = io.FileIO(src_fd, "r", closefd=False)
        # a large file is read from the device into our buffers (:mod:`direct`)
        direct_read = task.size > len(self._buf) and direct.enable(src_fd)
        i = 0
        while True:
            self._control.checkpoint()
            lease = leases[i]
            if lease is not None:
                lease.wait()  # every writer is done with this buffer
            try:
                n = src.readinto(views[i])
            except OSError as exc:
                if direct_read and direct.refused(exc):  # read the rest through the cache
                    direct_read = False
                    direct.disable(src_fd)
                    src.seek(total)
                    continue
                raise source_error(exc, task) from exc
            if not n:
                break
            if direct_read and not direct.aligned(n):  # the tail, or a short read
                direct_read = False
                direct.disable(src_fd)
            chunk = views[i][:n]
            hasher.update(chunk)
            leases[i] = lease = Lease(len(streams) + len(uploads))
            for stream in streams.values():
                stream.writer.put(chunk, lease)
            for up in uploads.values():
                up.writer.put(chunk, lease)
            self._check_writers(run, task, streams, uploads)
            total += n
            if total >= next_window:
                cache.evict(src_fd, 0, total)
                while next_window <= total:
                    next_window += self._window
            self._progress.add(task, n)
            if self._hooks.on_chunk is not None:
                self._hooks.on_chunk(task, total)
            i = (i + 1) % len(views)
        for stream in streams.values():
            stream.writer.close()
        for up in uploads.values():
            up.writer.close()
        self._check_writers(run, task, streams, uploads)
        if total != task.size:
            raise source_changed(
                task.source, f"it had {task.size} bytes when listed, {total} were read"
            )
        cache.evict(src_fd)
        return hasher.result()

    def _buffers(self, n: int) -> list[direct.Buffer]:
        while len(self._bufs) < n:
            self._bufs.append(direct.buffer(len(self._buf)))
        return self._bufs[:n]

    def _check_writers(
        self,
        run: Run,
        task: FileTask,
        streams: dict[Target, PartialFile],
        uploads: dict[Target, RemoteStream],
    ) -> None:
        """Drop the partials and uploads whose writer failed (their error is the result)."""
        for t, stream in list(streams.items()):
            err = stream.writer.error
            if err is None:
                continue
            if not isinstance(err, OSError):
                raise err
            run.results[(task, t)] = dest_error(err, "write", t, task)
            streams.pop(t).discard()
        for t, up in list(uploads.items()):
            fault = up.writer.error
            if fault is None:
                continue
            if not isinstance(fault, AlmcError | OSError):
                raise fault
            run.results[(task, t)] = up.dest.error(fault, action="upload", source=task.source)
            uploads.pop(t).discard()

    def _finish_all(
        self,
        run: Run,
        task: FileTask,
        digests: SourceDigests,
        streams: dict[Target, PartialFile],
        uploads: dict[Target, RemoteStream],
    ) -> dict[Target, Verified]:
        """Finish the local partials (read-backs) and the uploads (proofs) at once: a
        server hashing a large file and a local read-back overlap instead of adding up.
        Each side touches only its own targets' entries of ``run.results``. Returns what
        the backends proved of the uploads left."""
        proofs: dict[Target, Verified] = {}
        if not (streams and uploads and task.size > len(self._buf)):
            self._finish_streams(run, task, digests.blake3, streams)
            self._finish_uploads(run, task, digests, uploads, proofs)
            return proofs
        failure: list[BaseException] = []

        def remote_side() -> None:
            try:
                self._finish_uploads(run, task, digests, uploads, proofs)
            except BaseException as exc:  # re-raised on the worker's thread below
                failure.append(exc)

        thread = threading.Thread(target=remote_side, name="almc-prove")
        thread.start()
        try:
            self._finish_streams(run, task, digests.blake3, streams)
        finally:
            thread.join()
        if failure:
            raise failure[0]
        return proofs

    def _finish_uploads(
        self,
        run: Run,
        task: FileTask,
        digests: SourceDigests,
        uploads: dict[Target, RemoteStream],
        proofs: dict[Target, Verified],
    ) -> None:
        """Finish each upload, then have its backend prove the stored bytes."""
        for t, up in list(uploads.items()):
            self._control.checkpoint()
            result = prove_upload(up, digests, task.source)
            if isinstance(result, Verified):
                proofs[t] = result
            else:
                run.results[(task, t)] = result
                del uploads[t]

    def _finish_streams(
        self, run: Run, task: FileTask, digest: str, streams: dict[Target, PartialFile]
    ) -> None:
        for t, stream in list(streams.items()):
            assert stream.readback is not None

            def set_mtime(s: PartialFile = stream) -> None:
                where: int | Path = s.fd if os.utime in os.supports_fd else s.partial
                os.utime(where, ns=(time.time_ns(), task.mtime_ns))

            try:
                got = stream.readback.finish(task.size, before_last_flush=set_mtime)
            except OSError as exc:
                run.results[(task, t)] = dest_error(exc, "write", t, task)
                streams.pop(t).discard()
                continue
            if got != digest:
                run.results[(task, t)] = mismatch(task.source, t.final, digest, got)
                streams.pop(t).discard()

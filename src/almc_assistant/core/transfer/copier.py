"""The per-file pipeline: copy one source file to several destinations of any backend,
reading it once, and prove every copy.

Thread contract: a :class:`FileCopier` belongs to one worker thread (it owns that
worker's reusable buffers); many copiers run in parallel. It starts read-back threads of
its own for large files and joins them before returning.

Steps for one file (after rclone's ``copy.go``):

1. Open the source without following a link and without blocking (a FIFO swapped in
   since the scan would otherwise hang), check it is still the regular file listed, and
   keep its identity (:mod:`source`).
2. Per destination, open a hidden partial next to the final name (``O_EXCL``).
3. Read the source once in large chunks into a reused buffer (``readinto``), hash the
   bytes with BLAKE3, write them to every partial. Every ``WINDOW`` bytes each partial
   is flushed, evicted from the cache and read back by a trailing thread
   (:mod:`readback`), so verification overlaps writing.
4. Check the source gave exactly the size it had.
5. Per destination: set the mtime, ``fsync``, finish the read-back and compare BLAKE3.
6. Check the source is unchanged since it was opened (size, mtime, ctime, identity:
   :func:`source.check_unchanged`), then rename the partial to the final name without
   replacing a file that appeared there, or settle with that file (:mod:`landing`), and
   ``fsync`` the folder.

A remote destination (:mod:`remote_dest`, over the ``DestinationBackend`` seam) takes the
same steps in its own terms: its upload is fed from the same read on a writer thread (2);
after the read it is finished and proven by the backend (a hash the server computed over
the stored bytes, or a download back) where a local partial is read back (5); it is
published without replacing, or settled by proof with a file already there (6).

Any failure of one destination removes its partial and leaves the others going. No
final name ever holds unverified bytes. The test seam :class:`CopyHooks` lets tests slow
the copy, change the source, or corrupt a partial on disk between flush and read-back.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core.destination_backend import SourceDigests
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.remote.digests import ReadPassDigests
from almc_assistant.core.transfer import cache
from almc_assistant.core.transfer.control import JobControl
from almc_assistant.core.transfer.faults import (
    CopyError,
    mismatch,
    source_changed,
)
from almc_assistant.core.transfer.landing import Differs, Result, Verified, land, settle
from almc_assistant.core.transfer.partial import PartialFile
from almc_assistant.core.transfer.progress import Progress
from almc_assistant.core.transfer.readback import FlushHook
from almc_assistant.core.transfer.remote_dest import RemoteDestination, RemoteStream
from almc_assistant.core.transfer.remote_steps import adopt_remote, prove_upload, publish_proven
from almc_assistant.core.transfer.scan import FileTask
from almc_assistant.core.transfer.source import check_unchanged, open_source, source_error
from almc_assistant.core.transfer.targets import Target
from almc_assistant.core.transfer.writer import Lease

CHUNK = 4 << 20  # bytes per read from the source
WINDOW = 32 << 20  # bytes per flush/evict/read-back window of a large file

__all__ = ["CHUNK", "WINDOW", "CopyHooks", "Differs", "FileCopier", "Result", "Verified"]


@dataclass(frozen=True, slots=True)
class CopyHooks:
    """Test seam (never set in production).

    ``before_file(task)`` runs before anything of a file is opened (between files).
    ``on_chunk(task, bytes_read)`` runs after each source chunk is read and written.
    ``after_flush(partial, start, end)`` runs after a window of a partial is flushed and
    evicted, right before it is read back: a test may flip a byte on disk there.
    """

    before_file: Callable[[FileTask], None] | None = None
    on_chunk: Callable[[FileTask, int], None] | None = None
    after_flush: FlushHook | None = None


class FileCopier:
    def __init__(
        self,
        control: JobControl,
        progress: Progress,
        hooks: CopyHooks | None = None,
        *,
        chunk: int = CHUNK,
        window: int = WINDOW,
    ) -> None:
        self._control = control
        self._progress = progress
        self._hooks = hooks or CopyHooks()
        self._buf = bytearray(chunk)
        self._window = window
        self._rb_bufs: list[bytearray] = []
        self._bufs: list[bytearray] = [self._buf]

    def _rb_buffer(self, i: int) -> bytearray:
        while len(self._rb_bufs) <= i:
            self._rb_bufs.append(bytearray(len(self._buf)))
        return self._rb_bufs[i]

    def copy(self, task: FileTask, targets: list[Target]) -> dict[Target, Result]:
        """Copy ``task`` to every target once; a result per target."""
        results: dict[Target, Result] = {}
        streams: dict[Target, PartialFile] = {}
        uploads: dict[Target, RemoteStream] = {}
        if self._hooks.before_file is not None:
            self._hooks.before_file(task)
        try:
            try:
                fd, before = open_source(task)
            except CopyError as err:
                return dict.fromkeys(targets, err)
            with io.FileIO(fd, "r", closefd=True) as src:
                cache.sequential(fd)
                self._open_streams(task, targets, streams, results)
                self._open_uploads(task, targets, uploads, results)
                digests = self._pump(task, src, targets, streams, uploads, results)
                self._finish_all(task, digests, streams, uploads, results)
                for t in targets:
                    if t.adopt:
                        results[t] = self._adopt(task, t, digests)
                check_unchanged(task, before, fd)
            for t, stream in list(streams.items()):
                results[t] = self._commit(task, stream, results[t])
            for t, up in list(uploads.items()):
                results[t] = publish_proven(up, digests, results[t], task.source)
        except CopyError as err:  # the source failed or changed: every open copy fails
            for t in targets:
                if not isinstance(results.get(t), CopyError):
                    results[t] = err
        finally:
            for stream in streams.values():
                stream.discard()  # committed ones no longer exist under the partial name
            for up in uploads.values():
                up.discard()  # published ones are left alone
        return results

    def _open_streams(
        self,
        task: FileTask,
        targets: list[Target],
        streams: dict[Target, PartialFile],
        results: dict[Target, Result],
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
                        window=self._window,
                        after_flush=self._hooks.after_flush,
                    )
                except BaseException:
                    folder.close()
                    raise
            except CopyError as err:
                results[t] = err
            except OSError as exc:
                results[t] = self._dest_error(exc, "create", t, task)

    def _open_uploads(
        self,
        task: FileTask,
        targets: list[Target],
        uploads: dict[Target, RemoteStream],
        results: dict[Target, Result],
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
                results[t] = t.dest.error(exc, action="upload", source=task.source)

    def _dest_error(self, exc: OSError, action: str, t: Target, task: FileTask) -> CopyError:
        if isinstance(t.dest, RemoteDestination):
            return t.dest.error(exc, action=action, source=task.source)
        return t.dest.error(exc, action=action, path=t.final, source=task.source)

    def _fail(
        self,
        t: Target,
        err: CopyError,
        streams: dict[Target, PartialFile],
        results: dict[Target, Result],
    ) -> None:
        results[t] = err
        streams.pop(t).discard()

    def _pump(
        self,
        task: FileTask,
        src: io.FileIO,
        targets: list[Target],
        streams: dict[Target, PartialFile],
        uploads: dict[Target, RemoteStream],
        results: dict[Target, Result],
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
        src_fd = src.fileno()
        i = 0
        while True:
            self._control.checkpoint()
            lease = leases[i]
            if lease is not None:
                lease.wait()  # every writer is done with this buffer
            try:
                n = src.readinto(views[i])
            except OSError as exc:
                raise source_error(exc, task) from exc
            if not n:
                break
            chunk = views[i][:n]
            hasher.update(chunk)
            leases[i] = lease = Lease(len(streams) + len(uploads))
            for stream in streams.values():
                stream.writer.put(chunk, lease)
            for up in uploads.values():
                up.writer.put(chunk, lease)
            self._check_writers(task, streams, results)
            self._check_uploads(task, uploads, results)
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
        self._check_writers(task, streams, results)
        self._check_uploads(task, uploads, results)
        if total != task.size:
            raise source_changed(
                task.source, f"it had {task.size} bytes when listed, {total} were read"
            )
        cache.evict(src_fd)
        return hasher.result()

    def _buffers(self, n: int) -> list[bytearray]:
        while len(self._bufs) < n:
            self._bufs.append(bytearray(len(self._buf)))
        return self._bufs[:n]

    def _check_writers(
        self, task: FileTask, streams: dict[Target, PartialFile], results: dict[Target, Result]
    ) -> None:
        """Drop the streams whose writer failed (their error becomes the result)."""
        for t, stream in list(streams.items()):
            err = stream.writer.error
            if err is None:
                continue
            if not isinstance(err, OSError):
                raise err
            self._fail(t, self._dest_error(err, "write", t, task), streams, results)

    def _finish_all(
        self,
        task: FileTask,
        digests: SourceDigests,
        streams: dict[Target, PartialFile],
        uploads: dict[Target, RemoteStream],
        results: dict[Target, Result],
    ) -> None:
        """Finish the local partials (read-backs) and the uploads (proofs) at once: a
        server hashing a large file and a local read-back overlap instead of adding up.
        Each side touches only its own targets' entries of ``results``."""
        if not (streams and uploads and task.size > len(self._buf)):
            self._finish_streams(task, digests.blake3, streams, results)
            self._finish_uploads(task, digests, uploads, results)
            return
        failure: list[BaseException] = []

        def remote_side() -> None:
            try:
                self._finish_uploads(task, digests, uploads, results)
            except BaseException as exc:  # re-raised on the copier's thread below
                failure.append(exc)

        thread = threading.Thread(target=remote_side, name="almc-prove")
        thread.start()
        try:
            self._finish_streams(task, digests.blake3, streams, results)
        finally:
            thread.join()
        if failure:
            raise failure[0]

    def _check_uploads(
        self, task: FileTask, uploads: dict[Target, RemoteStream], results: dict[Target, Result]
    ) -> None:
        """Drop the uploads whose writer failed (their error becomes the result)."""
        for t, up in list(uploads.items()):
            err = up.writer.error
            if err is None:
                continue
            if not isinstance(err, AlmcError | OSError):
                raise err
            results[t] = up.dest.error(err, action="upload", source=task.source)
            uploads.pop(t).discard()

    def _finish_uploads(
        self,
        task: FileTask,
        digests: SourceDigests,
        uploads: dict[Target, RemoteStream],
        results: dict[Target, Result],
    ) -> None:
        """Finish each upload, then have its backend prove the stored bytes."""
        for t, up in list(uploads.items()):
            self._control.checkpoint()
            results[t] = prove_upload(up, digests, task.source)
            if not isinstance(results[t], Verified):
                del uploads[t]

    def _finish_streams(
        self,
        task: FileTask,
        digest: str,
        streams: dict[Target, PartialFile],
        results: dict[Target, Result],
    ) -> None:
        for t, stream in list(streams.items()):
            assert stream.readback is not None

            def set_mtime(s: PartialFile = stream) -> None:
                where: int | Path = s.fd if os.utime in os.supports_fd else s.partial
                os.utime(where, ns=(time.time_ns(), task.mtime_ns))

            try:
                got = stream.readback.finish(task.size, before_last_flush=set_mtime)
            except OSError as exc:
                self._fail(t, self._dest_error(exc, "write", t, task), streams, results)
                continue
            if got != digest:
                self._fail(t, mismatch(task.source, t.final, digest, got), streams, results)
            else:
                method = stream.readback.method
                results[t] = Verified(digest, time.time(), adopted=False, read_back=method)

    def _adopt(self, task: FileTask, t: Target, digests: SourceDigests) -> Result:
        """Read back the same-size file already at the final name; keep it if it matches
        (a remote one: proven by its backend)."""
        digest = digests.blake3
        if isinstance(t.dest, RemoteDestination):
            return adopt_remote(t.dest, t.relpath, digests, task.source)
        try:
            with t.dest.open_folder(t.relpath.rpartition("/")[0], task.source) as folder:
                result = settle(
                    folder, t, digest, self._buf, self._control.checkpoint, task.mtime_ns
                )
        except CopyError as err:
            return err
        except OSError as exc:
            return self._dest_error(exc, "read back", t, task)
        return result

    def _commit(self, task: FileTask, stream: PartialFile, result: Result) -> Result:
        t = stream.target
        if not isinstance(result, Verified):
            return result
        try:
            stream.close()
            t.dest.check_alive(task.source)
            landed = land(stream.folder, stream.name, t, result.digest, self._buf)
            if isinstance(landed, Verified) and not landed.adopted:
                stream.published = True  # the partial's name is gone
                stream.folder.fsync()
                t.dest.manifest.record(t.relpath, result.digest)
        except CopyError as err:
            return err
        except OSError as exc:
            return self._dest_error(exc, "finish the verified copy", t, task)
        return landed

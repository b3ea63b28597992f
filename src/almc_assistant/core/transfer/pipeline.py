"""The one local per-file pipeline: copy files to destinations of any backend, reading
each source once, and prove every copy before it gets its final name.

Thread contract: a :class:`FilePipeline` belongs to one worker thread (it owns that
worker's buffers); many run in parallel, one per worker. One file and a group of small
files go through the same :meth:`FilePipeline.copy` and the same steps.

Steps, for every copy of every file handed in (after rclone's ``copy.go``):

1. **Write.** The bytes go from one read of the source into a hidden partial per local
   target and an upload per remote target. A small file to local file systems where
   ``syncfs`` is enough is read whole with its group (:mod:`grouped`); any other file is
   read in chunks, its partials read back while written (:mod:`streamed`).
2. **Make durable.** A streamed partial is ``fsync``\\ ed by its read-back; the grouped
   partials of a device are made durable together by one ``syncfs``.
3. **Read back and compare.** Every partial is read back from storage (its cached pages
   dropped first) and its BLAKE3 compared with the source's; a remote copy is proven by
   its backend (:mod:`remote_steps`) where a local partial is read back.
4. **Already there.** A same-size file found at a final name when planning (a rerun) is
   read back from storage and kept if its BLAKE3 matches (:mod:`landing`); a remote one
   counts only if its backend proves it.
5. **Source unchanged.** Every source is checked unchanged since it was opened (size,
   mtime, ctime, identity: :func:`source.check_unchanged`); otherwise all its copies fail.
6. **Publish.** Each verified partial is renamed to its final name without replacing a
   file that appeared there (or settled with that file: :func:`landing.land`); the
   renames are made durable (``syncfs`` per device for a group, the folder's ``fsync``
   otherwise) before the copies are written to the destination's manifest and reported
   verified.

Any failure of one copy removes its partial and leaves the others going. No final name
ever holds unverified bytes: only step 6 gives one, and only to a partial that passed
steps 2-5.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections import defaultdict

from almc_assistant.core.smallcopy import Helper
from almc_assistant.core.statfs import memory_backed
from almc_assistant.core.transfer import cache, offload
from almc_assistant.core.transfer.control import JobControl
from almc_assistant.core.transfer.copystate import Key, Run, Written, dest_error, local
from almc_assistant.core.transfer.destination import JobDestination
from almc_assistant.core.transfer.events import READ_BACK_IN_MEMORY, READ_BACK_UNBUFFERED
from almc_assistant.core.transfer.faults import CopyError, mismatch
from almc_assistant.core.transfer.folder import Folder
from almc_assistant.core.transfer.grouped import PREFETCH, GroupedMover, batchable, syncfs
from almc_assistant.core.transfer.hashing import hash_fd, open_from_storage
from almc_assistant.core.transfer.hooks import CHUNK, WINDOW, CopyHooks
from almc_assistant.core.transfer.landing import Differs, Result, Verified, accept, land, settle
from almc_assistant.core.transfer.naming import release_partial
from almc_assistant.core.transfer.progress import Progress
from almc_assistant.core.transfer.remote_dest import RemoteDestination
from almc_assistant.core.transfer.remote_steps import adopt_remote, publish_proven
from almc_assistant.core.transfer.scan import FileTask
from almc_assistant.core.transfer.source import check_unchanged
from almc_assistant.core.transfer.streamed import StreamedMover
from almc_assistant.core.transfer.targets import Target

__all__ = ["CHUNK", "WINDOW", "CopyHooks", "Differs", "FilePipeline", "Key", "Result", "Verified"]

Item = tuple[FileTask, list[Target]]


class FilePipeline:
    def __init__(
        self,
        control: JobControl,
        progress: Progress,
        hooks: CopyHooks | None = None,
        *,
        chunk: int = CHUNK,
        window: int = WINDOW,
        helper: Helper | None = None,
    ) -> None:
        """``helper``: a worker process for groups of small files (:mod:`offload`)."""
        self._control = control
        self._progress = progress
        self._helper = helper
        hooks = hooks or CopyHooks()
        self._streamed = StreamedMover(control, progress, hooks, chunk=chunk, window=window)
        self._buf = self._streamed.buffer
        self._grouped = GroupedMover(control, progress, hooks, self._buf)
        self._hooks = hooks

    def groupable(self, task: FileTask, targets: list[Target]) -> bool:
        """Whether ``task`` may go with a group: read whole, made durable by ``syncfs``."""
        return task.size <= len(self._buf) and all(batchable(t.dest) or t.remote for t in targets)

    def copy(self, items: list[Item], *, group: bool = True) -> dict[Key, Result]:
        """Copy every file of ``items`` to its targets; a result per (file, target).
        ``group``: small files may be read whole and made durable together."""
        run = Run()
        try:
            small: list[Item] = []
            for task, targets in items:  # in order: hooks see the files as listed
                if group and self.groupable(task, targets):
                    small.append((task, targets))
                    continue
                self._move_small(run, small)
                small.clear()
                self._streamed.move(run, task, targets)
            self._move_small(run, small)
            self._make_durable(run)
            self._read_back(run)
            self._adopt(run)
            self._check_sources(run)
            self._publish(run)
            self._publish_remote(run)
            for key, future in run.pending:
                run.results[key] = future.result()
        finally:
            self._clean_up(run)
        return run.results

    def _move_small(self, run: Run, small: list[Item]) -> None:
        """Write a group of small files: in the worker process if there is one and the
        group suits it (already read back there), else on this thread."""
        if self._helper is not None and small and offload.wanted(small, self._hooks):
            offload.move(self._helper, self._control, self._progress, run, small)
        else:
            self._grouped.move(run, small)

    def _make_durable(self, run: Run) -> None:
        """One ``syncfs`` per device for the grouped partials (a write-back error shows
        here, as ``fsync`` would show it); those read back in a worker process are."""
        grouped = [w for w in run.live() if w.grouped and not w.read_back]
        for device, dest in _one_per_device(grouped).items():
            try:
                syncfs(dest.root)
            except OSError as exc:
                for w in grouped:
                    if w.target.dest.device == device:
                        run.fail(w, dest_error(exc, "write", w.target, w.task))

    def _read_back(self, run: Run) -> None:
        """Read the grouped partials back from storage, 32 at a time with their reads
        started together (their storage latencies overlap), and compare; those moved by
        direct I/O (:mod:`grouped`) are read with ``O_DIRECT`` instead, after their
        pages were dropped all the same."""
        todo = [w for w in run.live() if w.grouped and not w.read_back]
        in_memory: dict[int, bool] = {}  # per folder: one statfs, not one per file
        for i in range(0, len(todo), PREFETCH):
            window = todo[i : i + PREFETCH]
            if self._hooks.after_flush is not None:
                for w in window:
                    self._hooks.after_flush(w.path, 0, w.task.size)
            fds: list[tuple[int, int] | OSError] = []
            unbuffered: list[bool] = []  # per partial: read back with O_DIRECT
            for w in window:  # cache dropped, storage reads started for the whole window
                try:
                    fd, size = open_from_storage(w.folder, w.name)
                except OSError as exc:
                    fds.append(exc)
                    unbuffered.append(False)
                    continue
                fds.append((fd, size))
                unbuffered.append(self._grouped.direct_on(fd, w.target.dest.device, size))
                if not unbuffered[-1]:
                    cache.prefetch(fd)
            for w, opened, direct in zip(window, fds, unbuffered, strict=True):
                try:
                    if isinstance(opened, OSError):
                        raise opened
                    if direct:
                        got, direct = self._grouped.hash_stored(*opened)
                    else:
                        got, _ = hash_fd(opened[0], self._buf, opened[1])
                except OSError as exc:
                    run.fail(w, dest_error(exc, "read back", w.target, w.task))
                    continue
                finally:
                    if not isinstance(opened, OSError):
                        os.close(opened[0])
                if got != w.digest:
                    run.fail(w, mismatch(w.task.source, w.target.final, w.digest, got))
                    continue
                if id(w.folder) not in in_memory:
                    in_memory[id(w.folder)] = _memory_backed(w.folder)
                if in_memory[id(w.folder)]:
                    w.read_back = READ_BACK_IN_MEMORY
                elif direct:  # every byte read from the device by O_DIRECT
                    w.read_back = READ_BACK_UNBUFFERED

    def _adopt(self, run: Run) -> None:
        """Read back the files found at adopted names; equal bytes are adopted, others
        are ``Differs``. A grouped one is read with the group's reads overlapped."""
        grouped = [a for a in run.adopts if a.folder is not None]
        for a in run.adopts:
            if a.folder is not None:
                continue
            t = a.target
            if isinstance(t.dest, RemoteDestination):
                result = adopt_remote(t.dest, t.relpath, a.digests, a.task.source)
            else:
                result = self._settle(a.task, t, a.digests.blake3)
            run.results[(a.task, t)] = result
        for i in range(0, len(grouped), PREFETCH):
            window = grouped[i : i + PREFETCH]
            fds: list[tuple[int, int] | OSError] = []
            for a in window:
                assert a.folder is not None
                try:
                    fds.append(open_from_storage(a.folder, a.target.final.name, prefetch=True))
                except OSError as exc:
                    fds.append(exc)
            for a, opened in zip(window, fds, strict=True):
                assert a.folder is not None
                key = (a.task, a.target)
                if isinstance(opened, OSError):
                    if opened.errno in (errno.ELOOP, errno.EISDIR):  # a link, not a file
                        run.results[key] = Differs()
                    else:
                        run.results[key] = dest_error(opened, "read back", a.target, a.task)
                    continue
                fd = opened[0]
                try:
                    got, _ = hash_fd(fd, self._buf, opened[1])
                except OSError as exc:
                    run.results[key] = dest_error(exc, "read back", a.target, a.task)
                    continue
                finally:
                    os.close(fd)
                digest = a.digests.blake3
                if got != digest:
                    run.results[key] = Differs()
                else:
                    run.results[key] = accept(a.folder, a.target, digest, a.task.mtime_ns)

    def _settle(self, task: FileTask, t: Target, digest: str) -> Result:
        """Read back the same-size file at a streamed file's final name; keep it if equal."""
        try:
            with local(t).open_folder(t.relpath.rpartition("/")[0], task.source) as folder:
                return settle(folder, t, digest, self._buf, self._control.checkpoint, task.mtime_ns)
        except CopyError as err:
            return err
        except OSError as exc:
            return dest_error(exc, "read back", t, task)

    def _check_sources(self, run: Run) -> None:
        """Every source unchanged since it was opened, or all its copies fail."""
        changed: dict[FileTask, CopyError] = {}
        for task, opened in run.sources.items():
            try:
                check_unchanged(task, opened.before, opened.fd)
            except CopyError as why:
                changed[task] = why
            finally:
                if opened.fd is not None:
                    os.close(opened.fd)
                    opened.fd = None
        if not changed:
            return
        for w in run.live():
            if (fault := changed.get(w.task)) is not None:
                run.fail(w, fault)
        for a in run.adopts:
            if (fault := changed.get(a.task)) is not None:
                run.results[(a.task, a.target)] = fault
        for p in run.proven:
            if (fault := changed.get(p.key[0])) is not None:
                run.results[p.key] = fault

    def _publish(self, run: Run) -> None:
        """Give every verified partial its final name, make the renames durable, then
        record the copies in the manifest."""
        renamed: list[Written] = []
        checked: set[JobDestination] = set()
        at_path: dict[int, bool] = {}  # a group's folder: checked once, before its renames
        for w in run.live():
            t = w.target
            try:
                if w.stream is not None:
                    w.stream.close()  # writer and read-back threads joined, fd closed
                if t.dest not in checked:  # once per destination and run
                    t.dest.check_alive(w.task.source)
                    checked.add(local(t))
                if (here := at_path.get(id(w.folder))) is None:
                    here = at_path[id(w.folder)] = w.folder.still_at_path()
                landed = land(w.folder, w.name, t, w.digest, self._buf, at_path=here)
            except CopyError as err:
                run.fail(w, err)
                continue
            except OSError as exc:
                action = "rename" if w.grouped else "finish the verified copy"
                run.fail(w, dest_error(exc, action, t, w.task))
                continue
            if isinstance(landed, Verified) and not landed.adopted:
                w.committed = True
                if w.stream is not None:
                    w.stream.published = True  # the partial's name is gone
                renamed.append(w)
            else:  # a file appeared at the name: settled with it (the partial goes)
                run.results[(w.task, t)] = landed
                w.failed = True
        durable = self._make_renames_durable(run, renamed)
        by_dest: defaultdict[JobDestination, list[Written]] = defaultdict(list)
        for w in durable:
            by_dest[local(w.target)].append(w)
        for dest, mine in by_dest.items():
            try:
                dest.manifest.record_many([(w.target.relpath, w.digest) for w in mine])
            except CopyError as err:  # e.g. a link planted at the manifest's lock file
                for w in mine:
                    run.results[(w.task, w.target)] = err
                continue
            now = time.time()
            for w in mine:
                run.results[(w.task, w.target)] = Verified(
                    w.digest, now, adopted=False, read_back=w.read_back
                )

    def _make_renames_durable(self, run: Run, renamed: list[Written]) -> list[Written]:
        """``syncfs`` once per device for the grouped copies, the folder's ``fsync`` for the
        others; the copies whose rename is durable."""
        failed: set[int] = set()
        grouped = [w for w in renamed if w.grouped]
        for device, dest in _one_per_device(grouped).items():
            try:
                syncfs(dest.root)
            except OSError as exc:
                for w in grouped:
                    if w.target.dest.device == device:
                        failed.add(id(w))
                        run.results[(w.task, w.target)] = dest_error(
                            exc, "finish the verified copy", w.target, w.task
                        )
        for w in renamed:
            if w.grouped:
                continue
            try:
                w.folder.fsync()
            except OSError as exc:  # the bytes are verified but the rename may not be durable
                failed.add(id(w))
                run.results[(w.task, w.target)] = dest_error(
                    exc, "finish the verified copy", w.target, w.task
                )
        return [w for w in renamed if id(w) not in failed]

    def _publish_remote(self, run: Run) -> None:
        """Publish the streamed files' proven remote copies whose source is unchanged."""
        for p in run.proven:
            result = run.results.get(p.key)
            if isinstance(result, CopyError):
                continue
            run.results[p.key] = publish_proven(p.stream, p.digests, p.result, p.key[0].source)

    def _clean_up(self, run: Run) -> None:
        if run.pool is not None:  # its uploads end before their partials go
            run.pool.shutdown(wait=True, cancel_futures=True)
            run.pool = None
        for up in run.uploads:
            up.discard()  # published ones are left alone
        for opened in run.sources.values():
            if opened.fd is not None:
                os.close(opened.fd)
                opened.fd = None
        for w in run.written:
            if w.stream is not None:
                if not w.discarded:
                    w.stream.discard()  # a published one is only closed
                continue
            if not w.committed:
                with contextlib.suppress(OSError):
                    w.folder.unlink(w.name)
            release_partial(w.name)
        for folder in run.folders.values():
            folder.close()
        run.folders.clear()


def _one_per_device(written: list[Written]) -> dict[int, JobDestination]:
    """One destination per file system: ``syncfs`` once for two destinations on one disk."""
    out: dict[int, JobDestination] = {}
    for w in written:
        out.setdefault(local(w.target).device, local(w.target))
    return out


def _memory_backed(folder: Folder) -> bool:
    return memory_backed(folder.path if folder.fd is None else folder.fd)

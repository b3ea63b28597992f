"""A copy job: scan, preflight, a pool of workers, manifests and receipts; the public API.

Thread contract: :func:`start_copy` returns at once; the job runs on its own thread
(``almc-copy-<id>``) with ``workers`` pool threads, all publishing to the given sink.
:class:`CopyJob` methods may be called from any thread. :func:`run_copy` runs the same job
on the caller's thread (with ``workers=1`` no pool thread at all: deterministic tests).

Order of events: ``SourceSkipped``/``DestinationRefused``/preflight ``CopyFailed``, then
``JobStarted``, then per file and destination one of ``CopyVerified``/``CopySkipped``/
``CopyFailed`` interleaved with ``JobProgressed``, and ``JobFinished`` last, always.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from almc_assistant.core.destination_backend import DestinationBackend
from almc_assistant.core.errors import AlmcError, describe_os_error
from almc_assistant.core.events import EventSink
from almc_assistant.core.remotepaths import remote_path
from almc_assistant.core.smallcopy import Helper, stop_all
from almc_assistant.core.smallcopy import available as smallcopy_available
from almc_assistant.core.transfer import direct
from almc_assistant.core.transfer.concurrency import (
    PROCESS_FILE_SIZE,
    PROCESS_MIN_FILES,
    choose_workers,
    process_workers,
)
from almc_assistant.core.transfer.control import JobControl
from almc_assistant.core.transfer.destination import JobDestination
from almc_assistant.core.transfer.events import (
    CopyFailed,
    DestinationRefused,
    JobFinished,
    JobSnapshot,
    JobStarted,
    JobSummary,
    SourceSkipped,
)
from almc_assistant.core.transfer.faults import Cancelled
from almc_assistant.core.transfer.grouped import batchable
from almc_assistant.core.transfer.hooks import CHUNK, WINDOW, CopyHooks
from almc_assistant.core.transfer.listing import FolderListings
from almc_assistant.core.transfer.ontoitself import refuse_copy_onto_itself
from almc_assistant.core.transfer.preflight import (
    SPACE_MARGIN,
    OpenedDestinations,
    open_destinations,
)
from almc_assistant.core.transfer.progress import Progress
from almc_assistant.core.transfer.receipt import ReceiptTimes, VerifiedRows, write_receipt
from almc_assistant.core.transfer.receipt_datasets import DatasetOf, remembered
from almc_assistant.core.transfer.remote_dest import RemoteDestination
from almc_assistant.core.transfer.scan import FileTask, scan_sources
from almc_assistant.core.transfer.spread import FOLDERS, by_folders, folder_count
from almc_assistant.core.transfer.targets import OnConflict
from almc_assistant.core.transfer.worker import AnyDestination, FileWorker, JobContext
from almc_assistant.core.units import human_size

if TYPE_CHECKING:
    from almc_assistant.core.remote.session import RemoteSession

log = logging.getLogger(__name__)

# seconds between two rounds of receipt rows formatted while the workers copy: a round
# of 0.2 s of copies (a few thousand small files) takes milliseconds
_MEANWHILE = 0.2


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyRequest:
    sources: list[Path]
    destinations: list[Path]
    workers: int | None = None
    on_conflict: OnConflict = OnConflict.KEEP_BOTH
    # Acquisition folders: a source inside one lands at its path relative to it
    # (``core.layout``); empty: every source lands under its own name.
    relative_to: tuple[Path, ...] = ()
    # Create a missing destination folder whose parent is an ordinary folder (the CLI's
    # ``copy --to NEW``). Off for configured destinations: missing means not reachable.
    create_missing: bool = False
    hooks: CopyHooks | None = None  # test seam only
    # Which dataset a source file belongs to, for the receipts' dataset section (the
    # service's: it knows datasets). None: no such section.
    dataset_of: DatasetOf | None = None
    progress_interval: float = 0.25
    chunk_size: int = CHUNK  # bytes per source read (one reused buffer per worker)
    window: int = WINDOW  # large files: bytes per flush / evict / read-back window
    group_files: int = 64  # small files made durable together (one syncfs per group)
    group_small_files: bool = True  # False: every file alone (as on macOS and Windows)
    group_bytes: int = 64 << 20
    # Worker processes for groups of small files (``core.smallcopy``): None, automatic
    # (a job of at least ``PROCESS_MIN_FILES`` files of up to ``PROCESS_FILE_SIZE``, all
    # to local destinations, on Linux); 0: threads only; N: N processes (N workers).
    processes: int | None = None
    # Remote destinations (``research:lab/me``: an rclone remote in the user's private
    # rclone.conf, core.remote); their files go through the same per-file pipeline.
    # An opened backend may be given instead of its text: the caller owns it (and its
    # daemon); the job only closes its manifest.
    remotes: tuple[str | DestinationBackend, ...] = ()
    rclone_config: Path | None = None  # the private rclone.conf (default: the user's)
    # The rclone daemon to open remotes on: the service's, shared by its jobs (the
    # caller stops it). None: the job starts its own and stops it at its end.
    remote_session: RemoteSession | None = None


@dataclass(frozen=True, slots=True)
class JobResult:
    summary: JobSummary
    error: AlmcError | None = None  # set when the job was refused before copying


@dataclass
class _Run:
    """Mutable state of one run, owned by the job thread."""

    ctx: JobContext
    started: float = field(default_factory=time.time)
    t0: float = field(default_factory=time.monotonic)
    files_total: int = 0
    bytes_total: int = 0
    sources_skipped: int = 0
    refused: int = 0
    receipts: list[PurePath] = field(default_factory=list)
    manifests: list[PurePath] = field(default_factory=list)
    remotes: list[RemoteDestination] = field(default_factory=list)
    times: ReceiptTimes = field(default_factory=ReceiptTimes)  # shared by the receipts
    # per destination (id): its receipt rows so far; None: formatted at the end instead
    rows: dict[int, VerifiedRows | None] = field(default_factory=dict)
    # the receipts' dataset finder, answering once per source (``remembered``); asked
    # while the workers copy unless it failed there (``finding``)
    datasets: DatasetOf | None = None
    finding: bool = True

    def format_rows(self, dests: list[AnyDestination]) -> None:
        """Format the receipt rows of the copies verified since the last call, and find
        their sources' datasets (asked once per source: the receipts' dataset sections
        then only look them up). A row that cannot be formatted stops this for its
        destination, and a finder that fails (other than ``OSError``, which is not
        remembered) stops the finding: the receipts do it at the end, as without this.
        Never raises: the copy goes on."""
        for dest in dests:
            if id(dest) not in self.rows:
                self.rows[id(dest)] = VerifiedRows(self.times)
            if (rows := self.rows[id(dest)]) is None:
                continue
            start = rows.done
            try:
                rows.take(dest.records)
            except Exception:  # never stops the copy: formatted at the end, as before
                log.debug("receipt rows for %s left for the end", dest.root, exc_info=True)
                self.rows[id(dest)] = None
            if (find := self.datasets) is None or not self.finding:
                continue
            for record in dest.records[start : rows.done]:  # the copies just formatted
                try:
                    find(record.source)
                except OSError:
                    pass
                except Exception:  # the receipts ask again at the end
                    log.debug("datasets left for the end", exc_info=True)
                    self.finding = False
                    break


_PACE_LOCK = threading.Lock()
_PACED: list[tuple[int, int, int]] = []  # the thresholds before the first running job
FULL_COLLECTION_PACE = 10  # while jobs run: a full collection this many times less often


@contextlib.contextmanager
def _fewer_full_collections() -> Iterator[None]:
    """While copy jobs run in this process: Python's cyclic garbage collector scans every
    live object (a job's records, its paths) this many times less often in full (issue
    17: five full scans of a 20,000-file job's copies cost a quarter of a second of the
    job's one interpreter). Young objects are collected as before; the process's own
    thresholds come back when the last job ends."""
    with _PACE_LOCK:
        if not _PACED:
            young, middle, full = gc.get_threshold()
            gc.set_threshold(young, middle, full * FULL_COLLECTION_PACE)
            _PACED.append((young, middle, full))
        else:
            _PACED.append(_PACED[0])
    try:
        yield
    finally:
        with _PACE_LOCK:
            before = _PACED.pop()
            if not _PACED:
                gc.set_threshold(*before)


class CopyJob:
    """Handle on a running job."""

    def __init__(self, request: CopyRequest, sink: EventSink, job_id: str = "") -> None:
        self.job_id = job_id or secrets.token_hex(6)  # the caller's, or a new one
        self.request = request
        self._sink = sink
        self._control = JobControl()
        self._progress = Progress(self.job_id, sink, interval=request.progress_interval)
        self._result: JobResult | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    # -- control, from any thread
    # A pause and a resume say so at once (a snapshot): paused workers add no bytes, and
    # so would publish nothing; every front end (the window, the tray, the CLI) learns of
    # it. A cancel is told by the job's end (``JobFinished``).
    def pause(self) -> None:
        self._control.pause()
        self._progress.set_state("paused")
        self._progress.maybe_publish(force=True)

    def resume(self) -> None:
        self._control.resume()
        self._progress.set_state("running")
        self._progress.maybe_publish(force=True)

    def cancel(self) -> None:
        self._control.cancel()
        self._progress.set_state("cancelling")

    def snapshot(self) -> JobSnapshot:
        return self._progress.snapshot()

    def wait(self, timeout: float | None = None) -> JobResult | None:
        """The result once finished; ``None`` if ``timeout`` passed first."""
        if not self._done.wait(timeout):
            return None
        if self._thread is not None:
            self._thread.join()
        return self._result

    # -- running
    def start(self) -> CopyJob:
        self._thread = threading.Thread(target=self.run, name=f"almc-copy-{self.job_id}")
        self._thread.start()
        return self

    def run(self) -> JobResult:
        ctx = JobContext(
            job_id=self.job_id,
            sink=self._sink,
            control=self._control,
            progress=self._progress,
            policy=OnConflict(self.request.on_conflict),
            hooks=self.request.hooks,
            chunk_size=self.request.chunk_size,
            window=self.request.window,
            group_small_files=self.request.group_small_files,
        )
        run = _Run(ctx, datasets=remembered(self.request.dataset_of))
        error: AlmcError | None = None
        state = "completed"
        session = own = None
        if any(isinstance(r, str) for r in self.request.remotes):
            from almc_assistant.core.remote.session import RemoteSession

            session = self.request.remote_session
            if session is None:
                session = own = RemoteSession(self.request.rclone_config)
        try:
            with _fewer_full_collections():
                state = self._run(run, session)
        except AlmcError as err:
            error, state = err, "refused"
        except Exception as exc:
            log.exception("copy job %s failed", self.job_id)
            error = AlmcError(
                f"An unexpected error stopped the copy: {type(exc).__name__}: {exc}",
                title="Internal error",
                next_step="Run again with -vv and send the output to the facility staff.",
            )
            state = "failed"
        finally:
            if own is not None:
                own.stop()
        c = ctx.counts
        summary = JobSummary(
            job_id=self.job_id,
            state=state,
            files_total=run.files_total,
            bytes_total=run.bytes_total,
            verified=c.verified,
            skipped=c.skipped,
            failed=c.failed + run.refused,
            pending_upload=c.pending_upload,
            workers=ctx.workers,
            sources_skipped=run.sources_skipped,
            bytes_copied=c.bytes_copied,
            seconds=time.monotonic() - run.t0,
            receipts=tuple(run.receipts),
            manifests=tuple(run.manifests),
            error_title=error.title if error else "",
            error_detail=error.detail if error else "",
            error_next_step=error.next_step if error else "",
        )
        self._progress.set_state("finished")
        self._progress.maybe_publish(force=True)
        self._result = JobResult(summary, error)
        self._sink.publish(JobFinished(job_id=self.job_id, summary=summary))
        self._done.set()
        return self._result

    def _run(self, run: _Run, session: RemoteSession | None) -> str:
        ctx = run.ctx
        scan = scan_sources([Path(s) for s in self.request.sources], self.request.relative_to)
        for path, reason in scan.skipped:
            run.sources_skipped += 1
            self._sink.publish(SourceSkipped(job_id=self.job_id, source=path, reason=reason))
        roots = [Path(os.path.normpath(Path(d).absolute())) for d in self.request.destinations]
        refuse_copy_onto_itself([Path(s) for s in self.request.sources], roots)
        pre = open_destinations(scan.files, roots, ctx.policy, create=self.request.create_missing)
        if self.request.remotes:
            run.remotes = self._open_remotes(session, scan.files, pre)
        self._publish_preflight(pre, run)
        run.files_total, run.bytes_total = len(scan.files), scan.total_bytes
        self._sink.publish(
            JobStarted(
                job_id=self.job_id,
                total_files=run.files_total,
                total_bytes=run.bytes_total,
                destinations=tuple(roots) + tuple(r.root for r in run.remotes),
            )
        )
        self._progress.start(run.files_total, run.bytes_total)
        cancelled = False
        try:
            dests: list[AnyDestination] = [*pre.destinations, *run.remotes]
            self._pool(scan.files, pre, run.remotes, ctx, lambda: run.format_rows(dests))
        except Cancelled:
            cancelled = True
        self._finish_destinations([*pre.destinations, *run.remotes], run, cancelled)
        if cancelled:
            return "cancelled"
        problems = ctx.counts.failed + run.refused + run.sources_skipped
        if problems:
            return "completed with problems"
        return "pending upload" if ctx.counts.pending_upload else "completed"

    def _publish_preflight(self, pre: OpenedDestinations, run: _Run) -> None:
        for root, err in pre.refused:
            run.refused += 1
            self._sink.publish(
                DestinationRefused(
                    job_id=self.job_id,
                    destination_root=root,
                    title=err.title,
                    detail=err.detail,
                    next_step=err.next_step,
                )
            )
        if pre.refused and not pre.destinations and not run.remotes:
            first = pre.refused[0][1]
            raise first
        for task, dest, reason in pre.file_problems:
            run.refused += 1
            dest.add_failure(task.source, reason)
            self._sink.publish(
                CopyFailed(
                    job_id=self.job_id,
                    source=task.source,
                    destination_root=dest.root,
                    title=f"{task.source.name} cannot be stored on {dest.fs.label}",
                    detail=f"{task.source} cannot be copied to {dest.root}: {reason}.",
                    next_step="Rename the file, or use a destination formatted as exFAT "
                    "or NTFS (or one without these limits).",
                    retryable=False,
                )
            )

    def _open_remotes(
        self, session: RemoteSession | None, files: list[FileTask], pre: OpenedDestinations
    ) -> list[RemoteDestination]:
        """Open each remote destination (a probe: reachable, writable, which proof) and
        check its free space where the backend can tell; refusals join ``pre.refused``."""
        from almc_assistant.core.remote.session import refused

        out: list[RemoteDestination] = []
        needed = sum(f.size for f in files)
        for item in self.request.remotes:
            text = item if isinstance(item, str) else item.root
            try:
                if isinstance(item, str):
                    assert session is not None
                    backend: DestinationBackend = session.open(item)
                else:
                    backend = item
                free_space = getattr(backend, "free_space", None)
                free = free_space() if needed and free_space is not None else None
                if free is not None and needed + SPACE_MARGIN > free:
                    raise AlmcError(
                        f"not enough free space: this copy needs {human_size(needed)}, "
                        f"only {human_size(free)} are free",
                        next_step="Free space there, choose another destination, or copy "
                        "fewer files.",
                    )
                out.append(RemoteDestination(backend, text))
            except AlmcError as err:
                pre.refused.append((remote_path(text), refused(text, err)))
        return out

    def _pool(
        self,
        files: list[FileTask],
        pre: OpenedDestinations,
        remotes: list[RemoteDestination],
        ctx: JobContext,
        meanwhile: Callable[[], None] = lambda: None,
    ) -> None:
        """Copy ``files`` on the workers; ``meanwhile``: called on this thread every
        :data:`_MEANWHILE` seconds while they run (the receipts' rows are formatted)."""
        excluded: dict[int, set[Path]] = {}
        for task, dest, _ in pre.file_problems:
            excluded.setdefault(id(task), set()).add(dest.root)

        def dests_for(task: FileTask) -> list[AnyDestination]:
            no = excluded.get(id(task), set())
            return [d for d in pre.destinations if d.root not in no] + list(remotes)

        share = not all(batchable(d) for d in pre.destinations)
        n = self.request.workers or choose_workers(
            [d.latency for d in pre.destinations],
            shares=sum(d.share for d in pre.destinations),
            others=len(remotes),
            folders=min(folder_count(files), FOLDERS) if share else 1,
            mean_size=sum(f.size for f in files) / max(len(files), 1),
        )
        helpers = self._helpers(files, share, bool(remotes), ctx)
        if helpers:
            n = len(helpers)  # one worker thread per process: it waits on its child
            for d in pre.destinations:  # a name's look-up per file, from one listing
                if d.listings is None:
                    d.listings = FolderListings(d.root)
        ctx.workers = n
        todo: queue.SimpleQueue[FileTask] = queue.SimpleQueue()
        for task in by_folders(files) if share else files:  # a share: a few folders at once
            todo.put(task)
        cancelled = threading.Event()
        group_files, group_bytes = self.request.group_files, self.request.group_bytes
        if share:
            # a mounted share: its files go one by one, so a group would only serialise
            # them on one worker (remote targets have a grouped path of their own)
            group_files = 1

        def next_group() -> list[tuple[FileTask, list[AnyDestination]]]:
            """Up to ``group_files`` small files (or one large file) to copy next."""
            group: list[tuple[FileTask, list[AnyDestination]]] = []
            size = 0
            while len(group) < group_files and size < group_bytes:
                try:
                    task = todo.get_nowait()
                except queue.Empty:
                    break
                if dests := dests_for(task):
                    group.append((task, dests))
                    size += task.size
            return group

        def loop(i: int = 0) -> None:
            worker = FileWorker(ctx, helpers[i] if helpers else None)
            try:
                while not cancelled.is_set() and (group := next_group()):
                    ctx.control.checkpoint()
                    worker.run_many(group)
            except Cancelled:
                cancelled.set()

        try:
            if n <= 1:  # inline, on the job's thread
                loop()
                if cancelled.is_set():
                    raise Cancelled()
                return
            threads = [
                threading.Thread(target=loop, args=(i,), name=f"almc-copy-{self.job_id}-w{i}")
                for i in range(min(n, max(len(files), 1)))
            ]
            for t in threads:
                t.start()
            for t in threads:
                while t.is_alive():
                    t.join(_MEANWHILE)
                    meanwhile()
        finally:
            stop_all(helpers)
        if cancelled.is_set() or ctx.control.cancelled:
            raise Cancelled()

    def _helpers(
        self, files: list[FileTask], share: bool, remote: bool, ctx: JobContext
    ) -> list[Helper]:
        """Worker processes for groups of small files, started now (see ``processes``);
        none for a share, remote destinations, test hooks, or too few small files."""
        want = self.request.processes
        if want == 0 or share or remote or not ctx.group_small_files:
            return []
        hooks = ctx.hooks
        if hooks is not None and (hooks.before_file or hooks.on_chunk or hooks.after_flush):
            return []
        if not smallcopy_available():
            return []
        limit = min(PROCESS_FILE_SIZE, ctx.chunk_size)
        small = sum(1 for f in files if f.size <= limit)
        if want is None and small < PROCESS_MIN_FILES:
            return []
        direct_fs = direct.DIRECT_FS if direct.available() else frozenset()
        helpers = [Helper(direct_fs) for _ in range(want or process_workers())]
        try:
            for h in helpers:
                h.start()  # they load while the first groups are planned
        except Exception:  # e.g. no processes left: threads copy as before
            log.warning("worker processes did not start; copying with threads", exc_info=True)
            stop_all(helpers)
            return []
        return helpers

    def _finish_destinations(self, dests: list[AnyDestination], run: _Run, cancelled: bool) -> None:
        """Per destination: remove the staging folders, rewrite the manifest, write the
        receipt. The three touch different names (a share: a round trip or more each, a
        dozen for the receipt), so the staging folders' removal and the manifest's
        rewrite run on helper threads while the job thread writes the receipt (the
        dataset finder is only called here)."""
        state = "cancelled" if cancelled else "finished"
        with ThreadPoolExecutor(2, thread_name_prefix=f"almc-finish-{self.job_id}") as pool:
            staging = [pool.submit(d.close_staging) for d in dests if isinstance(d, JobDestination)]
            for dest in dests:
                if not dest.is_alive():  # never write records onto whatever replaced it
                    log.warning("%s is gone: its manifest and receipt were not updated", dest.root)
                    if isinstance(dest, RemoteDestination) and (dead := dest.dead) is not None:
                        self._stopped_answering(dest, dead, run)  # once, besides each file's
                    continue
                closing = pool.submit(dest.manifest.close)
                problem: OSError | AlmcError | None = None
                try:
                    if dest.records or dest.failures or dest.pending:
                        run.receipts.append(
                            write_receipt(
                                dest,
                                job_id=self.job_id,
                                started_at=run.started,
                                finished_at=time.time(),
                                state=state,
                                skipped=run.ctx.counts.skipped,
                                dataset_of=run.datasets,
                                times=run.times,  # a file's mtime, formatted once for all
                                rows=run.rows.get(id(dest)),
                            )
                        )
                except (OSError, AlmcError) as exc:
                    problem = exc
                try:
                    closing.result()
                    run.manifests.append(dest.manifest.path)
                except (OSError, AlmcError) as exc:
                    problem = exc  # the manifest's problem first, as it is the record
                if problem is not None:
                    self._records_not_written(dest, problem, run)
            for done in staging:
                done.result()

    def _stopped_answering(self, dest: RemoteDestination, dead: AlmcError, run: _Run) -> None:
        run.refused += 1
        self._sink.publish(
            DestinationRefused(
                job_id=self.job_id,
                destination_root=dest.root,
                title=dead.title,
                detail=dead.detail,
                next_step=dead.next_step,
            )
        )

    def _records_not_written(self, dest: AnyDestination, problem: Exception, run: _Run) -> None:
        """The copies are in place, but the manifest rewrite or the receipt failed."""
        log.warning("could not write the manifest or receipt at %s: %s", dest.root, problem)
        err = problem if isinstance(problem, AlmcError) else None
        if isinstance(problem, OSError):
            err = describe_os_error(problem, action="write the records at", path=dest.root)
        assert err is not None
        run.refused += 1
        self._sink.publish(
            DestinationRefused(
                job_id=self.job_id,
                destination_root=dest.root,
                title=f"Records not fully written at {dest.root}",
                detail=f"{err.detail} The verified copies are in place; each one was added "
                "to the manifest as it was made.",
                next_step=_SHARED_SETUP.format(root=dest.root)
                if isinstance(problem, PermissionError)
                else err.next_step,
            )
        )


# A destination several users copy to, where this user may not update the records: what
# staff set up (README, "Security on shared workstations").
_SHARED_SETUP = (
    "If several users copy to {root}, ask the facility staff to prepare it once: as root, "
    "create {root}/almc-manifest.b3sum (owned by root, mode 0666) and the folder "
    "{root}/almc-receipts (owned by root, mode 1777), in a folder that is sticky and "
    "writable by everyone (mode 1777). Your copies are verified and listed in your receipt."
)


def start_copy(request: CopyRequest, sink: EventSink, job_id: str = "") -> CopyJob:
    """Start a copy job on its own thread and return its handle at once. ``job_id``
    names it in its events (a caller that must know it before the job exists: the GUI
    across the engine's pipe); "" picks a new one."""
    return CopyJob(request, sink, job_id).start()


def run_copy(request: CopyRequest, sink: EventSink) -> JobResult:
    """Run a copy job on the calling thread and return its result."""
    return CopyJob(request, sink).run()

"""One worker's handling of one file: plan per destination, copy, retry, publish outcomes.

Thread contract: a :class:`FileWorker` runs on one pool thread (or inline on the job
thread); it shares the :class:`JobContext` with the other workers. It publishes
``CopyVerified``, ``CopySkipped`` and ``CopyFailed`` events from its own thread (a group
of small files' outcomes together, once the group is handled: :class:`GroupEvents`) and
never swallows an error: an unexpected exception becomes a ``CopyFailed`` for that file (and
is logged with its traceback); :class:`~almc_assistant.core.transfer.faults.Cancelled`
propagates to the pool.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePath

from almc_assistant.core.copies import CopyRecord, ident_of
from almc_assistant.core.events import Event, EventSink, publish_all
from almc_assistant.core.smallcopy import Helper
from almc_assistant.core.transfer import cache
from almc_assistant.core.transfer.control import JobControl
from almc_assistant.core.transfer.destination import JobDestination
from almc_assistant.core.transfer.events import (
    ALREADY_VERIFIED,
    READ_BACK_CACHE_ONLY,
    CopyFailed,
    CopyPendingUpload,
    CopyRetried,
    CopySkipped,
    CopyVerified,
)
from almc_assistant.core.transfer.faults import (
    Cancelled,
    CopyError,
    VerificationMismatch,
    retry_delay,
    still_in_use,
)
from almc_assistant.core.transfer.hooks import CopyHooks
from almc_assistant.core.transfer.landing import Differs, Result, Verified
from almc_assistant.core.transfer.pipeline import FilePipeline
from almc_assistant.core.transfer.progress import Progress
from almc_assistant.core.transfer.remote_dest import RemoteDestination
from almc_assistant.core.transfer.scan import FileTask
from almc_assistant.core.transfer.targets import NothingToDo, OnConflict, Target, plan_target

log = logging.getLogger(__name__)

AnyDestination = JobDestination | RemoteDestination


@dataclass
class Counts:
    verified: int = 0
    skipped: int = 0
    failed: int = 0
    pending_upload: int = 0
    bytes_copied: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bump(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)

    def copied(self, size: int) -> None:
        """One copy verified, ``size`` bytes written for it (0: an adopted file)."""
        with self.lock:
            self.verified += 1
            self.bytes_copied += size


@dataclass
class JobContext:
    job_id: str
    sink: EventSink
    control: JobControl
    progress: Progress
    policy: OnConflict
    hooks: CopyHooks | None
    chunk_size: int
    window: int
    group_small_files: bool = True
    counts: Counts = field(default_factory=Counts)
    workers: int = 0  # files copied at once (set when the workers start)
    read_back: str = field(default_factory=cache.read_back_method)

    def failed(
        self,
        task: FileTask,
        dest: AnyDestination,
        err: CopyError,
        final: PurePath | None,
    ) -> None:
        self.counts.bump("failed")
        dest.add_failure(task.source, f"{err.title}: {err.detail}")
        self.sink.publish(
            CopyFailed(
                job_id=self.job_id,
                source=task.source,
                destination_root=dest.root,
                destination=final,
                title=err.title,
                detail=err.detail,
                next_step=err.next_step,
                retryable=err.retryable or isinstance(err, VerificationMismatch),
            )
        )

    def skipped(self, task: FileTask, final: PurePath, reason: str) -> None:
        self.counts.bump("skipped")
        self.sink.publish(
            CopySkipped(job_id=self.job_id, source=task.source, destination=final, reason=reason)
        )


class GroupEvents:
    """A worker's sink: passes each event on at once, except while :meth:`holding`, when
    a group's outcomes are gathered and passed on together when it ends (the catalog
    records a group in one go: see ``publish_many`` in :mod:`core.events`). Each event
    is still published, as itself and in order; only after its whole group is handled
    (microseconds later: retries, with their waits, come after the group's events)."""

    def __init__(self, sink: EventSink) -> None:
        self._sink = sink
        self._held: list[Event] | None = None

    def publish(self, event: Event) -> None:
        if self._held is None:
            self._sink.publish(event)
        else:
            self._held.append(event)

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        self._held = []
        try:
            yield
        finally:  # also when cancelled: what was verified is reported
            held, self._held = self._held, None
            if held:
                publish_all(self._sink, held)


class FileWorker:
    def __init__(self, ctx: JobContext, helper: Helper | None = None) -> None:
        """``helper``: this worker's process for groups of small files (or threads)."""
        self._events = GroupEvents(ctx.sink)
        # the job's context (its counts, control, progress) with this worker's sink
        ctx = dataclasses.replace(ctx, sink=self._events)
        self._ctx = ctx
        self._pipeline = FilePipeline(
            ctx.control,
            ctx.progress,
            ctx.hooks,
            chunk=ctx.chunk_size,
            window=ctx.window,
            helper=helper,
        )

    def run(self, task: FileTask, dests: list[AnyDestination]) -> None:
        """Copy one file to ``dests``."""
        self.run_many([(task, dests)])

    def run_many(self, items: list[tuple[FileTask, list[AnyDestination]]]) -> None:
        """Copy several files; small ones to local destinations go as one group."""
        ctx = self._ctx
        for task, _ in items:
            ctx.progress.file_started(task)
        grouped: list[tuple[FileTask, list[Target]]] = []
        try:
            for task, dests in items:  # in order: a large file first ends the group so far
                targets = [t for d in dests if (t := self._plan(task, d)) is not None]
                if not targets:
                    continue
                if ctx.group_small_files and self._pipeline.groupable(task, targets):
                    grouped.append((task, targets))
                else:
                    self._copy_group(grouped)
                    self._guarded(task, targets, partial(self._loop, task, targets))
            self._copy_group(grouped)
        finally:
            for task, _ in items:
                ctx.progress.file_finished(task)

    def _copy_group(self, grouped: list[tuple[FileTask, list[Target]]]) -> None:
        if not grouped:
            return
        try:
            results = self._pipeline.copy(grouped)
        except Cancelled:
            raise
        except Exception as exc:  # the group's partials are gone (the pipeline's clean-up)
            log.exception("unexpected error while copying a group of %d files", len(grouped))
            for task, targets in grouped:  # every file of it fails: none was published
                self._internal_error(task, targets, exc)
            grouped.clear()
            return
        later: list[tuple[FileTask, list[Target], list[Target], bool]] = []
        with self._events.holding():  # the group's outcomes, published together
            for task, targets in grouped:
                first = {t: results[(task, t)] for t in targets}
                again = self._guarded(task, targets, partial(self._handle, task, first, 1))
                if again:
                    later.append((task, targets, again, _in_use(first)))
        grouped.clear()
        for task, targets, again, in_use in later:  # retries, each on its own
            self._guarded(task, targets, partial(self._loop, task, again, 2, in_use))

    def _guarded(
        self, task: FileTask, targets: list[Target], attempt: Callable[[], list[Target] | None]
    ) -> list[Target]:
        """Run ``attempt`` (copying ``task`` to ``targets``, or publishing a group's
        outcome for it); the targets it returns to try again. An unexpected error fails
        ``task`` instead of the job."""
        try:
            again = attempt()
        except Cancelled:
            raise
        except Exception as exc:
            log.exception("unexpected error while copying %s", task.source)
            self._internal_error(task, targets, exc)
            return []
        return again or []

    def _internal_error(self, task: FileTask, targets: list[Target], exc: Exception) -> None:
        internal = CopyError(
            f"An unexpected error occurred while copying {task.source}: "
            f"{type(exc).__name__}: {exc}",
            title="Internal error",
            next_step="Run again with -vv and send the output to the facility staff.",
            paths=(task.source,),
        )
        for t in targets:
            self._ctx.failed(task, t.dest, internal, None)

    def _plan(
        self,
        task: FileTask,
        dest: AnyDestination,
        refused: frozenset[PurePath] = frozenset(),
    ) -> Target | None:
        planned = plan_target(task, dest, self._ctx.policy, refused=refused)
        if isinstance(planned, Target):
            return planned
        if isinstance(planned, NothingToDo):
            self._ctx.skipped(task, planned.final, planned.reason)
        else:
            self._ctx.failed(task, dest, planned, None)
        return None

    def _loop(
        self, task: FileTask, targets: list[Target], attempt: int = 1, in_use: bool = False
    ) -> None:
        """Copy ``task`` to ``targets`` on its own (streamed), retrying as classified
        (``in_use``: the last attempt found a file held by another program)."""
        while targets:
            if attempt > 1:
                self._ctx.progress.rewind(task)
                self._ctx.control.sleep(retry_delay(attempt, in_use))
            results = {
                t: r for (_, t), r in self._pipeline.copy([(task, targets)], group=False).items()
            }
            in_use = _in_use(results)
            targets = self._handle(task, results, attempt)
            attempt += 1

    def _handle(self, task: FileTask, results: dict[Target, Result], attempt: int) -> list[Target]:
        """Publish the outcomes of one attempt; return the targets to try again."""
        ctx = self._ctx
        again: list[Target] = []
        for t, result in results.items():
            if isinstance(result, Verified) and t.dest.fs.pending_upload:
                self._pending(task, t, result)
            elif isinstance(result, Verified):
                self._verified(task, t, result)
            elif isinstance(result, Differs):
                if (replanned := self._plan(task, t.dest, t.refused | {t.final})) is not None:
                    again.append(replanned)
            elif result.retryable and attempt < result.max_attempts and not ctx.control.cancelled:
                log.warning("retrying %s (attempt %d): %s", task.source, attempt + 1, result)
                ctx.sink.publish(
                    CopyRetried(
                        job_id=ctx.job_id,
                        source=task.source,
                        destination_root=t.dest.root,
                        attempt=attempt + 1,
                        title=result.title,
                        detail=result.detail,
                    )
                )
                again.append(t)
            else:
                if result.in_use and attempt > 1:
                    result = still_in_use(result, attempt)
                if result.destination_dead:
                    t.dest.mark_dead(result)
                ctx.failed(task, t.dest, result, t.final)
        return again

    def _record(
        self, task: FileTask, t: Target, result: Verified, read_back: str | None = None
    ) -> CopyRecord:
        return CopyRecord(
            source=task.source,
            destination_root=t.dest.root,
            path=t.final,
            size=task.size,
            mtime_ns=task.mtime_ns,
            blake3=result.digest,
            verified_at=result.verified_at,
            read_back=read_back or result.read_back or self._ctx.read_back,
            adopted=result.adopted,
            proof=result.proof.as_dict() if result.proof is not None else None,
            source_ident=ident_of(task.identity),
        )

    def _pending(self, task: FileTask, t: Target, result: Verified) -> None:
        """Written and read back through a caching mount: pending upload, not verified."""
        ctx = self._ctx
        if not result.adopted:
            ctx.counts.bump("bytes_copied", task.size)
        ctx.counts.bump("pending_upload")
        t.dest.add_pending(self._record(task, t, result, READ_BACK_CACHE_ONLY))
        ctx.sink.publish(
            CopyPendingUpload(
                job_id=ctx.job_id,
                source=task.source,
                destination_root=t.dest.root,
                destination=t.final,
                size=task.size,
                mtime_ns=task.mtime_ns,
                blake3=result.digest,
                reason=t.dest.fs.pending_upload,
            )
        )

    def _verified(self, task: FileTask, t: Target, result: Verified) -> None:
        ctx = self._ctx
        if result.already:  # re-read from storage, and the manifest listed these bytes
            ctx.skipped(task, t.final, ALREADY_VERIFIED)
            return
        ctx.counts.copied(0 if result.adopted else task.size)
        record = self._record(task, t, result)
        t.dest.add_record(record)
        ctx.sink.publish(CopyVerified(job_id=ctx.job_id, copy=record))


def _in_use(results: dict[Target, Result]) -> bool:
    return any(isinstance(r, CopyError) and r.in_use for r in results.values())

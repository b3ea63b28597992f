"""The transfer window's copy jobs: a queue run one job at a time.

Thread contract: GUI thread only. "Back up" queues a job; the window starts queued jobs
one at a time with ``service.start_copy`` as the previous one finishes, and follows their
copy events from the pump (:meth:`CopyQueue.on_job_progressed`, ...), marking the file
rows of the :class:`~almc_assistant.qt.transfer_files.FileList` as copies are verified,
skipped or fail. Pause and cancel act on the service's job handle; nothing here touches
a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from almc_assistant.core.destinations import Destination
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.service_process import EngineStopped
from almc_assistant.core.transfer.events import (
    ALREADY_VERIFIED,
    CopyFailed,
    CopySkipped,
    CopyVerified,
    DestinationRefused,
    JobFinished,
    JobProgressed,
    JobStarted,
)
from almc_assistant.qt.prompts import Level, Message, Prompter
from almc_assistant.qt.service_port import CopyHandle, ServicePort
from almc_assistant.qt.table_model import SnapshotTableModel
from almc_assistant.qt.transfer_columns import JOB_COLUMNS
from almc_assistant.qt.transfer_files import FileList, under
from almc_assistant.qt.transfer_rows import (
    FINISHED_JOB_STATES,
    IN_JOB,
    FileRow,
    JobRow,
    JobState,
    RowState,
    job_finished,
    job_progressed,
)

INTERRUPTED = "The backup engine stopped: the copy was interrupted; start it again"
NOT_STARTED = "Not started: the backup engine stopped"
FILE_INTERRUPTED = (
    "Interrupted: the backup engine stopped before this file's copies were verified. "
    "Back it up again."
)


class CopyQueue(QObject):
    """The job rows and the service's handles of the jobs started.

    Emits ``jobs_changed`` (the job rows) whenever a job's state changes, and
    ``copy_started`` with the service's job handle (pause, resume, cancel)."""

    jobs_changed = Signal(object)
    copy_started = Signal(object)

    def __init__(
        self,
        service: ServicePort,
        prompter: Prompter,
        files: FileList,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._prompter = prompter
        self._files = files
        self._jobs_started: dict[int, CopyHandle] = {}  # key -> the service's job handle
        self._job_keys: dict[str, int] = {}  # engine job id -> key
        self._destinations_of: dict[int, list[Destination]] = {}  # queued job key -> destinations
        self._next_key = 1
        self.model: SnapshotTableModel[JobRow] = SnapshotTableModel(
            JOB_COLUMNS, key=lambda r: r.key, parent=self
        )

    def queue_copy(
        self, sources: Sequence[str], destinations: Sequence[Destination]
    ) -> JobRow | None:
        """Queue a copy job; it starts when no other job of this window is running."""
        if not sources or not destinations:
            return None
        job = JobRow(
            key=self._next_key,
            sources=tuple(sources),
            destinations=tuple(str(d.path) for d in destinations),
        )
        self._next_key += 1
        self._destinations_of[job.key] = list(destinations)
        self.model.upsert([job])
        if any(r.running or r.state is JobState.CANCELLING for r in self.model.rows()):
            self._files.mark(sources, RowState.QUEUED, copies_wanted=len(destinations))
        self._start_next_job()
        return self.model.row_of(job.key)

    def _start_next_job(self) -> None:
        if any(r.running or r.state is JobState.CANCELLING for r in self.model.rows()):
            return
        queued = [r for r in self.model.rows() if r.state is JobState.QUEUED]
        if not queued:
            self._changed()
            return
        job = queued[0]
        destinations = self._destinations_of.pop(job.key)
        try:
            handle = self._service.start_copy(
                [Path(s) for s in job.sources], destinations, keep_tree=True
            )
        except AlmcError as err:
            self.model.upsert([replace(job, state=JobState.REFUSED, result=err.title)])
            self._files.mark(job.sources, RowState.FAILED, problem=err.title)
            self._tell(err)
            self._start_next_job()
            return
        job_id = handle.job_id
        self._jobs_started[job.key] = handle
        self._job_keys[job_id] = job.key
        self.model.upsert([replace(job, state=JobState.STARTING, job_id=job_id)])
        self._files.mark(job.sources, RowState.COPYING, copies_wanted=len(destinations))
        self.copy_started.emit(handle)
        self._changed()

    def _job(self, job_id: str) -> JobRow | None:
        key = self._job_keys.get(str(job_id))
        return None if key is None else self.model.row_of(key)

    def on_job_started(self, event: JobStarted) -> None:
        job = self._job(event.job_id)
        if job is not None and job.state is JobState.STARTING:
            self.model.upsert(
                [
                    replace(
                        job,
                        state=JobState.RUNNING,
                        files_total=event.total_files,
                        bytes_total=event.total_bytes,
                    )
                ]
            )

    def on_job_progressed(self, event: JobProgressed) -> None:
        job = self._job(event.snapshot.job_id)
        if job is not None:
            self._update_job(job, job_progressed(job, event.snapshot))

    def _update_job(self, job: JobRow, now: JobRow) -> None:
        """Write the job's row; when it is paused or resumed (here, from the tray, by the
        engine), its files being copied say so: "Paused", then "Copying…" again."""
        self.model.upsert([now])
        paused, was = now.state is JobState.PAUSED, job.state is JobState.PAUSED
        if paused and not was:
            before, after = RowState.COPYING, RowState.PAUSED
        elif was and now.state is JobState.RUNNING:
            before, after = RowState.PAUSED, RowState.COPYING
        else:
            return
        self._files.stage(
            replace(r, state=after)
            for r in self._files.current_rows()
            if r.state is before and any(under(r.path, s) for s in job.sources)
        )

    def on_copy_verified(self, event: CopyVerified) -> None:
        self._file_copy_result(event.job_id, event.copy.source, ok=True)

    def on_copy_skipped(self, event: CopySkipped) -> None:
        if event.reason == ALREADY_VERIFIED:
            self._file_copy_result(event.job_id, event.source, ok=True, already=True)
        else:  # left alone (a different file has the name): not a copy of this file
            problem = f"Not copied: {event.reason}"
            self._file_copy_result(event.job_id, event.source, ok=False, problem=problem)

    def on_copy_failed(self, event: CopyFailed) -> None:
        problem = f"{event.title}. {event.next_step}"
        self._file_copy_result(event.job_id, event.source, ok=False, problem=problem)

    def _file_copy_result(
        self, job_id: str, source: Path, *, ok: bool, already: bool = False, problem: str = ""
    ) -> None:
        path = str(source)
        row = self._files.row(path)
        if row is None and str(job_id) not in self._job_keys:
            return  # another window's copy (the wizard's): its files are not listed here
        if row is None:  # a file found inside a dropped folder, not checked on its own
            job = self._job(job_id)
            paused = job is not None and job.state is JobState.PAUSED
            state = RowState.PAUSED if paused else RowState.COPYING
            row = FileRow(path=path, root=self._files.root_of(path), state=state)
        if not ok:
            self._files.stage([replace(row, state=RowState.FAILED, problem=problem)])
            return
        if row.state is RowState.FAILED:
            return
        done = row.copies_done + 1
        wanted = max(row.copies_wanted, 1)
        state = RowState.PAUSED if row.state is RowState.PAUSED else RowState.COPYING
        if done >= wanted:
            state = RowState.ALREADY if already and row.copies_done == 0 else RowState.VERIFIED
        self._files.stage([replace(row, copies_done=done, state=state)])

    def on_destination_refused(self, event: DestinationRefused) -> None:
        """A whole destination was refused before copying (missing, full, read-only)."""
        self._prompter.tell(
            Message(
                event.title,
                f"{event.destination_root}: {event.detail}",
                event.next_step,
                Level.ERROR,
                (str(event.destination_root),),
            )
        )

    def on_job_finished(self, event: JobFinished) -> None:
        job = self._job(event.job_id)
        if job is None:
            return
        self._jobs_started.pop(job.key, None)
        finished = job_finished(job, event.summary)
        self.model.upsert([finished])
        if finished.state is JobState.CANCELLED:
            still = [
                replace(r, state=RowState.CHECKED)
                for r in self._files.model.rows()
                if r.state in (*IN_JOB, RowState.QUEUED)
                and any(under(r.path, s) for s in job.sources)
            ]
            self._files.stage(still)
        elif why := event.summary.error_title:
            # Refused or stopped: no file of the job got a copy it did not report. The
            # row says why; the tray tells it too (``controller_copies``).
            problem = f"{why}: {event.summary.error_detail} {event.summary.error_next_step}"
            self._files.stage(
                replace(r, state=RowState.FAILED, problem=problem.strip())
                for r in self._files.model.rows()
                if r.state in (*IN_JOB, RowState.QUEUED)
                and any(under(r.path, s) for s in job.sources)
            )
        self._files.flush()  # the files' final state shows with the job's result, not later
        self._start_next_job()

    def on_engine_stopped(self, _event: EngineStopped) -> None:
        """The engine's process ended under the copies (``EngineStopped``): no
        ``JobFinished`` will come. A running job is interrupted and its files not yet
        verified say so (never "verified": the copies the engine verified before were
        reported one by one and stay so); a queued job did not start and its files are
        ready to be backed up again."""
        interrupted: list[JobRow] = []
        for job in self.model.rows():
            if job.state is JobState.QUEUED:
                self._destinations_of.pop(job.key, None)
                self.model.upsert([replace(job, state=JobState.INTERRUPTED, result=NOT_STARTED)])
                self._files.mark(job.sources, RowState.CHECKED)
            elif job.state not in FINISHED_JOB_STATES:
                self._jobs_started.pop(job.key, None)
                self.model.upsert(
                    [replace(job, state=JobState.INTERRUPTED, eta=None, result=INTERRUPTED)]
                )
                interrupted.append(job)
        self._files.stage(
            [
                replace(r, state=RowState.FAILED, problem=FILE_INTERRUPTED)
                for r in self._files.current_rows()
                if r.state in IN_JOB
                and any(under(r.path, s) for j in interrupted for s in j.sources)
            ]
        )
        self._files.flush()
        self._changed()

    def toggle_pause(self, job: JobRow | None) -> None:
        """Pause ``job``, or resume it if it is paused."""
        handle = self._jobs_started.get(job.key) if job else None
        if job is None or handle is None:
            return
        if job.state is JobState.PAUSED:
            handle.resume()
            self._update_job(job, replace(job, state=JobState.RUNNING))
        else:
            handle.pause()
            self._update_job(job, replace(job, state=JobState.PAUSED))
        self._changed()

    def cancel(self, job: JobRow | None) -> None:
        """Cancel ``job``: a queued one at once, a running one through its handle."""
        if job is None:
            return
        if job.state is JobState.QUEUED:
            self.model.upsert([replace(job, state=JobState.CANCELLED, result="Cancelled")])
            self._files.mark(job.sources, RowState.CHECKED)
        else:
            handle = self._jobs_started.get(job.key)
            if handle is None:
                return
            handle.cancel()
            self.model.upsert([replace(job, state=JobState.CANCELLING)])
        self._changed()

    def _changed(self) -> None:
        self.jobs_changed.emit(self.model.rows())

    def _tell(self, err: AlmcError) -> None:
        self._prompter.tell(
            Message(err.title, err.detail, err.next_step, Level.ERROR, tuple(err.paths))
        )

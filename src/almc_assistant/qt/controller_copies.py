"""The controller's copies: the handles of the copies the windows started, and their
progress for the tray's ring; pausing, resuming or cancelling them all.

Thread contract: GUI thread only. Progress comes from ``JobProgressed`` events and ends
with ``JobFinished`` (through the pump); :attr:`CopyTracker.changed` fires when what the
tray shows may have changed (the controller then refreshes it).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from almc_assistant.core.service_process import EngineStopped
from almc_assistant.core.transfer.events import JobFinished, JobProgressed
from almc_assistant.qt import humanize
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.notifier import Notifier
from almc_assistant.qt.prompts import Level
from almc_assistant.qt.service_port import CopyHandle


class CopyTracker(QObject):
    """Running copies: ``add`` (a window started one), ``progress``, ``set_paused``."""

    changed = Signal()

    def __init__(self, pump: EventPump, notify: Notifier, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._notify = notify
        self._jobs: dict[str, CopyHandle] = {}
        self._progress: dict[str, tuple[int, int, bool]] = {}  # done, total, paused
        pump.subscribe(JobProgressed, self.on_job_progressed)
        pump.subscribe(JobFinished, self.on_job_finished)
        pump.subscribe(EngineStopped, self.on_engine_stopped)

    @Slot(object)
    def add(self, handle: CopyHandle) -> None:
        """A window started a copy: follow it."""
        self._jobs[handle.job_id] = handle
        self._progress[handle.job_id] = (0, 1, False)
        self.changed.emit()

    @property
    def running(self) -> bool:
        return bool(self._jobs)

    def on_job_progressed(self, event: JobProgressed) -> None:
        s = event.snapshot
        if s.job_id in self._jobs:
            paused = s.state == "paused"
            self._progress[s.job_id] = (s.bytes_done, max(s.bytes_total, 1), paused)

    def on_job_finished(self, event: JobFinished) -> None:
        self._jobs.pop(event.job_id, None)
        self._progress.pop(event.job_id, None)
        summary = event.summary
        if summary.error_title:  # refused or stopped: nothing more was copied
            self._notify(
                "A copy did not run" if summary.state == "refused" else "A copy stopped",
                f"{summary.error_title}. {summary.error_next_step}".strip(),
                Level.WARNING,
            )
        elif summary.failed:
            self._notify(
                "Some files were not copied",
                f"{humanize.count(summary.failed, 'copy', 'copies')} failed; "
                "open the transfer window for what to do.",
                Level.WARNING,
            )
        self.changed.emit()

    def on_engine_stopped(self, _event: EngineStopped) -> None:
        """The engine ended under its copies: none runs any more (the app tells why)."""
        self._jobs.clear()
        self._progress.clear()
        self.changed.emit()

    def progress(self) -> tuple[float | None, bool]:
        """The fraction done of all running copies (``None``: none runs), and whether
        every one of them is paused."""
        if not self._progress:
            return None, False
        done = sum(d for d, _t, _p in self._progress.values())
        total = sum(t for _d, t, _p in self._progress.values())
        paused = all(p for _d, _t, p in self._progress.values())
        return done / total, paused

    def set_paused(self, paused: bool) -> None:
        """Pause or resume every running copy; the tray shows it at once."""
        for job_id, handle in self._jobs.items():
            if paused:
                handle.pause()
            else:
                handle.resume()
            done, total, _ = self._progress.get(job_id, (0, 1, False))
            self._progress[job_id] = (done, total, paused)
        self.changed.emit()

    def cancel_all(self) -> None:
        for handle in self._jobs.values():
            handle.cancel()

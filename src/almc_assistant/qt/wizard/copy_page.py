"""Wizard page 4, "Copy": overall and current-file progress, rate, ETA, pause, cancel.

Thread contract: GUI thread only. Entering the page starts the copy through
``service.start_copy`` (returns at once); the job's events arrive through the pump and
the ``on_*`` methods. The page never waits: the app stays responsive while copying.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWizardPage,
)

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
    JobSummary,
    SourceSkipped,
)
from almc_assistant.core.units import human_size, percent
from almc_assistant.qt import humanize, icons
from almc_assistant.qt.icons import Badge
from almc_assistant.qt.service_port import ServicePort
from almc_assistant.qt.wizard.state import (
    WizardState,
    copy_note,
    engine_roots,
)


class CopyPage(QWizardPage):
    job_finished = Signal(object)  # JobSummary
    done_copying = Signal()  # finished, or could not start: the wizard may go on
    copy_started = Signal(object)  # the service's job handle

    def __init__(self, service: ServicePort, state: WizardState) -> None:
        super().__init__()
        self._service = service
        self._state = state
        self._roots: list[str] = []  # the chosen destinations, as the engine names them
        self.setTitle("Copying")
        self.setSubTitle(
            "Each file is read once, written to every destination, read back from the "
            "storage and compared before it gets its final name."
        )
        self.overall = QProgressBar()
        self.overall.setRange(0, 1000)
        self.counts = QLabel()
        self.speed = QLabel()
        self.current = QLabel()
        self.current.setWordWrap(True)
        self.pause_button = QPushButton("&Pause")
        self.pause_button.setAutoDefault(False)  # Return goes to the wizard's buttons
        self.pause_button.clicked.connect(self._on_pause_clicked)
        self.cancel_button = QPushButton("&Cancel copy")
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.failures = QListWidget()
        self.failures.setWordWrap(True)
        self.failures.hide()
        self.failures_label = QLabel("<b>Problems</b>")
        self.failures_label.hide()
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.pause_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.overall)
        layout.addWidget(self.counts)
        layout.addWidget(self.speed)
        layout.addWidget(self.current)
        layout.addLayout(buttons)
        layout.addWidget(self.failures_label)
        layout.addWidget(self.failures, 1)
        layout.addStretch(0)

    # ------------------------------------------------------------------ start
    def initializePage(self) -> None:
        state = self._state
        state.verified, state.skipped, state.failed, state.summary = [], [], [], None
        self._roots = engine_roots(state.destinations)
        self.failures.clear()
        self.failures.hide()
        self.failures_label.hide()
        self.overall.setValue(0)
        self.counts.setText("Starting…")
        try:
            handle = self._service.start_copy(state.sources(), state.destinations, keep_tree=True)
        except AlmcError as err:
            state.job = None
            self._add_failure(err.title, f"{err.detail} {err.next_step}")
            self.counts.setText("The copy could not start.")
            self._set_running(False)
            self.done_copying.emit()
            return
        state.job, state.job_id = handle, handle.job_id
        self._set_running(True)
        self.copy_started.emit(state.job)

    def _set_running(self, running: bool) -> None:
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self._state.summary is not None or (
            self._state.job is None and self.failures.count() > 0
        )

    # ------------------------------------------------------------------ controls
    def _on_pause_clicked(self) -> None:
        job = self._state.job
        if job is None:
            return
        if self.pause_button.text() == "&Pause":
            job.pause()
            self.pause_button.setText("&Resume")
            self.speed.setText("Paused")
        else:
            job.resume()
            self.pause_button.setText("&Pause")

    def _on_cancel_clicked(self) -> None:
        if self._state.job is not None:
            self._state.job.cancel()
            self.cancel_button.setEnabled(False)
            self.pause_button.setEnabled(False)
            self.counts.setText("Cancelling… (a file in progress is removed, never left half)")

    # ------------------------------------------------------------------ events
    def _mine(self, job_id: str) -> bool:
        return bool(self._state.job_id) and str(job_id) == self._state.job_id

    def on_job_progressed(self, event: JobProgressed) -> None:
        s = event.snapshot
        if not self._mine(s.job_id):
            return
        fraction = s.bytes_done / s.bytes_total if s.bytes_total else 0.0
        self.overall.setValue(round(fraction * 1000))
        self.overall.setFormat(percent(fraction))
        self.counts.setText(
            f"{s.files_done:,} of {humanize.count(s.files_total, 'file')} · "
            f"{human_size(s.bytes_done)} of {human_size(s.bytes_total)}"
        )
        if s.state == "paused":
            self.speed.setText("Paused")
        else:
            self.speed.setText(
                f"{humanize.rate(s.rate_bytes_per_s)} · {humanize.time_left(s.eta_seconds)}"
            )
        if s.current:
            names = ", ".join(
                f"{f.source.name} ({percent(f.bytes_done / f.size if f.size else 1.0)})"
                for f in s.current[:3]
            )
            self.current.setText(f"Now: {names}")

    def on_copy_verified(self, event: CopyVerified) -> None:
        if self._mine(event.job_id):
            self._state.verified.append(copy_note(event))

    def on_copy_skipped(self, event: CopySkipped) -> None:
        if not self._mine(event.job_id):
            return
        if event.reason == ALREADY_VERIFIED:
            self._state.skipped.append(copy_note(event, self._roots))
        else:  # left alone (a different file there): not a copy of this file
            self._state.failed.append(event)
            self._add_failure(f"{event.source.name} → {event.destination}", str(event.reason))

    def on_copy_failed(self, event: CopyFailed) -> None:
        if self._mine(event.job_id):
            self._state.failed.append(event)
            self._add_failure(
                f"{event.source.name} → {event.destination_root}: {event.title}",
                f"{event.detail} {event.next_step}",
            )

    def on_source_skipped(self, event: SourceSkipped) -> None:
        """A link or special file among the sources: not copied, said with its reason."""
        if self._mine(event.job_id):
            self._state.failed.append(event)
            self._add_failure(f"{event.source.name}: not copied", str(event.reason))

    def on_destination_refused(self, event: DestinationRefused) -> None:
        if self._mine(event.job_id):
            self._state.failed.append(event)
            self._add_failure(
                f"{event.destination_root}: {event.title}", f"{event.detail} {event.next_step}"
            )

    def on_job_finished(self, event: JobFinished) -> None:
        if not self._mine(event.job_id):
            return
        summary = event.summary
        self._state.summary = summary
        self.overall.setValue(1000 if summary.state == "completed" else self.overall.value())
        if why := summary.error_title:
            self.counts.setText(
                "Refused: nothing was copied."
                if summary.state == "refused"
                else f"Stopped by an error after "
                f"{humanize.count(summary.verified, 'copy', 'copies')} verified."
            )
            self._add_failure(why, f"{summary.error_detail} {summary.error_next_step}")
        else:
            self.counts.setText(
                f"{summary.state.capitalize()}: "
                f"{humanize.count(summary.verified, 'copy', 'copies')} verified, "
                f"{summary.skipped} already there, {summary.failed} failed "
                f"in {humanize.duration(summary.seconds)}."
            )
        self.speed.clear()
        self.current.clear()
        self._set_running(False)
        self.job_finished.emit(summary)
        self.done_copying.emit()

    def on_engine_stopped(self, _event: EngineStopped) -> None:
        """The engine's process ended under the copy (``EngineStopped``): no
        ``JobFinished`` will come. The copy ends here as one that stopped on an error:
        the copies verified before it stopped (each reported) stay so, the receipt lists
        every file without a verified copy and says why."""
        state = self._state
        if state.job is None or state.summary is not None:
            return
        summary = JobSummary(
            job_id=state.job_id,
            state="failed",
            files_total=len(state.sources()),
            bytes_total=0,
            verified=len(state.verified),
            skipped=len(state.skipped),
            failed=len(state.failed),
            sources_skipped=0,
            bytes_copied=0,
            seconds=0.0,
            error_title="The backup engine stopped",
            error_detail="Its process ended while copying: the copy was interrupted.",
            error_next_step="Restart the engine when almc-assistant asks, then back up "
            "this session again.",
        )
        self.on_job_finished(JobFinished(job_id=state.job_id, summary=summary))

    def _add_failure(self, title: str, detail: str) -> None:
        self.failures_label.show()
        self.failures.show()
        self.failures.addItem(f"{title}\n{detail.strip()}")
        item = self.failures.item(self.failures.count() - 1)
        item.setIcon(icons.badge_icon(Badge.BAD))

"""The controller's copies and quitting: the tray's progress, pause/resume, asking first.

Thread contract: GUI thread only. A mixin of :class:`~almc_assistant.qt.controller.
AppController`: it keeps the handles of the copies the windows started and their
progress (from ``JobProgressed`` events through the pump) for the tray's ring, pauses
or resumes them all from the tray, and asks before quitting while data is at risk or a
copy runs. During a copy the tray shows what is known at once and the service's
queries run in a worker (``AppController.refresh_later``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Slot

from almc_assistant.core.transfer.events import JobFinished, JobProgressed
from almc_assistant.qt import humanize
from almc_assistant.qt.icons import State
from almc_assistant.qt.prompts import Choice, Level, Prompter, Question, Role
from almc_assistant.qt.tray import TrayIcon, TrayStatus

QUIT_WITH_DATA_AT_RISK = "quit-with-data-at-risk"


class CopiesAndQuit(QObject):
    """Running copies (``pause_copies``, ``resume_copies``) and ``request_quit``."""

    # Set up by the controller.
    _prompter: Prompter
    _tray: TrayIcon | None
    _jobs: dict[str, Any]  # running copy jobs: id -> handle
    _job_progress: dict[str, tuple[int, int, bool]]  # done, total, paused
    _quitting: bool
    refresh: Callable[[], TrayStatus]
    refresh_later: Callable[[], None]
    show_transfer: Callable[[], Any]
    show_wizard: Callable[[], Any]

    @Slot(object)
    def _on_copy_started(self, handle: Any) -> None:
        job_id = str(getattr(handle, "job_id", ""))
        self._jobs[job_id] = handle
        self._job_progress[job_id] = (0, 1, False)
        self.refresh_later()

    def _on_job_progressed(self, event: JobProgressed) -> None:
        s = event.snapshot
        if s.job_id in self._jobs:
            paused = s.state == "paused"
            self._job_progress[s.job_id] = (s.bytes_done, max(s.bytes_total, 1), paused)

    def _on_job_finished(self, event: JobFinished) -> None:
        self._jobs.pop(event.job_id, None)
        self._job_progress.pop(event.job_id, None)
        why = getattr(event.summary, "error_title", "")
        if why and self._tray is not None:  # refused or stopped: nothing more was copied
            self._tray.notify(
                "A copy did not run" if event.summary.state == "refused" else "A copy stopped",
                f"{why}. {event.summary.error_next_step}".strip(),
                Level.WARNING,
            )
        elif event.summary.failed and self._tray is not None:
            self._tray.notify(
                "Some files were not copied",
                f"{humanize.count(event.summary.failed, 'copy', 'copies')} failed; "
                "open the transfer window for what to do.",
                Level.WARNING,
            )
        self.refresh_later()

    def _copy_state(self) -> tuple[float | None, bool]:
        if not self._job_progress:
            return None, False
        done = sum(d for d, _t, _p in self._job_progress.values())
        total = sum(t for _d, t, _p in self._job_progress.values())
        paused = all(p for _d, _t, p in self._job_progress.values())
        return done / total, paused

    @Slot()
    def pause_copies(self) -> None:
        self._set_paused(True)

    @Slot()
    def resume_copies(self) -> None:
        self._set_paused(False)

    def _set_paused(self, paused: bool) -> None:
        """Pause or resume every running copy; the tray shows it at once."""
        for job_id, handle in self._jobs.items():
            if paused:
                handle.pause()
            else:
                handle.resume()
            done, total, _ = self._job_progress.get(job_id, (0, 1, False))
            self._job_progress[job_id] = (done, total, paused)
        self.refresh_later()

    @Slot()
    def request_quit(self) -> bool:
        """Quit, asking first when data is at risk or a copy is running."""
        if self._quitting:
            return True
        status = self.refresh()
        if status.state in (State.AT_RISK, State.COPYING):
            answer = self._prompter.ask(self._quit_question(status))
            if answer == "backup":
                if status.state is State.COPYING:
                    self.show_transfer()
                else:
                    self.show_wizard()
                return False
            if answer != "quit":
                return False
            for handle in self._jobs.values():
                handle.cancel()
        self._quitting = True
        from PySide6.QtWidgets import QApplication

        QApplication.quit()
        return True

    @staticmethod
    def _quit_question(status: TrayStatus) -> Question:
        copying = status.state is State.COPYING
        text = (
            "A copy is still running. If you quit now it stops, and the files it has not "
            "finished are not backed up."
            if copying
            else f"{status.headline}. If you quit, almc-assistant can no longer remind you "
            "before they are cleaned up."
        )
        return Question(
            key=QUIT_WITH_DATA_AT_RISK,
            title="Quit almc-assistant?",
            text=text,
            detail="\n".join(status.details),
            choices=(
                Choice("backup", "Back up first", Role.ACCEPT),
                Choice("quit", "Quit anyway", Role.DESTRUCTIVE),
                Choice("cancel", "Cancel", Role.REJECT),
            ),
            default="backup",
        )

"""Reminder cues from the core's own events: "an acquisition looks finished", "a backup runs".

Thread contract: :meth:`ActivityCues.observe` may be called from any thread (the GUI's
event pump forwards every event; a worker may too); :meth:`ActivityCues.tick` runs on the
GUI timer. One lock guards the state; nothing here does I/O.

An acquisition "looks finished" when files stabilised and then nothing in the watched
folders appeared or changed for ``quiet`` seconds, with no file still being written: the
moment the user is most likely to be about to leave (``LOGOUT.md`` §7, ladder step 2).
While a copy job runs, ordinary reminders pause.
"""

from __future__ import annotations

import threading
from pathlib import Path

from almc_assistant.core.events import Event
from almc_assistant.core.session_end.clock import WallClock
from almc_assistant.core.session_end.reminders import ReminderScheduler
from almc_assistant.core.transfer.events import JobFinished, JobStarted
from almc_assistant.core.watch.events import (
    FileAppeared,
    FileChanged,
    FileDeleted,
    FileMoved,
    FileStabilised,
)

ACQUISITION_QUIET = 5 * 60.0  # seconds without file activity after files stabilised


class ActivityCues:
    """Follows watcher and copy events; tells the scheduler when to speak or keep quiet."""

    def __init__(
        self, reminders: ReminderScheduler, clock: WallClock, *, quiet: float = ACQUISITION_QUIET
    ) -> None:
        self._reminders = reminders
        self._clock = clock
        self.quiet = quiet
        self._lock = threading.Lock()
        self._acquiring: set[Path] = set()
        self._finished = False  # files stabilised since the last cue
        self._last_activity: float | None = None
        self._jobs: set[str] = set()

    def observe(self, event: Event) -> None:
        """Take note of one event (any type; the irrelevant ones are ignored)."""
        with self._lock:
            now = self._clock.time()
            if isinstance(event, FileAppeared | FileChanged):
                self._acquiring.add(event.path)
                self._last_activity = now
            elif isinstance(event, FileStabilised):
                self._acquiring.discard(event.path)
                self._finished = True
                self._last_activity = now
            elif isinstance(event, FileMoved):
                if event.src in self._acquiring:
                    self._acquiring.discard(event.src)
                    self._acquiring.add(event.dest)
            elif isinstance(event, FileDeleted):
                self._acquiring.discard(event.path)
            elif isinstance(event, JobStarted):
                self._jobs.add(event.job_id)
                self._reminders.backup_started()
            elif isinstance(event, JobFinished):
                self._jobs.discard(event.job_id)
                if not self._jobs:
                    self._reminders.backup_finished()

    @property
    def acquiring(self) -> int:
        """How many files are still being written."""
        with self._lock:
            return len(self._acquiring)

    def tick(self) -> bool:
        """Publish "acquisition finished" once the folders have been quiet long enough."""
        with self._lock:
            if not self._finished or self._acquiring or self._last_activity is None:
                return False
            if self._clock.time() - self._last_activity < self.quiet:
                return False
            self._finished = False
        return self._reminders.acquisition_finished()

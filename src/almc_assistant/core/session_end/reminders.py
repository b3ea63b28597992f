"""The reminder scheduler: remind *before* logout, summarised, never nagging.

Thread contract: every method may be called from any thread (one re-entrant lock); events
go to the injected sink on the caller's thread. Nothing here sleeps or starts a thread:
the GUI calls :meth:`ReminderScheduler.tick` from a timer and forwards what it learns
(an acquisition finished, the user is idle, the workstation was locked).

Rules (``LOGOUT.md`` §7): silent while nothing is at risk and while a backup runs; one
summary per reminder, never one per file; at most one ordinary reminder per ``min_gap``;
snoozes are limited and never reach past a logout; reminders on screen are withdrawn
when everything is backed up. The reminder after a cancelled logout and the one at the
next login (from the marker) are *strong*: the tray opens its reminder window for them.
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime, timedelta

from almc_assistant.core.config import ReminderSettings
from almc_assistant.core.events import EventSink
from almc_assistant.core.session_end.clock import WallClock, local_datetime
from almc_assistant.core.session_end.events import ReminderDue, ReminderKind, RemindersWithdrawn
from almc_assistant.core.session_end.pending import PendingState, PendingSummary
from almc_assistant.core.session_end.texts import last_session_text, reminder_text, reminder_title


class ReminderScheduler:
    """Decides when a :class:`ReminderDue` is published, from cached pending state."""

    def __init__(
        self,
        state: PendingState,
        sink: EventSink,
        clock: WallClock,
        settings: ReminderSettings | None = None,
        *,
        platform: str = sys.platform,
    ) -> None:
        self._state = state
        self._sink = sink
        self._clock = clock
        self.settings = settings or ReminderSettings()
        self._platform = platform
        self._lock = threading.RLock()
        self._last_shown: float | None = None
        self._at_risk_since: float | None = clock.time() if state.summary.at_risk else None
        self._snoozed_until: float | None = None
        self._snoozes_used = 0
        self._until_session_end = False
        self._idle_reminded = False
        self._locked = False
        self._backup_running = False
        self._showing = False
        self._last_tick: float | None = None

    def apply_settings(self, settings: ReminderSettings) -> None:
        """The user saved new reminder settings: they apply from the next decision on."""
        with self._lock:
            self.settings = settings

    # ------------------------------------------------------------------ inputs
    def pending_changed(self, previous: PendingSummary, current: PendingSummary) -> None:
        """The guard saw the pending state change."""
        with self._lock:
            if current.at_risk and not previous.at_risk:
                self._at_risk_since = self._clock.time()
            if not current.at_risk:
                self._at_risk_since = None
                self._snoozed_until = None
                self._snoozes_used = 0
                self._until_session_end = False
                if self._showing:
                    self._showing = False
                    self._sink.publish(RemindersWithdrawn(at=self._clock.time()))

    def acquisition_finished(self) -> bool:
        """An acquisition looks finished (folder quiet, acquisition software closed)."""
        return self._ordinary(ReminderKind.ACQUISITION_FINISHED)

    def idle(self, idle_seconds: float) -> bool:
        """How long the user has not touched keyboard or mouse (polled by the GUI)."""
        with self._lock:
            if idle_seconds < self.settings.idle_after:
                self._idle_reminded = False
                return False
            if self._idle_reminded:
                return False
            shown = self._ordinary(ReminderKind.IDLE)
            self._idle_reminded = shown
            return shown

    def locked(self) -> bool:
        """The workstation was locked or the user switched away: once per lock."""
        with self._lock:
            if self._locked:
                return False
            self._locked = True
            s = self.settings
            if not (s.enabled and s.when_locked) or self._backup_running:
                return False
            return self._show(ReminderKind.LOCKED)

    def unlocked(self) -> None:
        with self._lock:
            self._locked = False

    def backup_started(self) -> None:
        """A backup is running: ordinary reminders would only distract."""
        with self._lock:
            self._backup_running = True

    def backup_finished(self) -> None:
        with self._lock:
            self._backup_running = False

    def tick(self) -> bool:
        """Called by a timer: interval and time-of-day reminders."""
        with self._lock:
            now = self._clock.time()
            last_tick, self._last_tick = self._last_tick, now
            due = False
            every = self.settings.every
            if every is not None and self._at_risk_since is not None:
                since = max(self._at_risk_since, self._last_shown or self._at_risk_since)
                due = now - since >= every
            if not due and last_tick is not None:
                due = self._daily_time_passed(last_tick, now)
            return due and self._ordinary(ReminderKind.SCHEDULED)

    def session_end_cancelled(self) -> bool:
        """We held up a logout and the user cancelled it: the strongest reminder now."""
        with self._lock:
            self._until_session_end = False
            return self._show(ReminderKind.SESSION_END_CANCELLED, strong=True)

    def last_session(self, ended_with: PendingSummary) -> bool:
        """At startup: the marker says the previous session ended with data at risk."""
        if not ended_with.at_risk:
            return False
        with self._lock:
            now_pending = self._state.summary
            now = self._clock.time()
            self._last_shown = now
            self._showing = now_pending.at_risk
            self._sink.publish(
                ReminderDue(
                    at=now,
                    kind=ReminderKind.LAST_SESSION,
                    files=ended_with.files,
                    bytes=ended_with.bytes,
                    oldest=ended_with.oldest,
                    title=reminder_title(ReminderKind.LAST_SESSION, self._platform),
                    text=last_session_text(ended_with, now_pending, self._clock),
                    strong=now_pending.at_risk,
                    can_snooze=False,
                )
            )
            return True

    # ------------------------------------------------------------------ snoozing
    @property
    def can_snooze(self) -> bool:
        with self._lock:
            return self._snoozes_used < self.settings.max_snoozes

    def snooze(self, seconds: float | None = None) -> bool:
        """ "Remind me later": False (and nothing changes) once the snoozes are used up."""
        with self._lock:
            if not self.can_snooze:
                return False
            self._snoozes_used += 1
            delay = self.settings.snooze if seconds is None else seconds
            self._snoozed_until = self._clock.time() + delay
            self._showing = False
            return True

    def snooze_until_session_end(self) -> None:
        """ "Remind me when I log out": only the logout itself (and a lock) remind again."""
        with self._lock:
            self._until_session_end = True
            self._showing = False

    # ------------------------------------------------------------------ internals
    def _ordinary(self, kind: ReminderKind) -> bool:
        with self._lock:
            now = self._clock.time()
            s = self.settings
            if not s.enabled or self._backup_running or self._until_session_end:
                return False
            if self._snoozed_until is not None and now < self._snoozed_until:
                return False
            if self._last_shown is not None and now - self._last_shown < s.min_gap:
                return False
            return self._show(kind)

    def _show(self, kind: ReminderKind, *, strong: bool = False) -> bool:
        summary = self._state.summary
        if not summary.at_risk:
            return False
        now = self._clock.time()
        self._last_shown = now
        self._showing = True
        self._sink.publish(
            ReminderDue(
                at=now,
                kind=kind,
                files=summary.files,
                bytes=summary.bytes,
                oldest=summary.oldest,
                title=reminder_title(kind, self._platform),
                text=reminder_text(kind, summary, self._clock, self._platform),
                strong=strong,
                can_snooze=not strong and self.can_snooze,
            )
        )
        return True

    def _daily_time_passed(self, last_tick: float, now: float) -> bool:
        """Whether one of the ``daily_at`` times lies in ``(last_tick, now]``."""
        start = local_datetime(self._clock, last_tick)
        end = local_datetime(self._clock, now)
        day = start.date()
        while day <= end.date():
            for hour, minute in self.settings.daily_times():
                moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=end.tzinfo)
                if start < moment <= end:
                    return True
            day += timedelta(days=1)
        return False

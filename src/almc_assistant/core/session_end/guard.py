"""The session-end guard: the one object the OS adapters and the tray talk to.

Thread contract: every method may be called from any thread. :meth:`SessionEndGuard.refresh`
calls the injected ``pending_summary`` (which may query the catalog) and belongs on a
worker; every other method only reads the cached :class:`PendingState`, so an OS
session-end callback on the GUI thread is answered at once (see
``bench/bench_session_end.py``): its marker note is one small write without fsync, and it
skips the note rather than wait when a worker is writing the marker. No lock is held
during I/O. Events go to the injected sink on the caller's thread.

It keeps three things in step with the pending state: the cached summary (for the
decision and the block reason the adapters show the OS), the on-disk marker (for the next
login) and the reminder scheduler.
"""

from __future__ import annotations

import logging
import sys
import threading

from almc_assistant.core.config import ReminderSettings
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.events import Event, EventSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.session_end.clock import SystemClock, WallClock
from almc_assistant.core.session_end.cues import ActivityCues
from almc_assistant.core.session_end.decision import (
    SessionEndDecision,
    SessionEndPolicy,
    SessionEndRequest,
    decide,
)
from almc_assistant.core.session_end.events import (
    EndKind,
    PendingRefreshFailed,
    SessionEndAnswered,
)
from almc_assistant.core.session_end.marker import MarkerRecord, SessionMarker
from almc_assistant.core.session_end.pending import (
    PendingSource,
    PendingState,
    PendingSummary,
    as_summary,
)
from almc_assistant.core.session_end.reminders import ReminderScheduler
from almc_assistant.core.session_end.texts import short_reason

log = logging.getLogger(__name__)

MARKER_MIN_INTERVAL = 2.0  # seconds: coalesce marker rewrites while a copy drains the list


class SessionEndGuard:
    """Cached pending state, the marker, the logout decision and the reminders, in one place."""

    def __init__(
        self,
        pending_summary: PendingSource | None,
        marker: SessionMarker,
        sink: EventSink,
        *,
        clock: WallClock | None = None,
        policy: SessionEndPolicy | None = None,
        settings: ReminderSettings | None = None,
        platform: str = sys.platform,
    ) -> None:
        self._source = pending_summary
        self.marker = marker
        self._sink = sink
        self._clock = clock or SystemClock()
        self.policy = policy or SessionEndPolicy()
        self.platform = platform
        self.state = PendingState()
        self.reminders = ReminderScheduler(
            self.state, sink, self._clock, settings, platform=platform
        )
        self.cues = ActivityCues(self.reminders, self._clock)
        self._lock = threading.RLock()  # state and flags only; never held during I/O
        self._io_lock = threading.Lock()  # serialises marker writes
        self._previous: MarkerRecord | None = None
        self._previous_pending_reported = False
        self._marker_dirty = False
        self._marker_written_at: float | None = None
        self._ending: EndKind | None = None

    @classmethod
    def create(
        cls,
        pending_summary: PendingSource | None,
        paths: AppPaths,
        sink: EventSink,
        *,
        clock: WallClock | None = None,
        policy: SessionEndPolicy | None = None,
        settings: ReminderSettings | None = None,
        platform: str = sys.platform,
    ) -> SessionEndGuard:
        """A guard whose marker lives in ``paths.state_dir``."""
        marker = SessionMarker(paths.state_dir)
        return cls(
            pending_summary,
            marker,
            sink,
            clock=clock,
            policy=policy,
            settings=settings,
            platform=platform,
        )

    def apply_settings(self, settings: ReminderSettings) -> None:
        """New reminder settings (Settings saved: ``SettingsApplied``), in force at once."""
        self.reminders.apply_settings(settings)

    # ------------------------------------------------------------------ pending state
    def start(self) -> MarkerRecord | None:
        """Read what the previous session left behind. Call once, before the first update."""
        with self._lock:
            self._previous = self.marker.read()
            return self._previous

    @property
    def clock(self) -> WallClock:
        return self._clock

    @property
    def previous_session(self) -> MarkerRecord | None:
        return self._previous

    def refresh(self) -> PendingSummary:
        """Ask ``pending_summary()`` (may hit the catalog: call from a worker) and update."""
        if self._source is None:
            raise RuntimeError("this guard has no pending_summary source; call update() instead")
        summary = as_summary(self._source())
        self.update(summary)
        return summary

    def try_refresh(self) -> bool:
        """:meth:`refresh` for a worker: a failure is logged and published, not raised."""
        try:
            self.refresh()
        except Exception as exc:
            log.exception("Could not find out which files are not backed up yet")
            detail = str(exc) if isinstance(exc, AlmcError) else f"{type(exc).__name__}: {exc}"
            self._sink.publish(PendingRefreshFailed(at=self._clock.time(), detail=detail))
            return False
        return True

    def update(self, summary: PendingSummary) -> bool:
        """Store a new summary (e.g. pushed by the service's events). True if it changed."""
        with self._lock:  # no I/O under this lock: query_end must never wait for a disk
            previous = self.state.set(summary)
            first_report = not self._previous_pending_reported
            self._previous_pending_reported = True
            if previous is None and not first_report:
                return False
            flipped = previous is None or previous.at_risk != summary.at_risk
            self._marker_dirty = True
            write_now = flipped or self._marker_due()
            if previous is not None:
                self.reminders.pending_changed(previous, summary)
            if first_report and self._previous is not None:
                self.reminders.last_session(self._previous.pending)
        if write_now:
            self.flush_marker()
        return previous is not None

    @property
    def pending(self) -> PendingSummary:
        return self.state.summary

    @property
    def version(self) -> int:
        """Changes whenever the pending summary does (cheap to poll from a GUI timer)."""
        return self.state.version

    def block_reason(self) -> str | None:
        """The short reason to register with the OS while data is at risk, else ``None``."""
        summary = self.state.summary
        return short_reason(summary) if summary.at_risk else None

    def flush_marker(self, *, durable: bool = True) -> bool:
        """Write the marker if the pending state changed since the last write."""
        with self._lock:
            if not self._marker_dirty:
                return False
        return self._write_marker(durable=durable, blocking=True)

    # ------------------------------------------------------------------ session end
    def query_end(self, request: SessionEndRequest) -> SessionEndDecision:
        """The OS asks whether the session may end. Answers from the cache, at once."""
        summary = self.state.summary
        decision = decide(request, summary, self.policy)
        with self._lock:
            self._ending = request.kind
            self._marker_dirty = True
        if summary.at_risk:
            # The session may be killed at any moment from here on (Windows may not send
            # WM_ENDSESSION; GNOME's "Log Out Anyway" may not wait for us). If a worker is
            # writing the marker right now, its write already holds the pending state:
            # do not wait for its fsync; the note follows with the next flush.
            self._write_marker(durable=False, blocking=False)
        log.info(
            "Session end (%s, %s) %s; %d files not backed up",
            request.kind.value,
            request.platform,
            "held up" if decision.veto else "allowed",
            summary.files,
        )
        self._sink.publish(
            SessionEndAnswered(
                at=self._clock.time(),
                kind=request.kind,
                platform=request.platform,
                vetoed=decision.veto,
                files=summary.files,
                bytes=summary.bytes,
                reason=decision.reason,
            )
        )
        return decision

    def session_end_cancelled(self) -> None:
        """The end was cancelled (by the user, or because we held it up): remind now."""
        with self._lock:
            noted = self._ending is not None
            self._ending = None
            self._marker_dirty = self._marker_dirty or noted
        if noted:
            self._write_marker(durable=False, blocking=False)
        self.reminders.session_end_cancelled()

    def cancel_announced_end(self) -> bool:
        """:meth:`session_end_cancelled`, only if an end was announced and not yet cancelled.

        For desktops that tell two adapters about one cancelled logout (Xfce: XSMP and its
        D-Bus client): the first one reminds, the second finds nothing to cancel."""
        with self._lock:
            if self._ending is None:
                return False
        self.session_end_cancelled()
        return True

    def session_ending(self, kind: EndKind | None = None) -> None:
        """The session really ends now (we may be killed any moment): record it, quickly."""
        with self._lock:
            self._ending = kind or self._ending or EndKind.UNKNOWN
            self._marker_dirty = True
        self._write_marker(durable=False, blocking=True)

    # ------------------------------------------------------------------ cues
    def observe(self, event: Event) -> None:
        """Forward any core event (watcher, copy jobs): the cues pick what matters."""
        self.cues.observe(event)

    def acquisition_finished(self) -> bool:
        return self.reminders.acquisition_finished()

    def idle(self, idle_seconds: float) -> bool:
        return self.reminders.idle(idle_seconds)

    def locked(self) -> bool:
        return self.reminders.locked()

    def unlocked(self) -> None:
        self.reminders.unlocked()

    def snooze(self, seconds: float | None = None) -> bool:
        """ "Remind me later" (False once the snoozes allowed are used up)."""
        return self.reminders.snooze(seconds)

    def snooze_until_session_end(self) -> None:
        """ "Remind me when I log out"."""
        self.reminders.snooze_until_session_end()

    def tick(self) -> bool:
        """Timer: flush a coalesced marker write, the quiet-folder cue, the schedule."""
        if self._marker_due():
            self.flush_marker()
        cue = self.cues.tick()
        return self.reminders.tick() or cue

    # ------------------------------------------------------------------ internals
    def _marker_due(self) -> bool:
        with self._lock:
            if not self._marker_dirty:
                return False
            last = self._marker_written_at
            return last is None or self._clock.time() - last >= MARKER_MIN_INTERVAL

    def _write_marker(self, *, durable: bool, blocking: bool) -> bool:
        """Write the current state. Writes are serialised; the record is built inside, so
        the last write always holds the latest state. ``blocking=False`` gives up at once
        if another write is in progress (the marker stays dirty for the next flush)."""
        if not self._io_lock.acquire(blocking=blocking):
            return False
        try:
            with self._lock:
                self._marker_dirty = False
                ending = self._ending
                summary = self.state.summary
            now = self._clock.time()
            record = MarkerRecord(
                pending=summary,
                updated=now,
                ended_kind=ending,
                ended_at=now if ending is not None else None,
            )
            try:
                self.marker.write(record, durable=durable)
            except AlmcError as exc:
                # Never let a marker problem reach the OS callback; the next flush retries.
                log.warning("%s %s", exc, exc.next_step)
                with self._lock:
                    self._marker_dirty = True
                return False
            with self._lock:
                self._marker_written_at = now
            return True
        finally:
            self._io_lock.release()

"""Events the session-end guard and the reminder scheduler publish.

Thread contract: frozen values, published from whichever thread called the guard or the
scheduler (the GUI thread for OS callbacks and timers; a worker for ``refresh``). The tray
drains them through the GUI's event pump and shows :class:`ReminderDue` as one summarised
notification pointing to its one reminder window (``qt/reminder_window.py``); ``strong``
ones raise that window as well, and :class:`RemindersWithdrawn` closes it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from almc_assistant.core.events import Event


class ReminderKind(enum.Enum):
    """Why a reminder is due, weakest first."""

    ACQUISITION_FINISHED = "acquisition_finished"  # an acquisition looks finished
    IDLE = "idle"  # nobody has used the session for a while
    SCHEDULED = "scheduled"  # the configured interval or time of day came
    LOCKED = "locked"  # the workstation was locked or the user switched away
    SESSION_END_CANCELLED = "session_end_cancelled"  # we blocked a logout and the user cancelled
    LAST_SESSION = "last_session"  # the previous session ended with data not backed up


class EndKind(enum.Enum):
    """What kind of session end the operating system announced."""

    LOGOFF = "logoff"
    SHUTDOWN_OR_RESTART = "shutdown_or_restart"
    CLOSE_APP = "close_app"  # Windows Restart Manager (installers, updaters): never veto
    FORCED = "forced"  # critical or forced end: never veto
    UNKNOWN = "unknown"  # e.g. macOS, where a logout and a Dock "Quit" look the same


@dataclass(frozen=True, slots=True, kw_only=True)
class ReminderDue(Event):
    """Show one summarised reminder now.

    ``strong``: open the reminder window (not only a notification). ``can_snooze``: offer
    "Remind me later" (false once the snoozes allowed are used up).
    """

    kind: ReminderKind
    files: int
    bytes: int
    oldest: float | None
    title: str
    text: str
    strong: bool = False
    can_snooze: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class RemindersWithdrawn(Event):
    """Everything is backed up now: remove any reminder still on screen."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionEndAnswered(Event):
    """The operating system asked whether the session may end and got this answer."""

    kind: EndKind
    platform: str
    vetoed: bool
    files: int
    bytes: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingRefreshFailed(Event):
    """Asking the service what is pending failed; the last known state is kept."""

    detail: str

"""Session end and reminders: the Qt-free decision core behind the logout reminder.

Thread contract: see each module; the facade :class:`SessionEndGuard` may be called from
any thread and never does I/O on the OS callback path except one small marker write.

Typical wiring (the tray app)::

    guard = SessionEndGuard.create(service.pending_summary, paths, sink)
    guard.start()                   # reads the previous session's marker
    guard.refresh()                 # on a worker; then whenever the catalog changes
    hooks = install_session_end_hooks(app, guard)   # almc_assistant.qt.session
"""

from almc_assistant.core.config import ReminderSettings
from almc_assistant.core.session_end.clock import SystemClock, WallClock
from almc_assistant.core.session_end.decision import (
    SessionEndDecision,
    SessionEndPolicy,
    SessionEndRequest,
    decide,
)
from almc_assistant.core.session_end.events import (
    EndKind,
    PendingRefreshFailed,
    ReminderDue,
    ReminderKind,
    RemindersWithdrawn,
    SessionEndAnswered,
)
from almc_assistant.core.session_end.guard import SessionEndGuard
from almc_assistant.core.session_end.marker import MarkerRecord, SessionMarker
from almc_assistant.core.session_end.pending import PendingSource, PendingState, PendingSummary
from almc_assistant.core.session_end.reminders import ReminderScheduler
from almc_assistant.core.session_end.texts import describe_pending, short_reason

__all__ = [
    "EndKind",
    "MarkerRecord",
    "PendingRefreshFailed",
    "PendingSource",
    "PendingState",
    "PendingSummary",
    "ReminderDue",
    "ReminderKind",
    "ReminderScheduler",
    "ReminderSettings",
    "RemindersWithdrawn",
    "SessionEndAnswered",
    "SessionEndDecision",
    "SessionEndGuard",
    "SessionEndPolicy",
    "SessionEndRequest",
    "SessionMarker",
    "SystemClock",
    "WallClock",
    "decide",
    "describe_pending",
    "short_reason",
]

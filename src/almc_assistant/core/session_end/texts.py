"""Plain-English wording for pending data: sizes, ages, reminder and block-reason texts.

Thread contract: pure functions, safe anywhere. The tray reuses :func:`describe_pending`
for its tooltip ("3 files (12.4 GB) from today are not backed up yet") so the tooltip,
the notifications and the OS's logout screen say the same thing.
"""

from __future__ import annotations

import sys

from almc_assistant.core.session_end.clock import WallClock, local_datetime
from almc_assistant.core.session_end.events import ReminderKind
from almc_assistant.core.session_end.pending import PendingSummary
from almc_assistant.core.units import human_size

MAX_REASON_CHARS = 60  # Windows truncates block reasons; users read them in seconds


def count_phrase(summary: PendingSummary) -> str:
    """``1 file (2.1 GB)``, ``1,234 files (12.4 GB)``."""
    size = human_size(summary.bytes)
    return f"1 file ({size})" if summary.files == 1 else f"{summary.files:,} files ({size})"


def day_phrase(oldest: float, clock: WallClock) -> str:
    """When ``oldest`` was, relative to now: ``today``, ``yesterday``, ``Monday``, ``14 Nov``."""
    now = local_datetime(clock)
    then = local_datetime(clock, oldest)
    days = (now.date() - then.date()).days
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 7:
        return then.strftime("%A")
    if then.year == now.year:
        return f"{then.day} {then.strftime('%b')}"
    return f"{then.day} {then.strftime('%b')} {then.year}"


def describe_pending(summary: PendingSummary, clock: WallClock) -> str:
    """One sentence for the tooltip and notifications.

    ``3 files (12.4 GB) from today are not backed up yet``; older data names its day;
    nothing pending gives ``All your files are backed up``.
    """
    if not summary.at_risk:
        return "All your files are backed up"
    head = count_phrase(summary)
    verb = "is" if summary.files == 1 else "are"
    if summary.oldest is None:
        return f"{head} {verb} not backed up yet"
    day = day_phrase(summary.oldest, clock)
    if day == "today" or summary.files == 1:
        return f"{head} from {day} {verb} not backed up yet"
    return f"{head} {verb} not backed up yet, the oldest from {day}"


def short_reason(summary: PendingSummary) -> str:
    """The block reason for the OS's logout screen (at most :data:`MAX_REASON_CHARS`)."""
    head = count_phrase(summary)
    verb = "is" if summary.files == 1 else "are"
    text = f"{head} {verb} not backed up yet"
    return text if len(text) <= MAX_REASON_CHARS else "Files are not backed up yet"


def sign_out_word(platform: str = sys.platform) -> str:
    """What the platform calls ending a session ("sign out" on Windows)."""
    return "sign out" if platform == "win32" else "log out"


def reminder_title(kind: ReminderKind, platform: str = sys.platform) -> str:
    """Notification title for each kind of reminder."""
    if kind is ReminderKind.ACQUISITION_FINISHED:
        return "Acquisition finished: back up your files"
    if kind is ReminderKind.SESSION_END_CANCELLED:
        return f"Back up before you {sign_out_word(platform)}"
    if kind is ReminderKind.LAST_SESSION:
        return "Your last session ended before the backup"
    return "Your files are not backed up yet"


def reminder_text(
    kind: ReminderKind, summary: PendingSummary, clock: WallClock, platform: str = sys.platform
) -> str:
    """Notification body: the summary sentence plus what this moment asks of the user."""
    sentence = describe_pending(summary, clock)
    if kind is ReminderKind.LOCKED:
        return f"{sentence}. Back up before you leave the workstation."
    if kind is ReminderKind.SESSION_END_CANCELLED:
        return (
            f"{sentence}. They are only on this computer, and the facility's cleanup "
            f"may delete them. Back up now, then {sign_out_word(platform)}."
        )
    return f"{sentence}."


def last_session_text(
    ended_with: PendingSummary, now_pending: PendingSummary, clock: WallClock
) -> str:
    """Next-login text from the marker, and whether those files are still at risk."""
    head = count_phrase(ended_with)
    text = f"Your last session ended with {head} not backed up."
    if now_pending.at_risk:
        return f"{text} Now: {describe_pending(now_pending, clock)}."
    return f"{text} Everything is backed up now."


def logout_question(summary: PendingSummary, clock: WallClock) -> tuple[str, str]:
    """Headline and text of the question an X11 logout waits for (``qt/session/xsmp``)."""
    return (
        f"{describe_pending(summary, clock)}.",
        "They are only on this computer, and the facility's cleanup may delete them. "
        "Cancel the logout to back them up first, or log out anyway.",
    )

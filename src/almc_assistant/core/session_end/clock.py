"""The clock the session-end guard and the reminder scheduler read.

Thread contract: plain values; :class:`SystemClock` is safe anywhere. Tests inject a fake
clock so that schedules, snoozes and ages are deterministic (no sleeping, no real time).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol


class WallClock(Protocol):
    """Wall-clock time in seconds since the epoch, and the local time zone."""

    def time(self) -> float: ...

    def tz(self) -> tzinfo | None:
        """Time zone for "today" and daily reminder times (``None``: the machine's)."""
        ...


class SystemClock:
    """The real clock: ``time.time()`` in the machine's local time zone."""

    def time(self) -> float:
        return time.time()

    def tz(self) -> tzinfo | None:
        return None


def local_datetime(clock: WallClock, at: float | None = None) -> datetime:
    """``at`` (default: now) as an aware local datetime in the clock's time zone."""
    when = clock.time() if at is None else at
    tz = clock.tz()
    try:
        # Aware first: Windows' C runtime has no local time near or before 1970, and a
        # naive fromtimestamp(0).astimezone() raised there (a file with an mtime of 0)
        return datetime.fromtimestamp(when, UTC).astimezone(tz)
    except (OSError, OverflowError, ValueError):  # Windows: before 1970, kept in UTC
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=when)

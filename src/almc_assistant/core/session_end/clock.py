"""The clock the session-end guard and the reminder scheduler read.

Thread contract: plain values; :class:`SystemClock` is safe anywhere. Tests inject a fake
clock so that schedules, snoozes and ages are deterministic (no sleeping, no real time).
"""

from __future__ import annotations

import time
from datetime import datetime, tzinfo
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
    if tz is None:
        return datetime.fromtimestamp(when).astimezone()
    return datetime.fromtimestamp(when, tz)

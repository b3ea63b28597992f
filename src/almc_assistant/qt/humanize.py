"""Numbers, sizes, times and durations in the words a user reads.

Thread contract: pure functions, safe anywhere (kept in ``qt/`` because only the GUI
uses them). Sizes are decimal (1 GB = 10^9 bytes) and said by ``core.units.human_size`` alone
(the command line's too) so every screen, reminder, the logout text and the CLI agree;
the pending sentence is ``core.session_end.texts.describe_pending``.
"""

from __future__ import annotations

import datetime as dt

from almc_assistant.core.units import human_size


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 file``, ``3 files``, ``12,345 files``."""
    word = noun if n == 1 else (plural or noun + "s")
    return f"{n:,} {word}"


def rate(bytes_per_second: float | None) -> str:
    """``240 MB/s``; an em dash when unknown."""
    if not bytes_per_second or bytes_per_second <= 0:
        return "—"
    return human_size(bytes_per_second) + "/s"


def duration(seconds: float | None) -> str:
    """``about 3 minutes``; ``1 h 20 min``; ``less than a minute``; ``—`` when unknown."""
    if seconds is None or seconds < 0 or seconds != seconds:
        return "—"
    s = round(seconds)
    if s < 60:
        return "less than a minute" if s >= 10 else "a few seconds"
    minutes = s // 60
    if minutes < 60:
        return count(minutes, "minute")
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{count(days, 'day')} {hours} h" if hours else count(days, "day")


def time_left(seconds: float | None) -> str:
    """``about 3 minutes left``, ``a few seconds left``; ``—`` when unknown."""
    words = duration(seconds)
    if words == "—":
        return words
    if words in ("a few seconds", "less than a minute"):
        return f"{words} left"
    return f"about {words} left"


def cleanup_date(date_: float | None, now: float) -> str:
    """When cleanup may delete something: ``now``, ``today``, ``Wed 2 Dec 2026 (in 9 days)``;
    ``—`` when not known (the reminder and the pre-deletion warning say it alike)."""
    if date_ is None:
        return "—"
    days = (date_ - now) / 86400.0
    if days <= 0:
        return "now"
    if days < 1:
        return "today"
    return f"{date(date_)} (in {count(round(days), 'day')})"


def date(when: dt.datetime | dt.date | float | None) -> str:
    """A calendar date: ``Mon 3 Nov 2026``."""
    if when is None:
        return "—"
    if isinstance(when, float | int):
        when = dt.datetime.fromtimestamp(when)
    return f"{when:%a} {when.day} {when:%b %Y}"

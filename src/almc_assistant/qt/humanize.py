"""Numbers, sizes, times and durations in the words a user reads.

Thread contract: pure functions, safe anywhere (kept in ``qt/`` because only the GUI
uses them). Sizes are decimal (1 GB = 10^9 bytes), as Windows Explorer's labels, macOS
Finder and GNOME Files show them to users.
"""

from __future__ import annotations

import datetime as dt

_UNITS = ("bytes", "KB", "MB", "GB", "TB", "PB")


def size(n: int | float) -> str:
    """``12.4 GB``; ``1 byte``; ``950 bytes``; three significant digits above 1 KB."""
    n = float(n)
    if n < 1000:
        whole = int(n)
        return "1 byte" if whole == 1 else f"{whole} bytes"
    unit = 0
    while n >= 999.95 and unit < len(_UNITS) - 1:
        n /= 1000.0
        unit += 1
    digits = 1 if n < 100 else 0
    return f"{n:.{digits}f} {_UNITS[unit]}"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 file``, ``3 files``, ``12,345 files``."""
    word = noun if n == 1 else (plural or noun + "s")
    return f"{n:,} {word}"


def rate(bytes_per_second: float | None) -> str:
    """``240 MB/s``; an em dash when unknown."""
    if not bytes_per_second or bytes_per_second <= 0:
        return "—"
    return size(bytes_per_second) + "/s"


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


def since(when: dt.datetime | float | None, now: dt.datetime | None = None) -> str:
    """Which day something is from: ``today``, ``yesterday``, ``Monday``, ``3 Nov``."""
    if when is None:
        return "an unknown day"
    moment = when if isinstance(when, dt.datetime) else dt.datetime.fromtimestamp(when)
    now = now or dt.datetime.now(tz=moment.tzinfo)
    days = (now.date() - moment.date()).days
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 7:
        return moment.strftime("%A")
    if moment.year == now.year:
        return f"{moment.day} {moment:%b}"
    return f"{moment.day} {moment:%b %Y}"


def date(when: dt.datetime | dt.date | float | None) -> str:
    """A calendar date: ``Mon 3 Nov 2026``."""
    if when is None:
        return "—"
    if isinstance(when, float | int):
        when = dt.datetime.fromtimestamp(when)
    return f"{when:%a} {when.day} {when:%b %Y}"


def pending_sentence(files: int, total_bytes: int, oldest: dt.datetime | float | None) -> str:
    """``3 files (12.4 GB) from today are not backed up yet``; the all-safe sentence at 0."""
    if files <= 0:
        return "All your files are backed up"
    verb = "is" if files == 1 else "are"
    origin = ""
    if oldest is not None:
        day = since(oldest)
        origin = f" from {day}" if day in ("today", "yesterday") else f" since {day}"
    return f"{count(files, 'file')} ({size(total_bytes)}){origin} {verb} not backed up yet"

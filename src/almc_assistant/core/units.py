"""Human-readable sizes and dates: the one formatter every screen, message and CLI uses.

One unit system everywhere: decimal (kB, MB, GB: what file managers on Windows 11 and
macOS show), never GiB beside GB. Plurals through :func:`plural`.

Thread contract: pure functions, safe anywhere.
"""

from __future__ import annotations

import time

_UNITS = ("kB", "MB", "GB", "TB", "PB")


def human_size(n: float) -> str:
    """Decimal units as file managers show them: ``12.4 GB``, ``124 GB``, ``512 bytes``.

    One decimal below 100 of a unit, none above; ``kB`` is the SI kilobyte (1,000 bytes).
    The tray's tooltip, the reminders, the logout reason, the windows and the command line
    all say sizes through this function, so they agree to the digit.
    """
    n = int(n)
    if n < 1000:
        return "1 byte" if n == 1 else f"{n} bytes"
    value = float(n)
    unit = "bytes"
    for unit in _UNITS:
        value /= 1000.0
        if round(value, 1) < 1000.0 or unit == _UNITS[-1]:
            break
    return f"{value:.1f} {unit}" if round(value, 1) < 100 else f"{value:.0f} {unit}"


def human_date(at: float) -> str:
    """A local calendar date: ``2026-11-23``."""
    return time.strftime("%Y-%m-%d", time.localtime(at))


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 file``, ``3 files``; ``plural(2, "copy", "copies")`` for irregular words."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def percent(fraction: float) -> str:
    """A share in the one form every screen uses: ``42%`` (no space, as ``14% full``)."""
    return f"{round(fraction * 100)}%"


def percent_full(percent_used: float) -> str:
    """How full a disk is: ``14% full``."""
    return f"{percent_used:.0f}% full"

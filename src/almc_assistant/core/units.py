"""Human-readable sizes and dates for messages.

Thread contract: pure functions, safe anywhere.
"""

from __future__ import annotations

import time


def human_size(n: float) -> str:
    """Decimal units, as file managers show them: ``12.4 GB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def human_date(at: float) -> str:
    """A local calendar date: ``2026-11-23``."""
    return time.strftime("%Y-%m-%d", time.localtime(at))


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"

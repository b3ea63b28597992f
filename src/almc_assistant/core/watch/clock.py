"""The clock port the stabiliser measures quiet periods with.

Thread contract: :class:`MonotonicClock` is stateless and safe anywhere;
:class:`ManualClock` is thread-safe. Quiet periods are measured with a monotonic clock,
so wall-clock jumps (NTP, daylight saving, a user changing the time) never make a file
look quiet sooner or later than it is. Tests inject :class:`ManualClock`.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Monotonic(Protocol):
    """A source of monotonic seconds."""

    def monotonic(self) -> float: ...


class MonotonicClock:
    """The real clock: :func:`time.monotonic`."""

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that only moves when told to (deterministic tests)."""

    def __init__(self, start: float = 1000.0) -> None:
        self._lock = threading.Lock()
        self._now = start

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (must not be negative)."""
        if seconds < 0:
            raise ValueError("a monotonic clock never goes back")
        with self._lock:
            self._now += seconds

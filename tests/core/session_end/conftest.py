"""Fixtures for the session-end core: a fake clock in a fixed time zone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo

import pytest

TZ = timezone(timedelta(hours=1), "CET")


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()

    def time(self) -> float:
        return self.now

    def tz(self) -> tzinfo | None:
        return TZ

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def at(self, *args: int) -> float:
        """Epoch seconds for a local datetime (year, month, day, hour, minute)."""
        return datetime(*args, tzinfo=TZ).timestamp()  # type: ignore[misc]


@pytest.fixture
def clock() -> FakeClock:
    # A Wednesday morning.
    return FakeClock(datetime(2026, 11, 18, 9, 0, tzinfo=TZ))

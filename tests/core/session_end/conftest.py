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

    def at(self, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
        """Epoch seconds for a local datetime."""
        return datetime(year, month, day, hour, minute, tzinfo=TZ).timestamp()


@pytest.fixture
def clock() -> FakeClock:
    # A Wednesday morning.
    return FakeClock(datetime(2026, 11, 18, 9, 0, tzinfo=TZ))

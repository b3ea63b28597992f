"""Sizes, counts, durations and the pending sentence read as a user expects."""

from __future__ import annotations

import pytest

from almc_assistant.qt import humanize


def test_count_and_rate() -> None:
    assert humanize.count(1, "file") == "1 file"
    assert humanize.count(12345, "file") == "12,345 files"
    assert humanize.rate(240e6) == "240 MB/s"
    assert humanize.rate(None) == "—"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (3, "a few seconds"),
        (45, "less than a minute"),
        (61, "1 minute"),
        (3 * 3600 + 20 * 60, "3 h 20 min"),
        (2 * 86400 + 3600, "2 days 1 h"),
    ],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert humanize.duration(seconds) == text


def test_cleanup_date() -> None:
    now = 1_800_000_000.0
    day = 86400.0
    assert humanize.cleanup_date(None, now) == "—"
    assert humanize.cleanup_date(now - day, now) == "now"
    assert humanize.cleanup_date(now + day / 2, now) == "today"
    in_nine = humanize.cleanup_date(now + 9 * day, now)
    assert in_nine == f"{humanize.date(now + 9 * day)} (in 9 days)"

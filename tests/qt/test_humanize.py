"""Sizes, counts, durations and the pending sentence read as a user expects."""

from __future__ import annotations

import datetime as dt

import pytest

from almc_assistant.qt import humanize


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (999, "999 bytes"),
        (1000, "1.0 KB"),
        (12_400_000_000, "12.4 GB"),
        (999_960_000, "1.0 GB"),
        (250_000_000, "250 MB"),
        (3 * 10**15, "3.0 PB"),
    ],
)
def test_size(n: int, text: str) -> None:
    assert humanize.size(n) == text


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


def test_since() -> None:
    now = dt.datetime(2026, 11, 23, 18, 0)
    assert humanize.since(dt.datetime(2026, 11, 23, 8, 0), now) == "today"
    assert humanize.since(dt.datetime(2026, 11, 22, 23, 0), now) == "yesterday"
    assert humanize.since(dt.datetime(2026, 11, 19, 9, 0), now) == "Thursday"
    assert humanize.since(dt.datetime(2026, 11, 3, 9, 0), now) == "3 Nov"
    assert humanize.since(dt.datetime(2025, 11, 3, 9, 0), now) == "3 Nov 2025"


def test_pending_sentence() -> None:
    now = dt.datetime.now()
    assert (
        humanize.pending_sentence(3, 12_400_000_000, now)
        == "3 files (12.4 GB) from today are not backed up yet"
    )
    assert humanize.pending_sentence(1, 5, None) == "1 file (5 bytes) is not backed up yet"
    assert humanize.pending_sentence(0, 0, None) == "All your files are backed up"

"""Wording: sizes, ages, the tooltip sentence and the short block reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from almc_assistant.core.session_end import PendingSummary, describe_pending
from almc_assistant.core.session_end.clock import SystemClock
from almc_assistant.core.session_end.events import ReminderKind
from almc_assistant.core.session_end.texts import (
    MAX_REASON_CHARS,
    last_session_text,
    reminder_text,
    reminder_title,
    short_reason,
)
from tests.core.session_end.conftest import FakeClock


def test_tooltip_sentence_for_today(clock: FakeClock) -> None:
    s = PendingSummary(files=3, bytes=12_400_000_000, oldest=clock.at(2026, 11, 18, 8, 10))
    assert describe_pending(s, clock) == "3 files (12.4 GB) from today are not backed up yet"


def test_one_file_is_singular(clock: FakeClock) -> None:
    s = PendingSummary(files=1, bytes=2_100_000_000, oldest=clock.at(2026, 11, 17, 16, 0))
    assert describe_pending(s, clock) == "1 file (2.1 GB) from yesterday is not backed up yet"


@pytest.mark.parametrize(
    ("oldest", "phrase"),
    [
        ((2026, 11, 17, 23, 59), "the oldest from yesterday"),
        ((2026, 11, 16, 9, 0), "the oldest from Monday"),
        ((2026, 11, 11, 9, 0), "the oldest from 11 Nov"),
        ((2025, 12, 24, 9, 0), "the oldest from 24 Dec 2025"),
    ],
)
def test_older_data_names_the_day_of_the_oldest_file(
    clock: FakeClock, oldest: tuple[int, ...], phrase: str
) -> None:
    s = PendingSummary(files=1234, bytes=5_000_000, oldest=clock.at(*oldest))
    assert describe_pending(s, clock) == f"1,234 files (5.0 MB) are not backed up yet, {phrase}"


def test_nothing_pending_says_so(clock: FakeClock) -> None:
    assert describe_pending(PendingSummary(), clock) == "All your files are backed up"


@given(files=st.integers(1, 10**12), size=st.integers(0, 10**22))
def test_block_reason_always_fits_the_os_screen(files: int, size: int) -> None:
    reason = short_reason(PendingSummary(files=files, bytes=size))
    assert 0 < len(reason) <= MAX_REASON_CHARS
    assert "not backed up" in reason


def test_session_end_texts_use_the_platform_word(clock: FakeClock) -> None:
    s = PendingSummary(files=2, bytes=10**9, oldest=clock.now)
    assert reminder_title(ReminderKind.SESSION_END_CANCELLED, "win32") == (
        "Back up before you sign out"
    )
    assert "then log out" in reminder_text(ReminderKind.SESSION_END_CANCELLED, s, clock, "linux")
    assert "only on this computer" in reminder_text(
        ReminderKind.SESSION_END_CANCELLED, s, clock, "darwin"
    )


def test_last_session_text_says_whether_it_is_safe_now(clock: FakeClock) -> None:
    ended = PendingSummary(files=3, bytes=12_400_000_000, oldest=clock.now)
    assert last_session_text(ended, PendingSummary(), clock) == (
        "Your last session ended with 3 files (12.4 GB) not backed up. Everything is backed up now."
    )
    still = last_session_text(ended, ended, clock)
    assert still.endswith("Now: 3 files (12.4 GB) from today are not backed up yet.")


def test_negative_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        PendingSummary(files=-1)


@pytest.mark.parametrize("oldest", [0.0, 3600.0, -5.0])
def test_files_dated_at_or_before_1970_are_described_with_the_real_clock(oldest: float) -> None:
    """Windows: ``datetime.fromtimestamp(0).astimezone()`` raised OSError (the Windows
    lane found it through a reminder for files with an mtime of 0)."""
    text = describe_pending(PendingSummary(2, 2000, oldest), SystemClock())
    assert "1970" in text or "1969" in text, text

"""Reminder settings: one type for the user's file, Settings and the running reminders;
clear errors for bad values set in code."""

from __future__ import annotations

from typing import Any

import pytest

from almc_assistant.core import config as config_module
from almc_assistant.core import session_end
from almc_assistant.core.config import ReminderSettings
from almc_assistant.core.errors import ConfigError


def test_one_reminder_settings_type() -> None:
    assert session_end.ReminderSettings is config_module.ReminderSettings


def test_minutes_are_read_as_seconds_by_the_scheduler() -> None:
    s = ReminderSettings(idle_minutes=20, every_minutes=90, snooze_minutes=10, min_gap_minutes=45)
    assert (s.idle_after, s.every, s.snooze, s.min_gap) == (1200.0, 5400.0, 600.0, 2700.0)


def test_every_zero_minutes_means_no_interval_reminders() -> None:
    assert ReminderSettings(every_minutes=0).every is None


def test_daily_times() -> None:
    assert ReminderSettings(daily_at=("12:30", "7:05")).daily_times() == ((12, 30), (7, 5))


@pytest.mark.parametrize(
    ("kwargs", "key", "hint"),
    [
        ({"daily_at": ("25:00",)}, "daily_at", '"HH:MM"'),
        ({"daily_at": (1700,)}, "daily_at", '"HH:MM"'),
        ({"every_minutes": -1}, "every_minutes", "0 or more"),
        ({"every_minutes": True}, "every_minutes", "0 or more"),
        ({"min_gap_minutes": -1}, "min_gap_minutes", "0 or more"),
        ({"snooze_minutes": "10 min"}, "snooze_minutes", "minutes"),
        ({"max_snoozes": 1.5}, "max_snoozes", "whole number"),
    ],
)
def test_bad_values_name_the_setting_and_what_to_write(
    kwargs: dict[str, Any], key: str, hint: str
) -> None:
    with pytest.raises(ConfigError) as info:
        ReminderSettings(**kwargs)
    assert repr(key) in info.value.detail
    assert hint in info.value.next_step

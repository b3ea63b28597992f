"""Reminder settings: from the user's config, and clear errors for bad values in code."""

from __future__ import annotations

from typing import Any

import pytest

from almc_assistant.core.config import ReminderSettings as UserReminders
from almc_assistant.core.errors import ConfigError
from almc_assistant.core.session_end import ReminderSettings


def test_from_user_config_converts_minutes() -> None:
    s = ReminderSettings.from_user_config(
        UserReminders(idle_minutes=20, every_minutes=90, snooze_minutes=10)
    )
    assert (s.idle_after, s.every, s.snooze) == (1200.0, 5400.0, 600.0)


def test_every_zero_minutes_means_no_interval_reminders() -> None:
    s = ReminderSettings.from_user_config(UserReminders(every_minutes=0))
    assert s.every is None


def test_daily_times() -> None:
    assert ReminderSettings(daily_at=("12:30", "7:05")).daily_times() == ((12, 30), (7, 5))


@pytest.mark.parametrize(
    ("kwargs", "key", "hint"),
    [
        ({"daily_at": ("25:00",)}, "daily_at", '"HH:MM"'),
        ({"daily_at": (1700,)}, "daily_at", '"HH:MM"'),
        ({"every": 0}, "every", "above 0"),
        ({"every": True}, "every", "above 0"),
        ({"min_gap": -1}, "min_gap", "0 or more"),
        ({"snooze": "10 min"}, "snooze", "seconds"),
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

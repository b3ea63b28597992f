"""Reminder settings: defaults, and clear errors for bad values."""

from __future__ import annotations

import pytest

from almc_assistant.core.errors import ConfigError
from almc_assistant.core.session_end import ReminderSettings


def test_from_mapping_builds_typed_settings() -> None:
    s = ReminderSettings.from_mapping({"every": 3600, "daily_at": ["12:30", "17:05"]})
    assert s.every == 3600
    assert s.daily_times() == ((12, 30), (17, 5))


@pytest.mark.parametrize(
    ("data", "key", "hint"),
    [
        ({"daily_at": ["25:00"]}, "daily_at", '"HH:MM"'),
        ({"daily_at": "17:00"}, "daily_at", "a list of times"),
        ({"every": 0}, "every", "above 0"),
        ({"every": True}, "every", "above 0"),
        ({"min_gap": -1}, "min_gap", "0 or more"),
        ({"snooze": "10 min"}, "snooze", "seconds"),
        ({"max_snoozes": 1.5}, "max_snoozes", "whole number"),
    ],
)
def test_bad_values_name_the_key_and_what_to_write(data: dict, key: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        ReminderSettings.from_mapping(data)
    assert repr(key) in info.value.detail
    assert hint in info.value.next_step


def test_unknown_keys_are_an_error_with_the_valid_ones_listed() -> None:
    with pytest.raises(ConfigError) as info:
        ReminderSettings.from_mapping({"evry": 60})
    assert "'evry'" in info.value.detail
    assert "every" in info.value.next_step

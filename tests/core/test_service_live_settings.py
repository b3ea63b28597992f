"""The service owns the live settings: one change reaches every part, once.

Real service on temporary folders, real TOML files. The reminder settings reach the
session-end guard the service owns without any front end relaying them; the whole
reminder schedule (``daily_at``, ``min_gap_minutes``, ``max_snoozes``) is settable in the
user's file and reaches the running reminders as written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from almc_assistant.core import service_events as ev
from almc_assistant.core.config import ReminderSettings, UserSettings, load_config
from almc_assistant.core.events import ListSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.service import Service
from almc_assistant.core.session_end.reminders import ReminderScheduler


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return AppPaths.under(tmp_path / "home").ensure()


def test_saved_reminder_settings_reach_the_running_guard_at_once(paths: AppPaths) -> None:
    sink = ListSink()
    service = Service(paths, sink, inline=True)
    try:
        guard = service.session_end_guard()
        assert guard.reminders.settings == service.reminder_settings() == ReminderSettings()
        wanted = ReminderSettings(
            idle_minutes=7,
            every_minutes=45,
            snooze_minutes=12,
            daily_at=("12:30", "18:00"),
            min_gap_minutes=20,
            max_snoozes=4,
        )
        service.save_user_config(UserSettings(reminders=wanted))
        # no event pump, no GUI: the service applied them to the guard it owns
        assert guard.reminders.settings == wanted
        assert service.session_end_guard() is guard
        assert (guard.reminders.settings.idle_after, guard.reminders.settings.snooze) == (420, 720)
        assert len(sink.of_type(ev.SettingsApplied)) == 1
    finally:
        service.stop()


def test_the_whole_schedule_is_read_from_the_users_file(paths: AppPaths) -> None:
    paths.user_config.write_text(
        "[reminders]\nidle_minutes = 10\ndaily_at = ['08:15']\nmin_gap_minutes = 5\n"
        "max_snoozes = 6\n",
        encoding="utf-8",
    )
    service = Service(paths, ListSink(), inline=True)
    try:
        settings = service.session_end_guard().reminders.settings
        assert settings.daily_at == ("08:15",) and settings.min_gap == 300
        assert settings.max_snoozes == 6 and settings.idle_after == 600
    finally:
        service.stop()


def test_a_bad_time_of_day_is_a_problem_and_the_default_applies(paths: AppPaths) -> None:
    paths.user_config.write_text("[reminders]\ndaily_at = ['25:00']\n", encoding="utf-8")
    config = load_config(paths)
    assert config.user.reminders.daily_at == ReminderSettings().daily_at
    (problem,) = config.problems
    assert problem.key.endswith("daily_at") and '"HH:MM"' in problem.reason


def test_saved_schedule_reads_back_the_same(paths: AppPaths) -> None:
    wanted = ReminderSettings(daily_at=("09:00",), min_gap_minutes=15, max_snoozes=0)
    service = Service(paths, ListSink(), inline=True)
    try:
        service.save_user_config(UserSettings(reminders=wanted))
    finally:
        service.stop()
    assert load_config(paths).user.reminders == wanted


def test_the_scheduler_defaults_are_the_users_defaults() -> None:
    """One set of defaults (the scheduler's idle was 15 minutes, the user's file's 30)."""
    from almc_assistant.core.session_end.clock import SystemClock
    from almc_assistant.core.session_end.pending import PendingState

    scheduler = ReminderScheduler(PendingState(), ListSink(), SystemClock())
    assert scheduler.settings == ReminderSettings() == load_config_defaults()


def load_config_defaults() -> ReminderSettings:
    from almc_assistant.core.config import Config

    return Config().user.reminders

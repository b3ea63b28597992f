"""Reminder settings: when to remind, how often at most, how snoozes work.

Thread contract: a frozen value, safe anywhere. ``core.config`` reads and validates the
user's ``[reminders]`` table (in minutes); :meth:`ReminderSettings.from_user_config` turns
it into these settings. Values set in code are checked too: a bad one raises
:class:`ConfigError` naming the setting and what to write instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from almc_assistant.core.config import ReminderSettings as UserReminders
from almc_assistant.core.errors import ConfigError

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class ReminderSettings:
    """How and when reminders appear (durations in seconds).

    ``enabled`` governs the ordinary reminders (acquisition finished, idle, schedule,
    lock); the reminder after a blocked logout and the one at the next login always show.
    """

    enabled: bool = True
    every: float | None = 2 * 3600  # while data is at risk; None: no interval reminders
    daily_at: tuple[str, ...] = ("17:00",)  # local times "HH:MM", e.g. the end of the day
    min_gap: float = 3600  # at most one ordinary reminder per hour
    idle_after: float = 15 * 60  # no keyboard or mouse input for this long
    snooze: float = 30 * 60  # "Remind me later"
    max_snoozes: int = 2  # then only "Back up now" and "Remind me when I log out"
    when_locked: bool = True

    def __post_init__(self) -> None:
        for name in ("min_gap", "idle_after", "snooze"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise _bad(name, value, "a number of seconds, 0 or more")
        every = self.every
        if every is not None and (
            not isinstance(every, int | float) or isinstance(every, bool) or every <= 0
        ):
            raise _bad("every", self.every, "a number of seconds above 0 (or leave it out)")
        if not isinstance(self.max_snoozes, int) or self.max_snoozes < 0:
            raise _bad("max_snoozes", self.max_snoozes, "a whole number, 0 or more")
        for t in self.daily_at:
            if not isinstance(t, str) or not _TIME.match(t):
                raise _bad("daily_at", t, 'times of day as "HH:MM", e.g. "17:00"')

    def daily_times(self) -> tuple[tuple[int, int], ...]:
        """``daily_at`` as (hour, minute) pairs."""
        out = []
        for t in self.daily_at:
            hour, minute = t.split(":")
            out.append((int(hour), int(minute)))
        return tuple(out)

    @classmethod
    def from_user_config(cls, reminders: UserReminders) -> ReminderSettings:
        """From the user's ``[reminders]`` table as ``core.config`` reads and validates it.

        Minutes there, seconds here; ``every_minutes = 0`` means no interval reminders.
        """
        every = reminders.every_minutes * 60.0
        return cls(
            every=every if every > 0 else None,
            idle_after=reminders.idle_minutes * 60.0,
            snooze=reminders.snooze_minutes * 60.0,
        )


def _bad(key: str, value: object, expected: str) -> ConfigError:
    return ConfigError(
        f"The reminder setting {key!r} is {value!r}.",
        next_step=f"Set it to {expected}.",
    )

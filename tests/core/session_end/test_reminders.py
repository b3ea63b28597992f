"""The reminder scheduler with a fake clock: when it speaks, and when it stays silent."""

from __future__ import annotations

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.session_end import (
    PendingState,
    PendingSummary,
    ReminderDue,
    ReminderKind,
    ReminderScheduler,
    ReminderSettings,
    RemindersWithdrawn,
)
from tests.core.session_end.conftest import FakeClock

HOUR = 3600.0


class Rig:
    def __init__(self, clock: FakeClock, settings: ReminderSettings | None = None) -> None:
        self.clock = clock
        self.state = PendingState()
        self.sink = ListSink()
        self.s = ReminderScheduler(self.state, self.sink, clock, settings, platform="linux")

    def pending(self, files: int, size: int = 10**9) -> None:
        new = PendingSummary(files=files, bytes=size, oldest=self.clock.now if files else None)
        old = self.state.summary
        self.state.set(new)
        self.s.pending_changed(old, new)

    def due(self) -> list[ReminderDue]:
        return self.sink.of_type(ReminderDue)

    def kinds(self) -> list[ReminderKind]:
        return [e.kind for e in self.due()]


@pytest.fixture
def rig(clock: FakeClock) -> Rig:
    return Rig(clock, ReminderSettings(daily_at=(), every_minutes=120, idle_minutes=15))


def test_silent_when_everything_is_safe(rig: Rig) -> None:
    rig.pending(0)
    assert not rig.s.acquisition_finished()
    assert not rig.s.locked()
    assert not rig.s.idle(10 * HOUR)
    rig.clock.advance(24 * HOUR)
    assert not rig.s.tick()
    assert not rig.s.session_end_cancelled()
    assert rig.sink.events == []


def test_acquisition_finished_gives_one_summary(rig: Rig) -> None:
    rig.pending(3, 12_400_000_000)
    assert rig.s.acquisition_finished()
    (r,) = rig.due()
    assert r.kind is ReminderKind.ACQUISITION_FINISHED
    assert (r.files, r.bytes) == (3, 12_400_000_000)
    assert r.text == "3 files (12.4 GB) from today are not backed up yet."
    assert r.can_snooze and not r.strong


def test_at_most_one_ordinary_reminder_per_gap(rig: Rig) -> None:
    rig.pending(3)
    assert rig.s.acquisition_finished()
    rig.clock.advance(HOUR - 1)
    assert not rig.s.acquisition_finished()
    assert not rig.s.idle(HOUR)
    rig.clock.advance(1)
    assert rig.s.acquisition_finished()
    assert len(rig.due()) == 2


def test_snooze_is_limited_and_then_only_backup_or_logout_remain(rig: Rig) -> None:
    rig.pending(3)
    rig.s.acquisition_finished()
    assert rig.s.snooze()  # 30 min by default, but the 1 h gap still applies
    rig.clock.advance(HOUR)
    assert rig.s.acquisition_finished()
    assert rig.due()[-1].can_snooze  # one snooze left
    assert rig.s.snooze(2 * HOUR)
    rig.clock.advance(HOUR)
    assert not rig.s.acquisition_finished()  # snoozed
    rig.clock.advance(HOUR)
    assert rig.s.acquisition_finished()
    assert not rig.due()[-1].can_snooze
    assert not rig.s.snooze()
    rig.clock.advance(HOUR)
    assert rig.s.acquisition_finished()  # a refused snooze changed nothing


def test_remind_me_at_logout_silences_ordinary_cues_but_not_the_logout(rig: Rig) -> None:
    rig.pending(3)
    rig.s.snooze_until_session_end()
    rig.clock.advance(10 * HOUR)
    assert not rig.s.acquisition_finished()
    assert not rig.s.tick()
    assert rig.s.session_end_cancelled()
    (r,) = rig.due()
    assert r.kind is ReminderKind.SESSION_END_CANCELLED
    assert r.strong and not r.can_snooze
    rig.clock.advance(HOUR)
    assert rig.s.acquisition_finished()  # back to normal after the logout reminder


def test_a_lock_reminds_once_per_lock_even_within_the_gap(rig: Rig) -> None:
    rig.pending(3)
    rig.s.acquisition_finished()
    rig.s.snooze()
    assert rig.s.locked()
    assert not rig.s.locked()
    rig.s.unlocked()
    assert rig.s.locked()
    assert rig.kinds() == [ReminderKind.ACQUISITION_FINISHED] + [ReminderKind.LOCKED] * 2
    assert "Back up before you leave" in rig.due()[-1].text


def test_no_ordinary_reminders_while_a_backup_runs(rig: Rig) -> None:
    rig.pending(3)
    rig.s.backup_started()
    rig.clock.advance(5 * HOUR)
    assert not rig.s.acquisition_finished()
    assert not rig.s.locked()
    assert not rig.s.tick()
    rig.s.backup_finished()
    assert rig.s.acquisition_finished()


def test_reminders_are_withdrawn_when_everything_is_backed_up(rig: Rig) -> None:
    rig.pending(3)
    rig.s.acquisition_finished()
    rig.pending(1)
    assert rig.sink.of_type(RemindersWithdrawn) == []
    rig.pending(0)
    assert len(rig.sink.of_type(RemindersWithdrawn)) == 1
    rig.pending(0)
    rig.pending(2)
    rig.pending(0)
    assert len(rig.sink.of_type(RemindersWithdrawn)) == 1  # nothing was on screen


def test_snoozes_reset_once_everything_was_safe(rig: Rig) -> None:
    rig.pending(3)
    rig.s.snooze()
    rig.s.snooze()
    assert not rig.s.can_snooze
    rig.pending(0)
    rig.pending(1)
    assert rig.s.can_snooze
    assert rig.s.acquisition_finished()  # the earlier snooze no longer applies


def test_idle_reminds_once_per_idle_period(rig: Rig) -> None:
    rig.pending(3)
    assert not rig.s.idle(14 * 60)
    assert rig.s.idle(15 * 60)
    rig.clock.advance(2 * HOUR)
    assert not rig.s.idle(2 * HOUR)  # same idle period
    assert not rig.s.idle(5)  # the user came back
    assert rig.s.idle(20 * 60)
    assert rig.kinds() == [ReminderKind.IDLE, ReminderKind.IDLE]


def test_interval_counts_from_when_data_became_at_risk(rig: Rig) -> None:
    rig.s.tick()
    rig.clock.advance(5 * HOUR)
    rig.pending(3)
    rig.clock.advance(2 * HOUR - 1)
    assert not rig.s.tick()
    rig.clock.advance(1)
    assert rig.s.tick()
    rig.clock.advance(HOUR)
    assert not rig.s.tick()
    rig.clock.advance(HOUR)
    assert rig.s.tick()
    assert rig.kinds() == [ReminderKind.SCHEDULED] * 2


def test_daily_time_fires_once_when_crossed(clock: FakeClock) -> None:
    rig = Rig(clock, ReminderSettings(daily_at=("17:00",)))
    rig.pending(3)
    assert not rig.s.tick()  # 09:00
    clock.now = clock.at(2026, 11, 18, 16, 59)
    assert not rig.s.tick()
    clock.now = clock.at(2026, 11, 18, 17, 0)
    assert rig.s.tick()
    clock.now = clock.at(2026, 11, 18, 18, 30)
    assert not rig.s.tick()
    clock.now = clock.at(2026, 11, 19, 17, 1)  # one tick spanning a whole night
    assert rig.s.tick()
    assert rig.kinds() == [ReminderKind.SCHEDULED] * 2


def test_disabled_keeps_only_the_strong_reminders(clock: FakeClock) -> None:
    rig = Rig(clock, ReminderSettings(enabled=False))
    rig.pending(3)
    rig.clock.advance(24 * HOUR)
    assert not (rig.s.acquisition_finished() or rig.s.tick() or rig.s.locked())
    assert rig.s.idle(HOUR) is False
    assert rig.s.session_end_cancelled()
    assert rig.s.last_session(PendingSummary(files=1, bytes=1))
    assert rig.kinds() == [ReminderKind.SESSION_END_CANCELLED, ReminderKind.LAST_SESSION]


def test_last_session_is_strong_only_while_data_is_still_at_risk(rig: Rig) -> None:
    ended = PendingSummary(files=3, bytes=12_400_000_000, oldest=rig.clock.now)
    assert not rig.s.last_session(PendingSummary())
    rig.pending(0)
    assert rig.s.last_session(ended)
    safe_now = rig.due()[-1]
    assert not safe_now.strong and "Everything is backed up now" in safe_now.text
    rig.pending(3)
    assert rig.s.last_session(ended)
    r = rig.due()[-1]
    assert r.strong and not r.can_snooze
    assert r.text.startswith("Your last session ended with 3 files (12.4 GB) not backed up.")

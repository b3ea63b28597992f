"""Cues from the watcher's and the copy pool's real event types."""

from __future__ import annotations

from pathlib import Path

import pytest

from almc_assistant.core.events import Event, ListSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.session_end import (
    PendingSummary,
    ReminderDue,
    ReminderKind,
    ReminderSettings,
    SessionEndGuard,
)
from almc_assistant.core.transfer.events import JobFinished, JobStarted, JobSummary
from almc_assistant.core.watch.events import (
    FileAppeared,
    FileChanged,
    FileDeleted,
    FileMoved,
    FileStabilised,
)
from tests.core.session_end.conftest import FakeClock

A = Path("/acq/a.nd2")
B = Path("/acq/b.nd2")


def appeared(p: Path) -> Event:
    return FileAppeared(path=p, size=1, mtime_ns=1)


def changed(p: Path) -> Event:
    return FileChanged(path=p, size=2, mtime_ns=2)


def stabilised(p: Path) -> Event:
    return FileStabilised(path=p, size=2, mtime_ns=2)


def finished(job: str) -> Event:
    summary = JobSummary(
        job_id=job,
        state="completed",
        files_total=1,
        bytes_total=1,
        verified=1,
        skipped=0,
        failed=0,
        sources_skipped=0,
        bytes_copied=1,
        seconds=1.0,
    )
    return JobFinished(job_id=job, summary=summary)


def started(job: str) -> Event:
    return JobStarted(job_id=job, total_files=1, total_bytes=1, destinations=(Path("/d"),))


@pytest.fixture
def rig(tmp_path: Path, clock: FakeClock) -> tuple[SessionEndGuard, ListSink]:
    sink = ListSink()
    guard = SessionEndGuard.create(
        None,
        AppPaths.under(tmp_path).ensure(),
        sink,
        clock=clock,
        settings=ReminderSettings(daily_at=()),
    )
    guard.update(PendingSummary(2, 2 * 10**9, clock.now))
    return guard, sink


def kinds(sink: ListSink) -> list[ReminderKind]:
    return [r.kind for r in sink.of_type(ReminderDue)]


def test_quiet_folders_after_stabilised_files_remind_once(
    rig: tuple[SessionEndGuard, ListSink], clock: FakeClock
) -> None:
    guard, sink = rig
    for e in (appeared(A), changed(A), appeared(B), stabilised(A), stabilised(B)):
        guard.observe(e)
    clock.advance(299)
    guard.tick()
    assert kinds(sink) == []
    clock.advance(1)
    guard.tick()
    assert kinds(sink) == [ReminderKind.ACQUISITION_FINISHED]
    clock.advance(3 * 3600)
    guard.tick()
    assert len(kinds(sink)) == 1  # nothing new stabilised since


def test_no_cue_while_a_file_is_still_being_written(
    rig: tuple[SessionEndGuard, ListSink], clock: FakeClock
) -> None:
    guard, sink = rig
    for e in (appeared(A), appeared(B), stabilised(A)):
        guard.observe(e)
    clock.advance(3600)
    guard.tick()
    assert kinds(sink) == [] and guard.cues.acquiring == 1
    guard.observe(FileMoved(src=B, dest=Path("/acq/c.nd2"), size=1, mtime_ns=1))
    assert guard.cues.acquiring == 1
    guard.observe(FileDeleted(path=Path("/acq/c.nd2")))
    assert guard.cues.acquiring == 0
    clock.advance(300)  # activity was long ago; deletion is not activity
    guard.tick()
    assert kinds(sink) == [ReminderKind.ACQUISITION_FINISHED]


def test_new_activity_restarts_the_quiet_period(
    rig: tuple[SessionEndGuard, ListSink], clock: FakeClock
) -> None:
    guard, sink = rig
    guard.observe(stabilised(A))
    clock.advance(200)
    guard.observe(changed(B))
    guard.observe(stabilised(B))
    clock.advance(200)
    guard.tick()
    assert kinds(sink) == []
    clock.advance(100)
    guard.tick()
    assert kinds(sink) == [ReminderKind.ACQUISITION_FINISHED]


def test_copy_jobs_pause_ordinary_reminders_until_the_last_ends(
    rig: tuple[SessionEndGuard, ListSink], clock: FakeClock
) -> None:
    guard, sink = rig
    guard.observe(started("j1"))
    guard.observe(started("j2"))
    assert not guard.acquisition_finished()
    guard.observe(finished("j1"))
    assert not guard.acquisition_finished()
    guard.observe(finished("j2"))
    assert guard.acquisition_finished()
    guard.observe(Event())  # anything else is ignored
    assert kinds(sink) == [ReminderKind.ACQUISITION_FINISHED]

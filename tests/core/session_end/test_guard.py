"""The guard: cached answers, the marker kept current, the next login's reminder."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.session_end import (
    EndKind,
    MarkerRecord,
    PendingSummary,
    ReminderDue,
    ReminderKind,
    SessionEndAnswered,
    SessionEndGuard,
    SessionEndRequest,
    SessionMarker,
)
from tests.core.session_end.conftest import FakeClock


@dataclass
class ServiceSummary:
    """What another module might return: same attributes, different class."""

    files: int
    bytes: int
    oldest: float | None


class FakeService:
    def __init__(self) -> None:
        self.summary = ServiceSummary(0, 0, None)
        self.calls = 0

    def pending_summary(self) -> ServiceSummary:
        self.calls += 1
        return self.summary


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return AppPaths.under(tmp_path).ensure()


def make(paths: AppPaths, clock: FakeClock, service: FakeService | None = None):
    sink = ListSink()
    src = service.pending_summary if service else None
    guard = SessionEndGuard.create(src, paths, sink, clock=clock, platform="win32")
    return guard, sink


def marker_files(paths: AppPaths) -> int:
    return int(json.loads((paths.state_dir / "session-end.json").read_text())["files"])


def test_refresh_reads_the_service_and_the_answer_comes_from_the_cache(
    paths: AppPaths, clock: FakeClock
) -> None:
    service = FakeService()
    guard, sink = make(paths, clock, service)
    guard.start()
    service.summary = ServiceSummary(3, 12_400_000_000, clock.now)
    assert guard.refresh() == PendingSummary(3, 12_400_000_000, clock.now)
    calls = service.calls
    d = guard.query_end(SessionEndRequest(EndKind.LOGOFF, "win32"))
    assert service.calls == calls  # the OS callback never queries the service
    assert d.veto and d.reason == "3 files (12.4 GB) are not backed up yet"
    (answered,) = sink.of_type(SessionEndAnswered)
    assert answered.vetoed and answered.files == 3 and answered.kind is EndKind.LOGOFF
    assert guard.block_reason() == d.reason


def test_update_without_a_source_and_refresh_refuses(paths: AppPaths, clock: FakeClock) -> None:
    guard, _ = make(paths, clock)
    with pytest.raises(RuntimeError, match="update"):
        guard.refresh()
    assert guard.block_reason() is None
    assert guard.update(PendingSummary(1, 5, clock.now))
    assert not guard.update(PendingSummary(1, 5, clock.now))
    assert guard.block_reason() == "1 file (5 bytes) is not backed up yet"


def test_marker_follows_the_pending_state_and_coalesces_rewrites(
    paths: AppPaths, clock: FakeClock
) -> None:
    guard, _ = make(paths, clock)
    guard.start()
    guard.update(PendingSummary())
    assert marker_files(paths) == 0  # the first report is always written
    guard.update(PendingSummary(5, 50, clock.now))
    assert marker_files(paths) == 5  # safe -> at risk: written at once
    guard.update(PendingSummary(4, 40, clock.now))
    assert marker_files(paths) == 5  # same instant: coalesced
    clock.advance(0.5)
    guard.update(PendingSummary(3, 30, clock.now))
    assert marker_files(paths) == 5  # coalesced within MARKER_MIN_INTERVAL
    guard.tick()
    assert marker_files(paths) == 5
    clock.advance(2)
    guard.tick()
    assert marker_files(paths) == 3  # the timer flushed the coalesced write
    guard.update(PendingSummary())
    assert marker_files(paths) == 0  # at risk -> safe: written at once


def test_a_query_flushes_a_coalesced_marker(paths: AppPaths, clock: FakeClock) -> None:
    guard, _ = make(paths, clock)
    guard.update(PendingSummary(5, 50, clock.now))
    guard.update(PendingSummary(7, 70, clock.now))
    assert marker_files(paths) == 5
    guard.query_end(SessionEndRequest(EndKind.SHUTDOWN_OR_RESTART, "win32"))
    assert marker_files(paths) == 7


def test_next_login_gets_the_strongest_reminder(paths: AppPaths, clock: FakeClock) -> None:
    first, _ = make(paths, clock)
    assert first.start() is None
    first.update(PendingSummary(3, 12_400_000_000, clock.now))
    first.query_end(SessionEndRequest(EndKind.FORCED, "win32"))
    first.session_ending()
    # The process dies here. Next login:
    clock.advance(12 * 3600)
    second, sink = make(paths, clock)
    previous = second.start()
    assert previous is not None
    assert previous.pending.files == 3 and previous.ended_kind is EndKind.FORCED
    assert previous.ended_at == clock.now - 12 * 3600
    assert sink.events == []
    second.update(PendingSummary(3, 12_400_000_000, clock.now - 12 * 3600))
    (r,) = sink.of_type(ReminderDue)
    assert r.kind is ReminderKind.LAST_SESSION and r.strong
    assert r.text.startswith("Your last session ended with 3 files (12.4 GB) not backed up.")
    second.update(PendingSummary(2, 10**9, clock.now))
    assert len(sink.of_type(ReminderDue)) == 1  # only once


def test_a_session_that_ended_clean_gives_no_login_reminder(
    paths: AppPaths, clock: FakeClock
) -> None:
    first, _ = make(paths, clock)
    first.update(PendingSummary(3, 30, clock.now))
    first.update(PendingSummary())
    first.session_ending(EndKind.LOGOFF)
    second, sink = make(paths, clock)
    assert second.start() is not None
    second.update(PendingSummary())
    assert sink.events == []


def test_cancelled_end_gives_the_strong_reminder(paths: AppPaths, clock: FakeClock) -> None:
    guard, sink = make(paths, clock)
    guard.update(PendingSummary(2, 2 * 10**9, clock.now))
    assert guard.query_end(SessionEndRequest(EndKind.LOGOFF, "win32")).veto
    guard.session_end_cancelled()
    (r,) = sink.of_type(ReminderDue)
    assert r.kind is ReminderKind.SESSION_END_CANCELLED
    assert r.title == "Back up before you sign out"


def test_a_cancel_told_twice_reminds_once(paths: AppPaths, clock: FakeClock) -> None:
    """Xfce tells its XSMP client and its D-Bus client about one cancelled logout."""
    guard, sink = make(paths, clock)
    guard.update(PendingSummary(2, 2 * 10**9, clock.now))
    assert guard.cancel_announced_end() is False  # nothing was announced: no reminder
    guard.query_end(SessionEndRequest(EndKind.LOGOFF, "linux"))
    assert guard.cancel_announced_end() is True
    assert guard.cancel_announced_end() is False
    assert len(sink.of_type(ReminderDue)) == 1


def test_marker_trouble_never_reaches_the_os_callback(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "state").write_text("not a folder")
    paths = AppPaths.under(tmp_path)
    guard, _ = make(paths, clock)
    with caplog.at_level(logging.WARNING):
        guard.update(PendingSummary(2, 2, clock.now))
        d = guard.query_end(SessionEndRequest(EndKind.LOGOFF, "win32"))
        guard.session_ending()
    assert d.veto
    assert "session marker" in caplog.text and "not a folder" not in caplog.text


def test_workers_refresh_while_the_os_asks(paths: AppPaths, clock: FakeClock) -> None:
    service = FakeService()
    guard, _ = make(paths, clock, service)
    stop = threading.Event()
    errors: list[BaseException] = []

    def worker() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            service.summary = ServiceSummary(n % 3, n, clock.now)
            try:
                guard.refresh()
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for _ in range(500):
            d = guard.query_end(SessionEndRequest(EndKind.LOGOFF, "win32"))
            assert d.veto == (d.reason != "")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors
    assert guard.version > 0


def test_a_failing_refresh_on_a_worker_is_published_not_swallowed(
    paths: AppPaths, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    from almc_assistant.core.session_end import PendingRefreshFailed

    def broken() -> PendingSummary:
        raise OSError("catalog is locked")

    sink = ListSink()
    guard = SessionEndGuard.create(broken, paths, sink, clock=clock)
    guard.update(PendingSummary(2, 2, clock.now))
    with caplog.at_level(logging.ERROR):
        assert not guard.try_refresh()
    (failed,) = sink.of_type(PendingRefreshFailed)
    assert failed.detail == "OSError: catalog is locked"
    assert guard.pending.files == 2  # the last known state is kept
    assert "not backed up" in caplog.text


def test_a_query_notes_the_end_in_the_marker_and_a_cancel_clears_it(
    paths: AppPaths, clock: FakeClock
) -> None:
    guard, _ = make(paths, clock)
    guard.update(PendingSummary(2, 2, clock.now))
    guard.query_end(SessionEndRequest(EndKind.LOGOFF, "win32"))
    rec = guard.marker.read()
    assert rec is not None and rec.ended_kind is EndKind.LOGOFF
    guard.session_end_cancelled()
    rec = guard.marker.read()
    assert rec is not None and rec.ended_kind is None and rec.pending.files == 2


class SlowMarker(SessionMarker):
    """A marker whose durable writes hang until released (a disk stalling on fsync)."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir)
        self.entered = threading.Event()
        self.release = threading.Event()

    def write(self, record: MarkerRecord, *, durable: bool = True) -> None:
        if durable:
            self.entered.set()
            assert self.release.wait(30)
        super().write(record, durable=durable)


def test_the_os_answer_never_waits_for_a_stalled_marker_write(
    paths: AppPaths, clock: FakeClock
) -> None:
    marker = SlowMarker(paths.state_dir)
    guard = SessionEndGuard(None, marker, ListSink(), clock=clock, platform="win32")
    worker = threading.Thread(target=guard.update, args=(PendingSummary(3, 30, clock.now),))
    worker.start()
    try:
        assert marker.entered.wait(10)  # the worker is stuck in its fsync now
        answers: list[bool] = []
        asker = threading.Thread(
            target=lambda: answers.append(
                guard.query_end(SessionEndRequest(EndKind.LOGOFF, "win32")).veto
            )
        )
        asker.start()
        asker.join(10)
        assert answers == [True]  # answered while the write is still stuck
    finally:
        marker.release.set()
        worker.join()
    guard.flush_marker()
    rec = marker.read()
    assert rec is not None and rec.ended_kind is EndKind.LOGOFF  # the note followed


def test_snoozing_through_the_guard(paths: AppPaths, clock: FakeClock) -> None:
    guard, sink = make(paths, clock)
    guard.update(PendingSummary(2, 2, clock.now))
    assert guard.acquisition_finished()
    assert guard.snooze() and guard.snooze() and not guard.snooze()
    guard.snooze_until_session_end()
    clock.advance(5 * 3600)
    assert not guard.acquisition_finished()
    assert guard.locked()  # leaving the workstation still reminds
    assert [r.kind for r in sink.of_type(ReminderDue)] == [
        ReminderKind.ACQUISITION_FINISHED,
        ReminderKind.LOCKED,
    ]

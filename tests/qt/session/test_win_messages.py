"""The Windows message logic as a pure function, on Linux (no Qt needed)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.session_end import (
    EndKind,
    PendingSummary,
    ReminderDue,
    ReminderKind,
    SessionEndAnswered,
    SessionEndGuard,
)
from almc_assistant.qt.session.win_messages import (
    ENDSESSION_CLOSEAPP,
    ENDSESSION_CRITICAL,
    ENDSESSION_LOGOFF,
    NOT_HANDLED,
    WM_ENDSESSION,
    WM_QUERYENDSESSION,
    WM_WTSSESSION_CHANGE,
    WTS_CONSOLE_DISCONNECT,
    WTS_SESSION_LOCK,
    WTS_SESSION_UNLOCK,
    WindowsMessageHandler,
    request_from_lparam,
)

AT_RISK = PendingSummary(3, 12_400_000_000, 0.0)


class Deferred:
    def __init__(self) -> None:
        self.queue: list[Callable[[], None]] = []

    def __call__(self, fn: Callable[[], None]) -> None:
        self.queue.append(fn)

    def run(self) -> None:
        while self.queue:
            self.queue.pop(0)()


@pytest.fixture
def deferred() -> Deferred:
    return Deferred()


@pytest.fixture
def handler(guard: SessionEndGuard, deferred: Deferred) -> WindowsMessageHandler:
    return WindowsMessageHandler(guard, deferred)


@pytest.mark.parametrize(
    ("lparam", "kind", "can_veto"),
    [
        (0, EndKind.SHUTDOWN_OR_RESTART, True),
        (ENDSESSION_LOGOFF, EndKind.LOGOFF, True),
        (ENDSESSION_CLOSEAPP, EndKind.CLOSE_APP, True),
        (ENDSESSION_CRITICAL | ENDSESSION_LOGOFF, EndKind.FORCED, False),
        (ENDSESSION_LOGOFF - 2**32, EndKind.LOGOFF, True),  # sign-extended on 32-bit
    ],
)
def test_lparam_flags(lparam: int, kind: EndKind, can_veto: bool) -> None:
    r = request_from_lparam(lparam)
    assert (r.kind, r.can_veto, r.platform) == (kind, can_veto, "win32")


def test_pending_data_returns_false_once_per_episode_for_every_window(
    handler: WindowsMessageHandler, guard: SessionEndGuard, sink: ListSink
) -> None:
    guard.update(AT_RISK)
    for _ in range(3):  # one message per top-level window of ours
        assert handler.handle(WM_QUERYENDSESSION, 0, ENDSESSION_LOGOFF) == (True, 0)
    assert len(sink.of_type(SessionEndAnswered)) == 1


def test_nothing_pending_lets_qt_answer_true(
    handler: WindowsMessageHandler, sink: ListSink
) -> None:
    assert handler.handle(WM_QUERYENDSESSION, 0, ENDSESSION_LOGOFF) == NOT_HANDLED
    (a,) = sink.of_type(SessionEndAnswered)
    assert not a.vetoed


@pytest.mark.parametrize("lparam", [ENDSESSION_CRITICAL, ENDSESSION_CLOSEAPP])
def test_critical_and_restart_manager_are_never_blocked(
    handler: WindowsMessageHandler, guard: SessionEndGuard, lparam: int
) -> None:
    guard.update(AT_RISK)
    assert handler.handle(WM_QUERYENDSESSION, 0, lparam) == NOT_HANDLED


def test_cancel_reminds_after_the_message_returns_and_only_once(
    handler: WindowsMessageHandler, guard: SessionEndGuard, sink: ListSink, deferred: Deferred
) -> None:
    guard.update(AT_RISK)
    handler.handle(WM_QUERYENDSESSION, 0, ENDSESSION_LOGOFF)
    for _ in range(3):
        assert handler.handle(WM_ENDSESSION, 0, ENDSESSION_LOGOFF) == NOT_HANDLED
    assert sink.of_type(ReminderDue) == []  # nothing inside the OS callback
    deferred.run()
    (r,) = sink.of_type(ReminderDue)
    assert r.kind is ReminderKind.SESSION_END_CANCELLED and r.strong
    assert r.title == "Back up before you log out"  # the guard fixture says linux
    # A new episode asks again:
    assert handler.handle(WM_QUERYENDSESSION, 0, 0) == (True, 0)
    assert len(sink.of_type(SessionEndAnswered)) == 2


def test_end_records_the_kind_in_the_marker_once(
    handler: WindowsMessageHandler, guard: SessionEndGuard
) -> None:
    guard.update(AT_RISK)
    handler.handle(WM_QUERYENDSESSION, 0, ENDSESSION_CRITICAL)
    handler.handle(WM_ENDSESSION, 1, ENDSESSION_CRITICAL)
    first = guard.marker.read()
    assert first is not None and first.ended_kind is EndKind.FORCED
    assert first.pending == AT_RISK
    guard.marker.path.unlink()
    handler.handle(WM_ENDSESSION, 1, ENDSESSION_CRITICAL)  # another window's copy
    assert guard.marker.read() is None


def test_lock_and_disconnect_are_the_leaving_cue(
    handler: WindowsMessageHandler, guard: SessionEndGuard, sink: ListSink
) -> None:
    guard.update(AT_RISK)
    assert handler.handle(WM_WTSSESSION_CHANGE, WTS_SESSION_LOCK, 1) == NOT_HANDLED
    handler.handle(WM_WTSSESSION_CHANGE, WTS_CONSOLE_DISCONNECT, 1)  # still away: no repeat
    handler.handle(WM_WTSSESSION_CHANGE, WTS_SESSION_UNLOCK, 1)
    handler.handle(WM_WTSSESSION_CHANGE, WTS_SESSION_LOCK, 1)
    assert [r.kind for r in sink.of_type(ReminderDue)] == [ReminderKind.LOCKED] * 2


def test_other_messages_pass_through(handler: WindowsMessageHandler, sink: ListSink) -> None:
    assert handler.handle(0x0010, 0, 0) == NOT_HANDLED  # WM_CLOSE
    assert sink.events == []

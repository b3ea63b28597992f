"""The macOS path: the commitDataRequest slot, called directly with a fake manager.

``commitDataRequest`` cannot be emitted from Python (it crashes the interpreter) and
``QSessionManager`` cannot be built, so the wiring is checked with ``receivers()`` and
the slot is called as Qt would call it (``LOGOUT.md`` §0.5).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import SIGNAL

from almc_assistant.core.events import ListSink
from almc_assistant.core.session_end import (
    EndKind,
    PendingSummary,
    ReminderDue,
    ReminderKind,
    SessionEndAnswered,
    SessionEndGuard,
)
from almc_assistant.qt.session.qtsm import CommitDataHandler

COMMIT = SIGNAL("commitDataRequest(QSessionManager&)")


class FakeManager:
    def __init__(self) -> None:
        self.cancelled = 0

    def cancel(self) -> None:
        self.cancelled += 1


def test_wiring_is_one_direct_receiver_and_close_removes_it(
    qapp: Any, guard: SessionEndGuard
) -> None:
    before = qapp.receivers(COMMIT)
    h = CommitDataHandler(qapp, guard)
    assert qapp.receivers(COMMIT) == before + 1
    h.close()
    assert qapp.receivers(COMMIT) == before


def test_data_at_risk_cancels_and_reminds_afterwards(
    qtbot: Any, qapp: Any, guard: SessionEndGuard, sink: ListSink
) -> None:
    guard.update(PendingSummary(3, 12_400_000_000, 0.0))
    h = CommitDataHandler(qapp, guard)
    try:
        m = FakeManager()
        h._on_app_commit_data_request(m)
        assert m.cancelled == 1
        (a,) = sink.of_type(SessionEndAnswered)
        assert a.vetoed and a.kind is EndKind.UNKNOWN and a.platform == "darwin"
        assert sink.of_type(ReminderDue) == []  # nothing shown inside the callback
        qtbot.waitUntil(lambda: bool(sink.of_type(ReminderDue)), timeout=2000)
        assert sink.of_type(ReminderDue)[0].kind is ReminderKind.SESSION_END_CANCELLED
    finally:
        h.close()


def test_nothing_at_risk_lets_the_quit_go_on_and_records_it(
    qapp: Any, guard: SessionEndGuard
) -> None:
    h = CommitDataHandler(qapp, guard)
    try:
        m = FakeManager()
        h._on_app_commit_data_request(m)
        assert m.cancelled == 0
        rec = guard.marker.read()
        assert rec is not None and rec.ended_kind is EndKind.UNKNOWN
    finally:
        h.close()


def test_our_own_quit_is_not_held_up(qapp: Any, guard: SessionEndGuard, sink: ListSink) -> None:
    guard.update(PendingSummary(3, 1, 0.0))
    h = CommitDataHandler(qapp, guard)
    try:
        h.allow_quit()
        m = FakeManager()
        h._on_app_commit_data_request(m)
        assert m.cancelled == 0
        assert sink.of_type(SessionEndAnswered) == []
    finally:
        h.close()

"""The XSMP adapter's answers, message by message, and libSM/libICE without a manager.

The real session managers drive it in ``test_x11_session_managers.py`` (Xvfb, skipped
where absent); here each XSMP message is delivered as libSM would deliver it, to a
connection that records the answers, so every branch runs everywhere (offscreen).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.session_end import (
    PendingSummary,
    ReminderDue,
    ReminderKind,
    SessionEndGuard,
)
from almc_assistant.qt.session import libsm
from almc_assistant.qt.session.xsmp import XsmpSessionClient

LOGOUT = libsm.SaveYourself(2, True, libsm.InteractStyle.ANY, False)


class RecordingConnection:
    """Stands in for libSM's connection: records what the client answers."""

    def __init__(self, handler: libsm.SmHandler) -> None:
        self.handler = handler
        self._pair = socket.socketpair()
        self.fd = self._pair[0].fileno()
        self.client_id = "test-client"
        self.calls: list[tuple[str, Any]] = []
        self.props: dict[str, Any] = {}

    def set_properties(self, props: dict[str, Any]) -> None:
        self.props.update(props)

    def process(self) -> bool:
        return True

    def interact_request(self) -> bool:
        self.calls.append(("interact_request", None))
        return True

    def interact_done(self, cancel: bool) -> None:
        self.calls.append(("interact_done", cancel))

    def save_yourself_done(self, success: bool) -> None:
        self.calls.append(("save_yourself_done", success))

    def close(self) -> None:
        self.calls.append(("close", None))
        for s in self._pair:
            s.close()


@pytest.fixture
def client(qapp: Any, guard: SessionEndGuard) -> Any:
    c = XsmpSessionClient(guard, connect=RecordingConnection)  # type: ignore[arg-type]
    yield c
    c.close()


def _marker(guard: SessionEndGuard) -> Any:
    record = guard.marker.read()
    assert record is not None
    return record


def test_registers_never_to_be_restarted(client: Any) -> None:
    props = client.conn.props
    assert props["RestartStyleHint"] == libsm.RestartStyle.NEVER
    assert int(libsm.RestartStyle.NEVER) == 3  # XSMP's value
    assert props["Program"] == "almc-assistant" and props["RestartCommand"] == ["almc-assistant"]
    assert props["UserID"]


def test_a_checkpoint_is_answered_at_once(client: Any) -> None:
    client.save_yourself(libsm.SaveYourself(1, False, libsm.InteractStyle.NONE, False))
    assert client.conn.calls == [("save_yourself_done", True)]


def test_nothing_at_risk_lets_the_logout_go_and_writes_the_marker(
    client: Any, guard: SessionEndGuard
) -> None:
    guard.update(PendingSummary(0, 0, None))
    client.save_yourself(LOGOUT)
    assert client.conn.calls == [("save_yourself_done", True)]
    assert _marker(guard).ended_kind.value == "logoff"


def test_at_risk_without_interaction_is_recorded_not_held(
    client: Any, guard: SessionEndGuard
) -> None:
    guard.update(PendingSummary(3, 3000, 0.0))
    client.save_yourself(libsm.SaveYourself(2, True, libsm.InteractStyle.NONE, True))
    assert client.conn.calls == [("save_yourself_done", True)]
    record = _marker(guard)
    assert record.ended_kind.value == "logoff" and record.pending.files == 3


def test_cancel_logout_answers_cancel_then_reminds_on_save_complete(
    qtbot: Any, client: Any, guard: SessionEndGuard, sink: ListSink
) -> None:
    guard.update(PendingSummary(3, 3000, 0.0))
    client.save_yourself(LOGOUT)
    assert client.conn.calls == [("interact_request", None)]  # held: nothing answered yet
    assert _marker(guard).ended_kind.value == "logoff"  # written before anyone answers
    client.interact()
    prompt = client.prompt
    assert prompt.isVisible() and prompt.cancel_button.isDefault()
    assert prompt.headline.text().startswith("3 files (3.0 kB) are not backed up yet")
    prompt.cancel_button.click()
    assert client.conn.calls[1:] == [("interact_done", True), ("save_yourself_done", True)]
    assert not prompt.isVisible()
    client.save_complete()  # what xfce4-session sends after a cancelled logout
    qtbot.waitUntil(lambda: bool(sink.of_type(ReminderDue)), timeout=5000)
    (due,) = sink.of_type(ReminderDue)
    assert due.kind is ReminderKind.SESSION_END_CANCELLED and due.strong
    assert _marker(guard).ended_kind is None


def test_log_out_anyway_records_the_end_and_die_quits(
    qtbot: Any, client: Any, guard: SessionEndGuard
) -> None:
    guard.update(PendingSummary(3, 3000, 0.0))
    client.save_yourself(LOGOUT)
    client.interact()
    client.prompt.anyway_button.click()
    assert client.conn.calls[1:] == [("interact_done", False), ("save_yourself_done", True)]
    assert _marker(guard).ended_kind.value == "logoff"
    with qtbot.waitSignal(client.quitRequested, timeout=1000):
        client.die()
    assert ("close", None) in client.conn.calls


def test_escape_means_cancel_logout(client: Any, guard: SessionEndGuard) -> None:
    guard.update(PendingSummary(1, 10, 0.0))
    client.save_yourself(LOGOUT)
    client.interact()
    client.prompt.reject()
    assert client.conn.calls[1:] == [("interact_done", True), ("save_yourself_done", True)]


def test_cancelled_elsewhere_while_asking_withdraws_the_question(
    qtbot: Any, client: Any, guard: SessionEndGuard, sink: ListSink
) -> None:
    guard.update(PendingSummary(3, 3000, 0.0))
    client.save_yourself(LOGOUT)
    client.interact()
    client.shutdown_cancelled()  # ksmserver: another client (or the user) cancelled
    assert not client.prompt.isVisible()
    assert client.conn.calls[1:] == [("save_yourself_done", True)]  # no InteractDone
    qtbot.waitUntil(lambda: bool(sink.of_type(ReminderDue)), timeout=5000)
    client.prompt.cancel_button.click()  # too late: nothing more is sent
    assert client.conn.calls[1:] == [("save_yourself_done", True)]


def test_one_cancelled_logout_told_twice_reminds_once(
    qtbot: Any, client: Any, guard: SessionEndGuard, sink: ListSink
) -> None:
    guard.update(PendingSummary(3, 3000, 0.0))
    client.save_yourself(LOGOUT)
    client.interact()
    client.prompt.cancel_button.click()
    client.shutdown_cancelled()
    qtbot.waitUntil(lambda: bool(sink.of_type(ReminderDue)), timeout=5000)
    assert guard.cancel_announced_end() is False  # e.g. Xfce's D-Bus CancelEndSession
    assert len(sink.of_type(ReminderDue)) == 1


def test_save_complete_without_a_logout_is_just_a_checkpoint(
    qtbot: Any, client: Any, guard: SessionEndGuard, sink: ListSink
) -> None:
    guard.update(PendingSummary(3, 3000, 0.0))
    client.save_yourself(libsm.SaveYourself(1, False, libsm.InteractStyle.NONE, False))
    client.save_complete()
    qtbot.wait(50)
    assert sink.of_type(ReminderDue) == []


def test_libsm_without_a_session_manager_raises_instead_of_exiting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    try:
        libsm.load()
    except OSError:
        pytest.skip("libSM/libICE are not installed (Debian: libsm6, libice6)")
    monkeypatch.delenv("SESSION_MANAGER", raising=False)
    with pytest.raises(ConnectionError):
        libsm.SmConnection(libsm.SmHandler())
    gone = tmp_path / "gone"
    monkeypatch.setenv("SESSION_MANAGER", f"local/host:@{gone},unix/host:{gone}")
    with pytest.raises(ConnectionError, match="socket"):
        libsm.SmConnection(libsm.SmHandler())

"""The GNOME session client against a gnome-session mock on a private session bus.

dbusmock does not check argument types, so every call we make is checked for its D-Bus
types here (a real gnome-session, a GDBus service, rejects wrong ones).
"""

from __future__ import annotations

from typing import Any

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
from almc_assistant.qt.session.gnome import GnomeSessionClient
from tests.qt.session.conftest import CLIENT, PrivateBuses, client_obj, connect, emit, responses


@pytest.fixture
def client(qtbot: Any, guard: SessionEndGuard, private_buses: PrivateBuses, sm: Any):
    c = GnomeSessionClient(guard, connect(private_buses.session.address), startup_id="start-42")
    with qtbot.waitSignal(c.registered, timeout=5000):
        pass
    yield c
    c.close()


def test_registers_with_app_id_and_startup_id(client: GnomeSessionClient, sm: Any) -> None:
    import dbus

    assert client.client_path == CLIENT
    calls = sm.obj.GetMethodCalls("RegisterClient", dbus_interface="org.freedesktop.DBus.Mock")
    ((_, args),) = calls
    assert list(args) == ["almc-assistant", "start-42"]
    assert all(isinstance(a, dbus.String) for a in args)


def test_query_with_data_at_risk_answers_false_with_the_reason(
    qtbot: Any,
    client: GnomeSessionClient,
    guard: SessionEndGuard,
    sink: ListSink,
    private_buses: PrivateBuses,
) -> None:
    import dbus

    guard.update(PendingSummary(3, 12_400_000_000, 0.0))
    obj = client_obj(private_buses)
    emit(obj, "QueryEndSession", "u", [dbus.UInt32(0)])
    qtbot.waitUntil(lambda: len(responses(obj)) == 1, timeout=5000)
    ((ok, reason),) = responses(obj)
    assert isinstance(ok, dbus.Boolean) and isinstance(reason, dbus.String)
    assert (bool(ok), str(reason)) == (False, "3 files (12.4 GB) are not backed up yet")
    (answered,) = sink.of_type(SessionEndAnswered)
    assert answered.vetoed and answered.kind is EndKind.LOGOFF

    emit(obj, "CancelEndSession")  # the user pressed Cancel in GNOME's dialog
    qtbot.waitUntil(lambda: bool(sink.of_type(ReminderDue)), timeout=5000)
    (r,) = sink.of_type(ReminderDue)
    assert r.kind is ReminderKind.SESSION_END_CANCELLED and r.strong


def test_forced_logout_and_nothing_at_risk_are_allowed(
    qtbot: Any, client: GnomeSessionClient, guard: SessionEndGuard, private_buses: PrivateBuses
) -> None:
    import dbus

    obj = client_obj(private_buses)
    emit(obj, "QueryEndSession", "u", [dbus.UInt32(0)])
    qtbot.waitUntil(lambda: len(responses(obj)) == 1, timeout=5000)
    guard.update(PendingSummary(3, 10, 0.0))
    emit(obj, "QueryEndSession", "u", [dbus.UInt32(1)])  # forced
    qtbot.waitUntil(lambda: len(responses(obj)) == 2, timeout=5000)
    assert [(bool(a), str(b)) for a, b in responses(obj)] == [(True, ""), (True, "")]


def test_end_session_records_the_marker_and_answers_ok(
    qtbot: Any, client: GnomeSessionClient, guard: SessionEndGuard, private_buses: PrivateBuses
) -> None:
    import dbus

    guard.update(PendingSummary(2, 20, 0.0))
    obj = client_obj(private_buses)
    emit(obj, "EndSession", "u", [dbus.UInt32(0)])
    qtbot.waitUntil(lambda: len(responses(obj)) == 1, timeout=5000)
    assert [(bool(a), str(b)) for a, b in responses(obj)] == [(True, "")]
    record = guard.marker.read()
    assert record is not None and record.ended_kind is EndKind.LOGOFF
    assert record.pending.files == 2


def test_stop_asks_the_app_to_quit(
    qtbot: Any, client: GnomeSessionClient, private_buses: PrivateBuses
) -> None:
    with qtbot.waitSignal(client.quitRequested, timeout=5000):
        emit(client_obj(private_buses), "Stop")


def test_close_unregisters_with_an_object_path(
    qtbot: Any, guard: SessionEndGuard, private_buses: PrivateBuses, sm: Any
) -> None:
    import dbus

    c = GnomeSessionClient(guard, connect(private_buses.session.address), startup_id="")
    with qtbot.waitSignal(c.registered, timeout=5000):
        pass
    c.close()

    def unregistered() -> list[Any]:
        return list(
            sm.obj.GetMethodCalls("UnregisterClient", dbus_interface="org.freedesktop.DBus.Mock")
        )

    qtbot.waitUntil(lambda: len(unregistered()) == 1, timeout=5000)
    ((_, (path,)),) = unregistered()
    assert isinstance(path, dbus.ObjectPath) and path == CLIENT


def test_no_gnome_session_means_no_registration_and_no_error(
    qtbot: Any, guard: SessionEndGuard, private_buses: PrivateBuses
) -> None:
    c = GnomeSessionClient(guard, connect(private_buses.session.address), startup_id="")
    with qtbot.assertNotEmitted(c.registered, wait=500):
        pass
    assert c.client_path is None
    c.close()

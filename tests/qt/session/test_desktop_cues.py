"""Lock and idle cues against mock GNOME and freedesktop (KDE) services on a private bus."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.session_end import (
    PendingSummary,
    ReminderDue,
    ReminderKind,
    SessionEndGuard,
)
from almc_assistant.qt.session.desktop_cues import DesktopCues
from tests.qt.session.conftest import PrivateBuses, connect

MOCK = "org.freedesktop.DBus.Mock"


@pytest.fixture
def cues(guard: SessionEndGuard, private_buses: PrivateBuses) -> Iterator[DesktopCues]:
    c = DesktopCues(guard, connect(private_buses.session.address))
    yield c
    c.close()


def active_changed(mock: Any, iface: str, value: bool) -> None:
    import dbus

    mock.obj.EmitSignal(iface, "ActiveChanged", "b", [dbus.Boolean(value)], dbus_interface=MOCK)


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("org.gnome.ScreenSaver", "/org/gnome/ScreenSaver"),
        ("org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver"),
        ("org.freedesktop.ScreenSaver", "/ScreenSaver"),  # KDE Plasma's path
    ],
)
def test_screen_lock_reminds_once_per_lock(
    qtbot: Any,
    cues: DesktopCues,
    guard: SessionEndGuard,
    sink: ListSink,
    private_buses: PrivateBuses,
    service: str,
    path: str,
) -> None:
    assert cues.lock_sources == 3
    guard.update(PendingSummary(3, 12_400_000_000, 0.0))
    with private_buses.spawn(service, path, service, system=False) as ss:
        active_changed(ss, service, True)
        qtbot.waitUntil(lambda: len(sink.of_type(ReminderDue)) == 1, timeout=5000)
        active_changed(ss, service, True)  # repeated: no second reminder
        active_changed(ss, service, False)
        active_changed(ss, service, True)
        qtbot.waitUntil(lambda: len(sink.of_type(ReminderDue)) == 2, timeout=5000)
    assert [r.kind for r in sink.of_type(ReminderDue)] == [ReminderKind.LOCKED] * 2


def test_idle_time_from_mutter(qtbot: Any, cues: DesktopCues, private_buses: PrivateBuses) -> None:
    with private_buses.spawn(
        "org.gnome.Mutter.IdleMonitor",
        "/org/gnome/Mutter/IdleMonitor/Core",
        "org.gnome.Mutter.IdleMonitor",
        system=False,
    ) as mutter:
        mutter.obj.AddMethod(
            "", "GetIdletime", "", "t", "ret = dbus.UInt64(1234567)", dbus_interface=MOCK
        )
        assert cues.idle_seconds() is None  # asked; the answer comes later
        qtbot.waitUntil(lambda: cues.idle_seconds() == 1234.567, timeout=5000)


def test_idle_time_falls_back_to_freedesktop_without_mutter(
    qtbot: Any, cues: DesktopCues, private_buses: PrivateBuses
) -> None:
    with private_buses.spawn(
        "org.freedesktop.ScreenSaver",
        "/org/freedesktop/ScreenSaver",
        "org.freedesktop.ScreenSaver",
        system=False,
    ) as kde:
        kde.obj.AddMethod(
            "", "GetSessionIdleTime", "", "u", "ret = dbus.UInt32(900)", dbus_interface=MOCK
        )
        qtbot.waitUntil(lambda: cues.idle_seconds() == 900.0, timeout=10_000)


def test_no_desktop_service_means_no_idle_time(qtbot: Any, cues: DesktopCues) -> None:
    for _ in range(3):
        assert cues.idle_seconds() is None
        qtbot.waitUntil(lambda: cues._idle_call is None, timeout=5000)
    assert cues.idle_seconds() is None
    assert cues._idle_call is None  # both sources gave up: nothing more is asked

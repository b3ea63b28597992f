"""Fixtures for the session adapters: a guard on a fake clock, and private D-Bus buses.

The D-Bus tests run against python-dbusmock on a private system bus and a private session
bus (``LOGOUT.md`` §6.2). They skip cleanly when ``dbus-daemon`` or python-dbusmock (with
PyGObject, which its logind template needs) is not installed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.session_end import SessionEndGuard
from tests.core.session_end.conftest import FakeClock

# X11 session management (XSMP through libSM, X11 desktops) exists on Unix desktops only:
# under Windows Python (the Windows lane) these modules cannot even be imported (pwd,
# signal.SIGHUP), so they are not collected there.
collect_ignore = ["test_xsmp.py", "test_x11_session_managers.py"] if os.name == "nt" else []

_ENV = ("DBUS_SYSTEM_BUS_ADDRESS", "DBUS_SESSION_BUS_ADDRESS")


@pytest.fixture
def clock() -> FakeClock:
    from datetime import datetime

    from tests.core.session_end.conftest import TZ

    return FakeClock(datetime(2026, 11, 18, 9, 0, tzinfo=TZ))


@pytest.fixture
def sink() -> ListSink:
    return ListSink()


@pytest.fixture
def guard(tmp_path: Path, clock: FakeClock, sink: ListSink) -> SessionEndGuard:
    paths = AppPaths.under(tmp_path).ensure()
    return SessionEndGuard.create(None, paths, sink, clock=clock, platform="linux")


class PrivateBuses:
    """A private system bus and session bus, with helpers to spawn mocks on them."""

    def __init__(self, system: Any, session: Any, log_dir: Path) -> None:
        self.system = system
        self.session = session
        self._log_dir = log_dir
        self._count = 0
        self.files: list[Any] = []

    def spawn_template(self, template: str) -> Any:
        from dbusmock.testcase import SpawnedMock

        return SpawnedMock.spawn_with_template(template, **self._output())

    def spawn(self, name: str, path: str, interface: str, *, system: bool) -> Any:
        from dbusmock.testcase import BusType, SpawnedMock

        bustype = BusType.SYSTEM if system else BusType.SESSION
        return SpawnedMock.spawn_for_name(name, path, interface, bustype, **self._output())

    def _output(self) -> dict[str, Any]:
        # A file, not a pipe: a pipe shared with the daemon can keep a test hanging.
        self._count += 1
        out = open(self._log_dir / f"mock-{self._count}.log", "wb")  # noqa: SIM115
        self.files.append(out)
        return {"stdout": out, "stderr": out}


@pytest.fixture(scope="session")
def _bus_daemons(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateBuses]:
    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon is not installed (apt-get install dbus)")
    try:
        import dbusmock.templates.logind  # noqa: F401  (needs PyGObject)
        from dbusmock.testcase import BusType, PrivateDBus
    except ImportError as exc:
        pytest.skip(f"python-dbusmock is not usable here: {exc}")
    saved = {k: os.environ.get(k) for k in _ENV}
    buses: PrivateBuses | None = None
    system = PrivateDBus(BusType.SYSTEM)
    session = PrivateDBus(BusType.SESSION)
    try:
        system.start()
        session.start()  # both set DBUS_*_BUS_ADDRESS: undone below, set per test instead
        _restore(saved)
        buses = PrivateBuses(system, session, tmp_path_factory.mktemp("dbusmock"))
        yield buses
    finally:
        for f in buses.files if buses else ():
            f.close()
        session.stop()
        system.stop()
        _restore(saved)


def _restore(saved: dict[str, str | None]) -> None:
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def private_buses(_bus_daemons: PrivateBuses, monkeypatch: pytest.MonkeyPatch) -> PrivateBuses:
    """The private buses, named in the environment for this test only (for dbusmock)."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", _bus_daemons.system.address)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", _bus_daemons.session.address)
    return _bus_daemons


_connections = 0


def connect(address: str) -> Any:
    """A QtDBus connection of our own to a private bus (not Qt's process-wide default)."""
    from PySide6.QtDBus import QDBusConnection

    global _connections
    _connections += 1
    bus = QDBusConnection.connectToBus(address, f"almc-test-{_connections}")
    assert bus.isConnected(), bus.lastError().message()
    return bus


# ---------------------------------------------------------------- a gnome-session mock
CLIENT = "/org/gnome/SessionManager/Client7"
CLIENT_IFACE = "org.gnome.SessionManager.ClientPrivate"


@pytest.fixture
def sm(private_buses: PrivateBuses) -> Iterator[Any]:
    import dbus

    with private_buses.spawn(
        "org.gnome.SessionManager",
        "/org/gnome/SessionManager",
        "org.gnome.SessionManager",
        system=False,
    ) as mock:
        mock.obj.AddMethods(
            "",
            [
                ("RegisterClient", "ss", "o", f"ret = dbus.ObjectPath('{CLIENT}')"),
                ("UnregisterClient", "o", "", ""),
            ],
            dbus_interface="org.freedesktop.DBus.Mock",
        )
        mock.obj.AddObject(
            CLIENT,
            CLIENT_IFACE,
            dbus.Dictionary({}, signature="sv"),
            [("EndSessionResponse", "bs", "", "")],
            dbus_interface="org.freedesktop.DBus.Mock",
        )
        yield mock


def client_obj(private_buses: PrivateBuses) -> Any:
    import dbus

    return dbus.bus.BusConnection(private_buses.session.address).get_object(
        "org.gnome.SessionManager", CLIENT
    )


def emit(obj: Any, name: str, sig: str = "", args: list[Any] | None = None) -> None:
    obj.EmitSignal(CLIENT_IFACE, name, sig, args or [], dbus_interface="org.freedesktop.DBus.Mock")


def responses(obj: Any) -> list[tuple[Any, ...]]:
    return [
        tuple(args)
        for _, method, args in obj.GetCalls(dbus_interface="org.freedesktop.DBus.Mock")
        if method == "EndSessionResponse"
    ]

"""End to end in real processes: the app holds up a GNOME logout, is killed, and the next
start shows the strongest reminder from the marker. Mock gnome-session and logind run on
private D-Bus buses; nothing is faked inside the app.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.qt.session.conftest import CLIENT, PrivateBuses, emit, responses

ROOT = Path(__file__).resolve().parents[3]
MOCK = "org.freedesktop.DBus.Mock"


class AppProcess:
    """The app under test, its stdout read line by line on a thread."""

    def __init__(self, home: Path, buses: PrivateBuses, files: int, size: int) -> None:
        env = dict(os.environ)
        env.update(
            ALMC_HOME=str(home),
            ALMC_TEST_SESSION_BUS=buses.session.address,
            ALMC_TEST_SYSTEM_BUS=buses.system.address,
            QT_QPA_PLATFORM="offscreen",
            PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        )
        env.pop("DESKTOP_AUTOSTART_ID", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.qt.session.app_under_test", str(files), str(size)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> dict[str, Any]:
        while True:
            try:
                item = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError("the app did not report what was expected") from None
            if predicate(item):
                return item

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._reader.join(timeout=5)


@pytest.fixture
def gnome_and_logind(private_buses: PrivateBuses, sm: Any) -> Iterator[Any]:
    """Mock gnome-session (``sm``) and logind; yields the logind mock."""
    with private_buses.spawn_template("logind") as logind:
        yield logind


def test_logout_held_then_killed_then_reminded_at_next_start(
    tmp_path: Path, private_buses: PrivateBuses, gnome_and_logind: Any
) -> None:
    import dbus

    logind = gnome_and_logind
    home = tmp_path / "home"
    client = dbus.bus.BusConnection(private_buses.session.address).get_object(
        "org.gnome.SessionManager", CLIENT
    )

    def inhibitors() -> list[str]:
        rows = logind.obj.ListInhibitors(dbus_interface="org.freedesktop.login1.Manager")
        return [str(r[2]) for r in rows]

    first = AppProcess(home, private_buses, 3, 12_400_000_000)
    try:
        assert first.wait_for(lambda e: "registered" in e)["registered"] == CLIENT
        _wait(lambda: inhibitors() == ["3 files (12.4 GB) are not backed up yet"])
        emit(client, "QueryEndSession", "u", [dbus.UInt32(0)])
        answered = first.wait_for(lambda e: e.get("event") == "SessionEndAnswered")
        assert answered["vetoed"] is True and answered["files"] == 3
        _wait(lambda: len(responses(client)) == 1)
        assert [(bool(a), str(b)) for a, b in responses(client)] == [
            (False, "3 files (12.4 GB) are not backed up yet")
        ]
    finally:
        first.kill()  # the session dies without any further callback
    _wait(lambda: inhibitors() == [])  # logind dropped the lock with the process
    marker = json.loads((home / "state" / "session-end.json").read_text())
    assert marker["files"] == 3 and marker["ended_kind"] == "logoff"

    second = AppProcess(home, private_buses, 3, 12_400_000_000)
    try:
        due = second.wait_for(lambda e: e.get("event") == "ReminderDue")
        assert due["kind"] == "last_session" and due["strong"] is True
        assert due["text"].startswith(
            "Your last session ended with 3 files (12.4 GB) not backed up."
        )
    finally:
        second.kill()


def _wait(predicate: Any, timeout: float = 20.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


def test_sigterm_records_the_end_and_quits_cleanly(
    tmp_path: Path, private_buses: PrivateBuses, gnome_and_logind: Any
) -> None:
    """Where no session manager asks first (KDE, systemd stopping the user session,
    ``kill``), the logout is a SIGTERM: the app writes the marker and exits by itself."""
    home = tmp_path / "home"
    first = AppProcess(home, private_buses, 2, 5_000_000_000)
    try:
        first.wait_for(lambda e: "registered" in e)
        first.proc.send_signal(signal.SIGTERM)
        assert first.proc.wait(timeout=20) == 0  # quit through the event loop, not killed
    finally:
        first.kill()
    marker = json.loads((home / "state" / "session-end.json").read_text())
    assert marker["files"] == 2 and marker["ended_kind"] == "unknown"

    second = AppProcess(home, private_buses, 2, 5_000_000_000)
    try:
        due = second.wait_for(lambda e: e.get("event") == "ReminderDue")
        assert due["kind"] == "last_session" and due["strong"] is True
    finally:
        second.kill()

"""install_session_end_hooks: adapters per platform, state kept in sync, timers, worker."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import SIGNAL
from PySide6.QtDBus import QDBusConnection

from almc_assistant.core.events import ListSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.session_end import (
    PendingRefreshFailed,
    PendingSummary,
    ReminderDue,
    ReminderKind,
    SessionEndGuard,
)
from almc_assistant.qt.session.desktop_cues import DesktopCues
from almc_assistant.qt.session.gnome import GnomeSessionClient
from almc_assistant.qt.session.hooks import (
    SessionEndHooks,
    install_session_end_hooks,
    x11_backends,
)
from almc_assistant.qt.session.logind import LogindDelayLock
from almc_assistant.qt.session.posix_signals import PosixSignals
from almc_assistant.qt.session.qtsm import CommitDataHandler
from almc_assistant.qt.session.windows import WindowsSessionBackend
from tests.qt.session.conftest import PrivateBuses, connect
from tests.qt.session.fake_win32 import FakeWin32Api


class Service:
    """Stands in for the catalog's Service.pending_summary (called on the worker)."""

    def __init__(self) -> None:
        self.summary = PendingSummary()
        self.threads: set[str] = set()
        self.fail = False

    def pending_summary(self) -> PendingSummary:
        self.threads.add(threading.current_thread().name)
        if self.fail:
            raise OSError("database is locked")
        return self.summary


@pytest.fixture
def service() -> Service:
    return Service()


@pytest.fixture
def live_guard(tmp_path: Path, clock: Any, sink: ListSink, service: Service) -> SessionEndGuard:
    return SessionEndGuard.create(
        service.pending_summary, AppPaths.under(tmp_path).ensure(), sink, clock=clock
    )


@pytest.fixture
def win_hooks(
    qapp: Any, live_guard: SessionEndGuard
) -> Iterator[tuple[SessionEndHooks, FakeWin32Api]]:
    api = FakeWin32Api(idle=40 * 60.0)  # past the default idle_minutes (30)
    hooks = install_session_end_hooks(
        qapp, live_guard, platform="win32", win32=api, tick_interval_ms=50
    )
    yield hooks, api
    hooks.uninstall()


def test_windows_block_reason_follows_the_service_through_the_worker(
    qtbot: Any, win_hooks: tuple[SessionEndHooks, FakeWin32Api], service: Service
) -> None:
    hooks, api = win_hooks
    (backend,) = hooks.backends
    assert isinstance(backend, WindowsSessionBackend)
    qtbot.waitUntil(lambda: bool(service.threads), timeout=2000)
    assert all(name.startswith("almc-pending") for name in service.threads)
    service.summary = PendingSummary(3, 12_400_000_000, 0.0)
    hooks.refresh_now()
    qtbot.waitUntil(
        lambda: api.reason.get(backend.hwnd) == "3 files (12.4 GB) are not backed up yet",
        timeout=2000,
    )
    service.summary = PendingSummary()
    hooks.refresh_now()
    qtbot.waitUntil(lambda: api.reason == {}, timeout=2000)


def test_ticks_run_the_schedule_and_the_idle_cue(
    qtbot: Any, win_hooks: tuple[SessionEndHooks, FakeWin32Api], sink: ListSink
) -> None:
    hooks, _ = win_hooks
    hooks.guard.update(PendingSummary(3, 10**9, 0.0))
    qtbot.waitUntil(lambda: bool(sink.of_type(ReminderDue)), timeout=2000)
    assert [r.kind for r in sink.of_type(ReminderDue)] == [ReminderKind.IDLE]


def test_refresh_failures_are_published(
    qtbot: Any, win_hooks: tuple[SessionEndHooks, FakeWin32Api], service: Service, sink: ListSink
) -> None:
    hooks, _ = win_hooks
    service.fail = True
    future = hooks.refresh_now()
    assert future is not None
    qtbot.waitUntil(future.done, timeout=2000)
    assert not future.result()
    assert sink.of_type(PendingRefreshFailed)[-1].detail == "OSError: database is locked"


def test_macos_gets_the_commit_data_handler_and_allow_quit_reaches_it(
    qapp: Any, guard: SessionEndGuard
) -> None:
    before = qapp.receivers(SIGNAL("commitDataRequest(QSessionManager&)"))
    hooks = install_session_end_hooks(qapp, guard, platform="darwin", refresh_interval_ms=None)
    try:
        backend, signals = hooks.backends
        assert isinstance(backend, CommitDataHandler)
        assert isinstance(signals, PosixSignals)  # launchd's SIGTERM at logout
        assert qapp.receivers(SIGNAL("commitDataRequest(QSessionManager&)")) == before + 1
        hooks.allow_quit()
        assert backend._explicit_quit
    finally:
        hooks.uninstall()
    assert qapp.receivers(SIGNAL("commitDataRequest(QSessionManager&)")) == before


def test_linux_gets_gnome_client_and_logind_lock_on_the_given_buses(
    qtbot: Any, qapp: Any, guard: SessionEndGuard, private_buses: PrivateBuses
) -> None:
    with private_buses.spawn_template("logind") as logind:
        hooks = install_session_end_hooks(
            qapp,
            guard,
            platform="linux",
            session_bus=connect(private_buses.session.address),
            system_bus=connect(private_buses.system.address),
            refresh_interval_ms=None,
        )
        try:
            kinds = [type(b) for b in hooks.backends]
            assert kinds == [GnomeSessionClient, DesktopCues, LogindDelayLock, PosixSignals]
            lock = hooks.backends[2]
            assert isinstance(lock, LogindDelayLock)
            guard.update(PendingSummary(1, 1, 0.0))
            qtbot.waitUntil(lambda: lock.held, timeout=5000)
            rows = logind.obj.ListInhibitors(dbus_interface="org.freedesktop.login1.Manager")
            assert [str(r[2]) for r in rows] == ["1 file (1 byte) is not backed up yet"]
            guard.update(PendingSummary())
            qtbot.waitUntil(lambda: not lock.held, timeout=5000)
        finally:
            hooks.uninstall()


def test_no_xsmp_client_off_x11(
    qapp: Any, guard: SessionEndGuard, monkeypatch: pytest.MonkeyPatch
) -> None:
    """XSMP and the lost-display recorder are for the xcb platform only."""
    monkeypatch.setenv("SESSION_MANAGER", "local/host:@/tmp/.ICE-unix/0")
    assert qapp.platformName() != "xcb"
    assert x11_backends(qapp, guard, QDBusConnection("not connected")) == []


def test_gnome_stop_is_forwarded_as_quit_requested(
    qtbot: Any, qapp: Any, guard: SessionEndGuard
) -> None:
    hooks = SessionEndHooks(guard, [], refresh_interval_ms=None)
    try:
        with qtbot.waitSignal(hooks.quitRequested, timeout=1000):
            hooks.quitRequested.emit()
    finally:
        hooks.uninstall()


def test_a_broken_adapter_does_not_stop_the_others(
    qapp: Any, guard: SessionEndGuard, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def set_block_reason(self, reason: str | None) -> None:
            raise RuntimeError("boom")

        def close(self) -> None:
            raise RuntimeError("boom")

    class Recorder:
        def __init__(self) -> None:
            self.reasons: list[str | None] = []

        def set_block_reason(self, reason: str | None) -> None:
            self.reasons.append(reason)

        def close(self) -> None:
            self.reasons.append("closed")

    rec = Recorder()
    hooks = SessionEndHooks(guard, [Broken(), rec], refresh_interval_ms=None)
    guard.update(PendingSummary(2, 2, 0.0))
    assert hooks.sync()
    assert not hooks.sync()  # nothing changed since
    hooks.uninstall()
    assert rec.reasons == [None, "2 files (2 bytes) are not backed up yet", "closed"]
    assert "Broken could not take" in caplog.text


def test_posix_signals_restore_what_was_there(qapp: Any, guard: SessionEndGuard) -> None:
    """Closing the adapter gives back the previous handlers and wake-up fd (the test
    process's own, here), so uninstalling the hooks leaves no trace."""
    import signal

    before = signal.getsignal(signal.SIGTERM)
    before_fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(before_fd)
    signals = PosixSignals(guard)
    assert signal.getsignal(signal.SIGTERM) != before
    assert signal.set_wakeup_fd(-1) == signals._writer.fileno() != before_fd
    signal.set_wakeup_fd(signals._writer.fileno())
    signals.close()
    assert signal.getsignal(signal.SIGTERM) == before
    assert signal.set_wakeup_fd(before_fd) == before_fd

"""The one entry point the tray app calls: :func:`install_session_end_hooks`.

Thread contract: create, use and uninstall on the GUI thread. The only work off the GUI
thread is :meth:`SessionEndGuard.try_refresh` (it may query the catalog), run on one
worker thread owned by the hooks; the GUI side notices the new state by polling the
guard's version on a timer, so no Qt signal is ever emitted from that worker.

It picks the adapters for the platform, keeps each one's view of the pending state in
sync (Windows' block reason, logind's delay lock), runs the reminder schedule and polls
idle time. Which adapters exist on which platform: ``README.md`` ("Reminders at logout").
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtDBus import QDBusConnection
from PySide6.QtGui import QGuiApplication

from almc_assistant.core.session_end import SessionEndGuard
from almc_assistant.qt.session.gnome import SM_SERVICE, XFCE, GnomeSessionClient
from almc_assistant.qt.session.win32api import Win32Api

log = logging.getLogger(__name__)


class SessionBackend(Protocol):
    """What every platform adapter offers the hooks."""

    def set_block_reason(self, reason: str | None) -> None: ...

    def close(self) -> None: ...


IdleProbe = Callable[[], float | None]


class SessionEndHooks(QObject):
    """The installed adapters plus the timers that keep them and the reminders going."""

    quitRequested = Signal()  # the session manager asked the app to quit (GNOME "Stop")

    def __init__(
        self,
        guard: SessionEndGuard,
        backends: list[SessionBackend],
        *,
        idle_probe: IdleProbe | None = None,
        sync_interval_ms: int = 250,
        tick_interval_ms: int = 30_000,
        refresh_interval_ms: int | None = 60_000,
    ) -> None:
        super().__init__()
        self.guard = guard
        self.backends = list(backends)
        self._idle_probe = idle_probe
        self._synced_version: int | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._refreshing: Future[bool] | None = None
        self._timers: list[QTimer] = []
        self._every(sync_interval_ms, self.sync)
        self._every(tick_interval_ms, self.tick)
        if refresh_interval_ms is not None:
            self._every(refresh_interval_ms, self.refresh_now)
        self.sync()

    def _every(self, ms: int, slot: Callable[[], object]) -> None:
        timer = QTimer(self)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        timer.start()
        self._timers.append(timer)

    @Slot()
    def sync(self) -> bool:
        """Push the current block reason to every adapter if the pending state changed."""
        version = self.guard.version
        if version == self._synced_version:
            return False
        self._synced_version = version
        reason = self.guard.block_reason()
        for backend in self.backends:
            try:
                backend.set_block_reason(reason)
            except Exception:
                log.exception("%s could not take the new pending state", type(backend).__name__)
        return True

    @Slot()
    def tick(self) -> None:
        """Reminder schedule, coalesced marker writes and the idle cue."""
        self.guard.tick()
        if self._idle_probe is not None:
            idle = self._idle_probe()
            if idle is not None:
                self.guard.idle(idle)

    @Slot()
    def refresh_now(self) -> Future[bool] | None:
        """Ask the service what is pending, on the hooks' worker (one at a time).

        A request while one is running queues one more, so the latest change is seen;
        requests while one is still queued share that one.
        """
        queued = self._refreshing
        if queued is not None and not queued.running() and not queued.done():
            return queued
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="almc-pending")
        self._refreshing = self._executor.submit(self.guard.try_refresh)
        return self._refreshing

    def allow_quit(self) -> None:
        """Call before the app quits on the user's own request (macOS would hold it up)."""
        for backend in self.backends:
            allow = getattr(backend, "allow_quit", None)
            if allow is not None:
                allow()

    def uninstall(self) -> None:
        """Stop the timers, close every adapter, wait for the worker."""
        for timer in self._timers:
            timer.stop()
        for backend in self.backends:
            try:
                backend.close()
            except Exception:
                log.exception("%s did not close cleanly", type(backend).__name__)
        self.backends = []
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def x11_backends(
    app: QGuiApplication, guard: SessionEndGuard, session: QDBusConnection
) -> list[SessionBackend]:
    """On X11 (platform ``xcb``): the lost-display recorder; Xfce's D-Bus client where
    xfce4-session is on the bus; an XSMP client when a session manager is named in
    ``SESSION_MANAGER`` and it is not gnome-session (the GNOME client answers that)."""
    if app.platformName() != "xcb":
        return []
    from almc_assistant.qt.session.display_loss import DisplayLossRecorder

    backends: list[SessionBackend] = [DisplayLossRecorder(guard)]
    gnome = session.isConnected() and session.interface().isServiceRegistered(SM_SERVICE).value()
    if not os.environ.get("SESSION_MANAGER"):
        log.info("No X11 session manager (SESSION_MANAGER is not set)")
    elif gnome:
        log.info("gnome-session answers through D-Bus: no XSMP client")
    else:
        from almc_assistant.qt.session.xsmp import XsmpSessionClient

        try:
            xsmp = XsmpSessionClient(guard)
        except (OSError, ConnectionError) as exc:
            log.warning("Could not register with the X11 session manager: %s", exc)
            return backends
        backends.append(xsmp)
        xfce = session.isConnected() and session.interface().isServiceRegistered(XFCE.service)
        if xfce and xfce.value() and xsmp.conn.client_id:
            # xfce4-session's D-Bus RegisterClient names an XSMP client by its id; asked
            # with an empty id, xfce4-session 4.18.1 went away (and the session with it)
            backends.append(
                GnomeSessionClient(guard, session, startup_id=xsmp.conn.client_id, names=XFCE)
            )
    return backends


def install_session_end_hooks(
    app: QGuiApplication,
    guard: SessionEndGuard,
    *,
    platform: str = sys.platform,
    session_bus: QDBusConnection | None = None,
    system_bus: QDBusConnection | None = None,
    win32: Win32Api | None = None,
    refresh_interval_ms: int | None = 60_000,
    tick_interval_ms: int = 30_000,
) -> SessionEndHooks:
    """Install the session-end adapters for ``platform`` and return the running hooks.

    Windows: hidden native window + native event filter + block reason + WTS lock cues
    (``win32`` defaults to the real API). macOS: ``commitDataRequest``. Linux and other
    Unixes: the GNOME session client and lock/idle cues (session bus), a logind delay
    lock (system bus); macOS and Unixes also turn SIGTERM/SIGHUP into a recorded end and
    a clean quit;
    either bus may be passed in (tests use private buses), else Qt's default buses.
    ``refresh_interval_ms=None`` leaves refreshing to the caller (``guard.update``).
    """
    backends: list[SessionBackend] = []
    idle_probe: IdleProbe | None = None
    quit_signals = []
    if platform == "win32":
        from almc_assistant.qt.session.win32api import CtypesWin32Api
        from almc_assistant.qt.session.windows import WindowsSessionBackend

        win = WindowsSessionBackend(app, guard, win32 if win32 is not None else CtypesWin32Api())
        backends.append(win)
        idle_probe = win.idle_seconds
    elif platform == "darwin":
        from almc_assistant.qt.session.qtsm import CommitDataHandler

        backends.append(CommitDataHandler(app, guard, platform=platform))
    else:
        from almc_assistant.qt.session.desktop_cues import DesktopCues
        from almc_assistant.qt.session.logind import LogindDelayLock

        session = session_bus if session_bus is not None else QDBusConnection.sessionBus()
        system = system_bus if system_bus is not None else QDBusConnection.systemBus()
        if session.isConnected():
            gnome = GnomeSessionClient(guard, session)
            cues = DesktopCues(guard, session)
            backends += [gnome, cues]
            idle_probe = cues.idle_seconds
        else:
            log.info("No D-Bus session bus: no GNOME session client")
        if system.isConnected():
            backends.append(LogindDelayLock(guard, system))
        else:
            log.info("No D-Bus system bus: no logind delay lock")
        backends += x11_backends(app, guard, session)
        quit_signals += [b.quitRequested for b in backends if hasattr(b, "quitRequested")]
    if platform != "win32" and threading.current_thread() is threading.main_thread():
        # a logout without a session manager's question (KDE, systemd stopping the user
        # session, ``kill``): record the end, then quit cleanly (qt/session/posix_signals)
        from almc_assistant.qt.session.posix_signals import PosixSignals

        signals = PosixSignals(guard)
        backends.append(signals)
        quit_signals.append(signals.quitRequested)
    hooks = SessionEndHooks(
        guard,
        backends,
        idle_probe=idle_probe,
        tick_interval_ms=tick_interval_ms,
        refresh_interval_ms=refresh_interval_ms,
    )
    for signal in quit_signals:
        signal.connect(hooks.quitRequested)
    if refresh_interval_ms is not None:
        hooks.refresh_now()
    return hooks

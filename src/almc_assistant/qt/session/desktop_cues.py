"""Lock and idle cues on Linux desktops, from the session bus.

Thread contract: GUI thread only (QtDBus signals and replies arrive on it).

Lock: ``ActiveChanged(b)`` from GNOME's ``org.gnome.ScreenSaver`` and from the
freedesktop ``org.freedesktop.ScreenSaver`` (KDE Plasma and others), both listened to;
an unknown service simply never signals. Idle: Mutter's idle monitor (``GetIdletime``,
milliseconds) and, where Mutter is absent, ``org.freedesktop.ScreenSaver.
GetSessionIdleTime`` (seconds). Calls are asynchronous; :meth:`DesktopCues.idle_seconds`
returns the last answer and asks again, so a slow desktop never stalls the GUI.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QObject, Slot
from PySide6.QtDBus import QDBusConnection, QDBusMessage, QDBusPendingCallWatcher

from almc_assistant.core.session_end import SessionEndGuard
from almc_assistant.qt.session.dbus_slots import qt_slot

log = logging.getLogger(__name__)

CALL_TIMEOUT_MS = 5000
_LOCK_SOURCES = (
    ("org.gnome.ScreenSaver", "/org/gnome/ScreenSaver", "org.gnome.ScreenSaver"),
    ("org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver", "org.freedesktop.ScreenSaver"),
    ("org.freedesktop.ScreenSaver", "/ScreenSaver", "org.freedesktop.ScreenSaver"),
)
_LOCK_SLOT = "_on_screensaver_active_changed(bool)"


@dataclass(frozen=True)
class _IdleSource:
    service: str
    path: str
    interface: str
    method: str
    seconds_per_unit: float


IDLE_SOURCES = (
    _IdleSource(
        "org.gnome.Mutter.IdleMonitor",
        "/org/gnome/Mutter/IdleMonitor/Core",
        "org.gnome.Mutter.IdleMonitor",
        "GetIdletime",
        0.001,
    ),
    _IdleSource(
        "org.freedesktop.ScreenSaver",
        "/org/freedesktop/ScreenSaver",
        "org.freedesktop.ScreenSaver",
        "GetSessionIdleTime",
        1.0,
    ),
)


class DesktopCues(QObject):
    """Tells the guard when the screen locks or unlocks; reports idle time on request."""

    def __init__(
        self, guard: SessionEndGuard, bus: QDBusConnection, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._guard = guard
        self._bus = bus
        self._locked = False
        self._idle: float | None = None
        self._source = 0  # index into IDLE_SOURCES; len() when none answers
        self._idle_call: QDBusPendingCallWatcher | None = None
        self.lock_sources = sum(
            bool(bus.connect(*src, "ActiveChanged", self, qt_slot(_LOCK_SLOT)))
            for src in _LOCK_SOURCES
        )

    def set_block_reason(self, reason: str | None) -> None:
        """Nothing to register: these are cues only."""

    def close(self) -> None:
        for src in _LOCK_SOURCES:
            self._bus.disconnect(*src, "ActiveChanged", self, qt_slot(_LOCK_SLOT))

    @Slot(bool)
    def _on_screensaver_active_changed(self, active: bool) -> None:
        if active == self._locked:
            return  # both GNOME interfaces may report the same change
        self._locked = active
        if active:
            self._guard.locked()
        else:
            self._guard.unlocked()

    def idle_seconds(self) -> float | None:
        """The last idle time the desktop reported (``None``: unknown); asks again."""
        if self._idle_call is None and self._source < len(IDLE_SOURCES):
            src = IDLE_SOURCES[self._source]
            msg = QDBusMessage.createMethodCall(src.service, src.path, src.interface, src.method)
            watcher = QDBusPendingCallWatcher(self._bus.asyncCall(msg, CALL_TIMEOUT_MS), self)
            watcher.finished.connect(self._on_idle_finished)
            self._idle_call = watcher
        return self._idle

    @Slot(QDBusPendingCallWatcher)
    def _on_idle_finished(self, watcher: QDBusPendingCallWatcher) -> None:
        self._idle_call = None
        reply = watcher.reply()
        watcher.deleteLater()
        src = IDLE_SOURCES[self._source]
        if reply.type() == QDBusMessage.MessageType.ReplyMessage and reply.arguments():
            self._idle = int(reply.arguments()[0]) * src.seconds_per_unit
            return
        self._idle = None
        if reply.errorName() in (
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "org.freedesktop.DBus.Error.UnknownMethod",
            "org.freedesktop.DBus.Error.UnknownObject",
            "org.freedesktop.DBus.Error.NotSupported",
        ):
            log.info("No idle time from %s: %s", src.service, reply.errorMessage())
            self._source += 1  # try the next desktop's interface next time

"""systemd-logind adapter: a *delay* lock on shutdown and sleep while data is at risk.

Thread contract: GUI thread only (QtDBus replies and signals arrive on it).

logind cannot hold up a logout, and a ``block`` lock has broken desktops' shutdown
(``LOGOUT.md`` §4.1), so we take only a ``delay`` lock: up to ``InhibitDelayMaxSec``
(5 s by default) for the marker to be written when ``PrepareForShutdown(true)`` arrives.
The lock is taken when data becomes at risk and released when it is safe; it lives as
long as our duplicate of the returned file descriptor. A denied lock (polkit) is logged,
not an error.
"""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QObject, Slot
from PySide6.QtDBus import QDBusConnection, QDBusMessage, QDBusPendingCallWatcher

from almc_assistant.core.session_end import EndKind, SessionEndGuard
from almc_assistant.qt.session.dbus_slots import qt_slot

log = logging.getLogger(__name__)

SERVICE = "org.freedesktop.login1"
PATH = "/org/freedesktop/login1"
MANAGER = "org.freedesktop.login1.Manager"
WHAT = "shutdown:sleep"
CALL_TIMEOUT_MS = 5000


class LogindDelayLock(QObject):
    """Holds a logind delay lock exactly while the guard reports data at risk."""

    def __init__(
        self,
        guard: SessionEndGuard,
        bus: QDBusConnection,
        *,
        who: str = "almc-assistant",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._guard = guard
        self._bus = bus
        self._who = who
        self._fd: int | None = None
        self._wanted: str | None = None  # the reason we want a lock for (None: no lock)
        self._pending_call: QDBusPendingCallWatcher | None = None
        self._suspended = False  # between PrepareFor*(true) and PrepareFor*(false)
        self.connected = all(
            bus.connect(SERVICE, PATH, MANAGER, name, self, qt_slot(f"{slot}(bool)"))
            for name, slot in (
                ("PrepareForShutdown", "_on_logind_prepare_for_shutdown"),
                ("PrepareForSleep", "_on_logind_prepare_for_sleep"),
            )
        )

    @property
    def held(self) -> bool:
        """Whether a delay lock is held right now."""
        return self._fd is not None

    @property
    def waiting(self) -> bool:
        """Whether an ``Inhibit`` call is still on its way."""
        return self._pending_call is not None

    def set_block_reason(self, reason: str | None) -> None:
        """Take the lock when data becomes at risk; release it when everything is safe."""
        self._wanted = reason
        if reason is None:
            self._release()
        elif self._fd is None and self._pending_call is None and not self._suspended:
            self._take(reason)

    def close(self) -> None:
        self._wanted = None
        self._release()
        for name, slot in (
            ("PrepareForShutdown", "_on_logind_prepare_for_shutdown"),
            ("PrepareForSleep", "_on_logind_prepare_for_sleep"),
        ):
            self._bus.disconnect(SERVICE, PATH, MANAGER, name, self, qt_slot(f"{slot}(bool)"))

    # ------------------------------------------------------------------ D-Bus
    def _take(self, reason: str) -> None:
        msg = QDBusMessage.createMethodCall(SERVICE, PATH, MANAGER, "Inhibit")
        msg.setArguments([WHAT, self._who, reason, "delay"])
        watcher = QDBusPendingCallWatcher(self._bus.asyncCall(msg, CALL_TIMEOUT_MS), self)
        watcher.finished.connect(self._on_inhibit_finished)
        self._pending_call = watcher

    @Slot(QDBusPendingCallWatcher)
    def _on_inhibit_finished(self, watcher: QDBusPendingCallWatcher) -> None:
        self._pending_call = None
        reply = watcher.reply()
        try:
            if reply.type() != QDBusMessage.MessageType.ReplyMessage:
                log.info("logind refused a delay lock: %s", reply.errorMessage())
                return
            (descriptor,) = reply.arguments()
            # Our own duplicate: the reply keeps an implicitly shared copy of the
            # descriptor, which only goes away with the reply (LOGOUT.md §4.5).
            fd = os.dup(descriptor.fileDescriptor())
            del descriptor
        finally:
            del reply
            watcher.deleteLater()
        if self._wanted is None or self._suspended:
            os.close(fd)
        elif self._fd is None:
            self._fd = fd
        else:
            os.close(fd)

    def _release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    @Slot(bool)
    def _on_logind_prepare_for_shutdown(self, starting: bool) -> None:
        if starting:
            self._suspended = True
            self._guard.session_ending(EndKind.SHUTDOWN_OR_RESTART)
            self._release()  # done: let the shutdown go on
        else:
            self._resume()

    @Slot(bool)
    def _on_logind_prepare_for_sleep(self, starting: bool) -> None:
        if starting:
            self._suspended = True
            self._guard.flush_marker(durable=True)
            self._release()
        else:
            self._resume()

    def _resume(self) -> None:
        self._suspended = False
        if self._wanted is not None and self._fd is None and self._pending_call is None:
            self._take(self._wanted)

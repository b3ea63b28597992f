"""GNOME (and Cinnamon) adapter, and Xfce's D-Bus twin: a registered session client.

Thread contract: GUI thread only (QtDBus signals and replies arrive on it).

We register with ``org.gnome.SessionManager.RegisterClient`` and answer the client
protocol (``LOGOUT.md`` §4.2): ``QueryEndSession`` within a second with
``EndSessionResponse(false, reason)`` while data is at risk (gnome-session then lists us,
with the reason, in its end-session dialog, where the user may "Log Out Anyway"),
``EndSession`` with ``(true, "")`` after recording it in the marker, ``CancelEndSession``
by reminding, ``Stop`` by asking the app to quit. A forced logout (flag 1) is never held
up. ``Inhibit`` is not used: it needs ``uint32`` arguments that PySide6 cannot marshal
(``LOGOUT.md`` §4.5), and the client protocol gives the same dialog.

The same class answers xfce4-session's D-Bus client protocol (:data:`XFCE`): it answers
"ok" to ``QueryEndSession`` (Xfce does not hold a logout up for a D-Bus client; it sends
the XSMP question at the same moment, and ``qt/session/xsmp`` asks the user), records
the end on ``EndSession`` and quits on ``Stop``.

Lock and idle cues are in ``desktop_cues`` (they work on other desktops too).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtDBus import (
    QDBusConnection,
    QDBusMessage,
    QDBusObjectPath,
    QDBusPendingCallWatcher,
)

from almc_assistant.core.session_end import EndKind, SessionEndGuard, SessionEndRequest
from almc_assistant.qt.session.dbus_slots import qt_slot

log = logging.getLogger(__name__)

SM_SERVICE = "org.gnome.SessionManager"
SM_PATH = "/org/gnome/SessionManager"
SM_IFACE = "org.gnome.SessionManager"
CLIENT_IFACE = "org.gnome.SessionManager.ClientPrivate"


@dataclass(frozen=True)
class SessionManagerNames:
    """Where a gnome-session-style client protocol lives, and whether its answer counts."""

    desktop: str
    service: str
    path: str
    iface: str
    client_iface: str
    can_veto: bool


GNOME = SessionManagerNames("GNOME", SM_SERVICE, SM_PATH, SM_IFACE, CLIENT_IFACE, True)
# xfce4-session (4.16+) offers the same client protocol under its own names; it tells a
# client the session ends but does not hold a logout up for a "no" (the XSMP client,
# ``qt/session/xsmp``, does the asking there), so we always answer "ok".
XFCE = SessionManagerNames(
    "Xfce",
    "org.xfce.SessionManager",
    "/org/xfce/SessionManager",
    "org.xfce.Session.Manager",
    "org.xfce.Session.Client",
    False,
)
QUERY_FLAG_FORCED = 1
CALL_TIMEOUT_MS = 5000

_CLIENT_SIGNALS = (
    ("QueryEndSession", "_on_client_query_end_session(uint)"),
    ("EndSession", "_on_client_end_session(uint)"),
    ("CancelEndSession", "_on_client_cancel_end_session()"),
    ("Stop", "_on_client_stop()"),
)


class GnomeSessionClient(QObject):
    """Our registration with gnome-session and the answers it expects."""

    quitRequested = Signal()  # gnome-session sent Stop: the app should quit now
    registered = Signal(str)  # the client object path

    def __init__(
        self,
        guard: SessionEndGuard,
        bus: QDBusConnection,
        *,
        app_id: str = "almc-assistant",
        startup_id: str | None = None,
        names: SessionManagerNames = GNOME,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._guard = guard
        self._bus = bus
        self.names = names
        self.client_path: str | None = None
        if startup_id is None:
            # Consumed once: children must not reuse the autostart id.
            startup_id = os.environ.pop("DESKTOP_AUTOSTART_ID", "")
        n = names
        msg = QDBusMessage.createMethodCall(n.service, n.path, n.iface, "RegisterClient")
        msg.setArguments([app_id, startup_id])
        watcher = QDBusPendingCallWatcher(bus.asyncCall(msg, CALL_TIMEOUT_MS), self)
        watcher.finished.connect(self._on_register_finished)

    # ------------------------------------------------------------------ registration
    @Slot(QDBusPendingCallWatcher)
    def _on_register_finished(self, watcher: QDBusPendingCallWatcher) -> None:
        reply = watcher.reply()
        watcher.deleteLater()
        if reply.type() != QDBusMessage.MessageType.ReplyMessage:
            log.info(
                "Not registered with the %s session: %s", self.names.desktop, reply.errorMessage()
            )
            return
        path = reply.arguments()[0]
        self.client_path = path.path() if isinstance(path, QDBusObjectPath) else str(path)
        n = self.names
        for name, slot in _CLIENT_SIGNALS:
            if not self._bus.connect(
                n.service, self.client_path, n.client_iface, name, self, qt_slot(slot)
            ):
                log.warning("Could not listen to %s from the %s session", name, n.desktop)
        log.info("Registered with the %s session as %s", n.desktop, self.client_path)
        self.registered.emit(self.client_path)

    def close(self) -> None:
        """Unregister (so gnome-session does not wait for us) and stop listening."""
        if self.client_path is None:
            return
        n = self.names
        for name, slot in _CLIENT_SIGNALS:
            self._bus.disconnect(
                n.service, self.client_path, n.client_iface, name, self, qt_slot(slot)
            )
        msg = QDBusMessage.createMethodCall(n.service, n.path, n.iface, "UnregisterClient")
        msg.setArguments([QDBusObjectPath(self.client_path)])
        self._bus.send(msg)
        self.client_path = None

    def set_block_reason(self, reason: str | None) -> None:
        """Nothing to register: the answer to each query is computed from the guard."""

    # ------------------------------------------------------------------ client protocol
    @Slot("uint")
    def _on_client_query_end_session(self, flags: int) -> None:
        if not self.names.can_veto:  # Xfce: its XSMP question (same moment) does the asking
            log.info("The %s session asks whether it may end (flags %d)", self.names.desktop, flags)
            self._respond(True, "")
            return
        forced = bool(flags & QUERY_FLAG_FORCED)
        request = SessionEndRequest(
            EndKind.FORCED if forced else EndKind.LOGOFF, "linux", can_veto=not forced
        )
        decision = self._guard.query_end(request)
        self._respond(decision.allow, decision.reason if decision.veto else "")

    @Slot("uint")
    def _on_client_end_session(self, flags: int) -> None:
        self._guard.session_ending(EndKind.LOGOFF)
        self._respond(True, "")

    @Slot()
    def _on_client_cancel_end_session(self) -> None:
        QTimer.singleShot(0, self._guard.cancel_announced_end)

    @Slot()
    def _on_client_stop(self) -> None:
        self._guard.session_ending(EndKind.LOGOFF)
        self.quitRequested.emit()

    def _respond(self, is_ok: bool, reason: str) -> None:
        if self.client_path is None:
            return
        n = self.names
        msg = QDBusMessage.createMethodCall(
            n.service, self.client_path, n.client_iface, "EndSessionResponse"
        )
        msg.setArguments([is_ok, reason])
        if not self._bus.send(msg):
            error = self._bus.lastError().message()
            log.warning("Could not answer the %s session: %s", n.desktop, error)

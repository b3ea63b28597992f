"""X11 adapter: an XSMP session client (xfce4-session, KDE's ksmserver, other XSMP managers).

Thread contract: GUI thread only. A ``QSocketNotifier`` on the ICE connection wakes the
GUI thread; libSM then calls our handler from inside ``IceProcessMessages`` on that
thread (``qt/session/libsm``), so the handler may touch the guard and widgets directly.

At a logout the manager sends ``SaveYourself(shutdown=True)`` to every client:

- the end is recorded in the marker at once (``guard.query_end``, then a flush);
- with data at risk, a policy that allows holding the logout up and interaction allowed
  (``InteractStyle.ANY``), we ask to interact; when our turn comes,
  :class:`~almc_assistant.qt.session.logout_prompt.LogoutPrompt` asks "Cancel logout" or
  "Log out anyway", non-modally, and the answer goes back (``SmcInteractDone(cancel)``,
  ``SmcSaveYourselfDone``);
- otherwise we answer "saved" at once: the logout is not held up.

Then ``ShutdownCancelled`` (ksmserver) or ``SaveComplete`` after a shutdown save
(xfce4-session sends that instead) means the logout was cancelled: the strong reminder
comes up (``guard.session_end_cancelled``). ``Die`` means the session ends: the end is
recorded, the connection closed, and :attr:`quitRequested` asks the app to quit.

The restart style is "never": the session manager must not restart the app at the next
login, start-at-login (``core/autostart``) does that. Checkpoint saves (``shutdown``
false) are answered at once.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal, Slot

from almc_assistant.core.session_end import EndKind, SessionEndGuard, SessionEndRequest
from almc_assistant.core.session_end.texts import logout_question
from almc_assistant.qt.session import libsm
from almc_assistant.qt.session.logout_prompt import LogoutPrompt

log = logging.getLogger(__name__)

PROGRAM = "almc-assistant"


class XsmpSessionClient(QObject, libsm.SmHandler):
    """Our XSMP registration and the answers a logout expects."""

    quitRequested = Signal()  # the manager sent Die: the app should quit now
    questionShown = Signal(object)  # the LogoutPrompt, once it is on screen

    def __init__(
        self,
        guard: SessionEndGuard,
        *,
        connect: Callable[[libsm.SmHandler], libsm.SmConnection] = libsm.SmConnection,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._guard = guard
        self._shutdown_saving = False  # a shutdown SaveYourself came; no Die/cancel yet
        self._owe_done = False  # SaveYourselfDone not sent yet
        self._interacting = False
        self.prompt: LogoutPrompt | None = None
        self.conn = connect(self)
        self.conn.set_properties(
            {
                "Program": PROGRAM,
                "UserID": libsm.user_name(),
                "RestartCommand": [PROGRAM],
                "CloneCommand": [PROGRAM],
                "RestartStyleHint": int(libsm.RestartStyle.NEVER),
            }
        )
        self._notifier = QSocketNotifier(self.conn.fd, QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._on_readable)
        log.info("Registered with the X11 session manager as %s", self.conn.client_id)

    @Slot()
    def _on_readable(self) -> None:
        if not self.conn.process() and self._notifier.isEnabled():
            log.warning("The X11 session manager went away; no more logout questions")
            self._notifier.setEnabled(False)

    # ------------------------------------------------------------------ libSM callbacks
    def save_yourself(self, request: libsm.SaveYourself) -> None:
        log.info("XSMP SaveYourself: %s", request)
        if not request.shutdown:
            self._guard.flush_marker(durable=False)
            self.conn.save_yourself_done(True)
            return
        self._shutdown_saving = True
        decision = self._guard.query_end(SessionEndRequest(EndKind.LOGOFF, sys.platform))
        self._guard.flush_marker(durable=False)
        if decision.veto and request.interact_style is libsm.InteractStyle.ANY:
            self._owe_done = True
            if self.conn.interact_request():
                return
            log.warning("The X11 session manager refused our request to ask the user")
        self._owe_done = False
        self.conn.save_yourself_done(True)

    def interact(self) -> None:
        self._interacting = True
        if self.prompt is None:  # one window, kept for the app's life
            self.prompt = LogoutPrompt()
            self.prompt.answered.connect(self._on_answered)
        self.prompt.ask(*logout_question(self._guard.pending, self._guard.clock))
        self.questionShown.emit(self.prompt)

    @Slot(bool)
    def _on_answered(self, cancel: bool) -> None:
        if not self._interacting:
            return
        self._interacting = False
        if not cancel:
            self._guard.session_ending(EndKind.LOGOFF)
        self.conn.interact_done(cancel)
        self._send_done()

    def die(self) -> None:
        log.info("XSMP Die: the session ends")
        self._guard.session_ending(EndKind.LOGOFF)
        self._withdraw_prompt()
        self.conn.close()
        self._notifier.setEnabled(False)
        self.quitRequested.emit()

    def save_complete(self) -> None:
        if self._shutdown_saving:  # xfce4-session's way of saying "cancelled"
            self._cancelled("SaveComplete after a logout")

    def shutdown_cancelled(self) -> None:
        self._cancelled("ShutdownCancelled")

    def _cancelled(self, how: str) -> None:
        log.info("XSMP %s: the logout was cancelled", how)
        was_ending = self._shutdown_saving
        self._shutdown_saving = False
        if self._interacting:  # cancelled elsewhere while we were asking
            self._interacting = False
            self._withdraw_prompt()
        self._send_done()
        if was_ending:
            QTimer.singleShot(0, self._guard.cancel_announced_end)

    def _send_done(self) -> None:
        if self._owe_done:
            self._owe_done = False
            self.conn.save_yourself_done(True)

    def _withdraw_prompt(self) -> None:
        if self.prompt is not None:
            self.prompt.dismiss()

    # ------------------------------------------------------------------ backend protocol
    def set_block_reason(self, reason: str | None) -> None:
        """Nothing to register: each SaveYourself is answered from the guard."""

    def close(self) -> None:
        """Leave the session (the manager then no longer waits for us)."""
        self._notifier.setEnabled(False)
        self._withdraw_prompt()
        self.conn.close()

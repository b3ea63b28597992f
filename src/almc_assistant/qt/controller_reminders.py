"""The controller's reminders: the reminder window, the tray's pointer to it, snoozing.

Thread contract: GUI thread only. A mixin of :class:`~almc_assistant.qt.controller.
AppController`. The session-end guard publishes :class:`ReminderDue` and
:class:`RemindersWithdrawn` (through the pump); this mixin shows one summarised
notification per reminder and keeps one :class:`ReminderWindow`, updated in place:

- a *strong* reminder (a cancelled logout, the next login after a session that ended
  with data at risk) raises the window without taking the keyboard;
- an ordinary one is a notification; clicking it, or the tray menu's entry (there while
  the reminder is pending), opens the window;
- withdrawn (everything is safe now): the window closes and the entry goes.

"Remind me later" goes to the guard's scheduler (:meth:`SessionEndGuard.snooze`), which
then stays silent until the snooze ends. The file list comes from the service's
``status()`` query, the one the status window uses (catalog rows and the acquisition
disks' usage; no file is opened): asked when a reminder arrives or the user opens the
window, and while it is open at most every :data:`LIST_REFRESH_S` as the catalog
changes. (Once the status window's report moves to a worker, this can share it.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QWidget

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.service_events import PreflightFinished, StatusChanged
from almc_assistant.core.session_end.events import ReminderDue, ReminderKind, RemindersWithdrawn
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.prompts import Level
from almc_assistant.qt.reminder_window import ReminderWindow
from almc_assistant.qt.service_port import ServicePort
from almc_assistant.qt.status_queries import StatusQueried, StatusQueries
from almc_assistant.qt.tray import TrayIcon

_REMINDER = "reminder"  # a safety answer for the reminder window (ask_safety)

log = logging.getLogger(__name__)

REMINDER_MESSAGE = "reminder"  # the key of the tray notification that points to the window
# While the window is open, its list follows the catalog at most this often (a copy
# changes the catalog many times a second; the list is one catalog query).
LIST_REFRESH_S = 5.0


class ReminderControls(Protocol):
    """What the controller asks of the session-end guard (``SessionEndGuard``)."""

    def snooze(self, seconds: float | None = None) -> bool: ...

    def snooze_until_session_end(self) -> None: ...

    def observe(self, event: Any) -> None: ...


class ReminderActions(QObject):
    """``show_reminder``, ``attach_reminders`` and the reminder events' slots."""

    # Set up by the controller.
    _service: ServicePort
    _pump: EventPump
    _tray: TrayIcon | None
    _windows: dict[str, QWidget]
    _queries: StatusQueries
    _notify: Callable[..., None]
    show_status: Callable[[], Any]
    show_wizard: Callable[[], Any]
    back_up_now: Callable[[list[Path]], None]
    ask_safety: Callable[[Sequence[Path], Sequence[Any], Any], None]
    _reminder_destinations: list[Any] = []  # noqa: RUF012 (set per reminder)
    _reminder: ReminderDue | None = None
    _reminder_controls: ReminderControls | None = None
    _refresh_reminders: Callable[[], object] | None = None
    _list_asked: float = float("-inf")

    def _connect_reminders(self, pump: EventPump, tray: TrayIcon | None) -> None:
        pump.subscribe(ReminderDue, self._on_reminder_due)
        pump.subscribe(StatusQueried, self._on_reminder_report)
        pump.subscribe(RemindersWithdrawn, self._on_reminders_withdrawn)
        pump.subscribe(StatusChanged, self._on_status_changed_for_reminders)
        if tray is not None:
            tray.reminder_requested.connect(self.show_reminder)
            tray.message_clicked.connect(self._on_tray_message_clicked)

    def attach_reminders(
        self,
        controls: ReminderControls,
        *,
        refresh: Callable[[], object] | None = None,
    ) -> None:
        """Wire the session-end guard: snoozes go to it, the pump's events feed its cues
        (an acquisition looks finished; a copy runs), and ``refresh`` (the hooks' worker
        refresh of the pending state) runs when the service says the status changed, so
        that a reminder is withdrawn as soon as everything is safe."""
        self._reminder_controls = controls
        self._refresh_reminders = refresh
        self._pump.batch_arrived.connect(self._on_pump_batch_for_cues)

    @property
    def reminder(self) -> ReminderDue | None:
        """The reminder still pending (shown and neither snoozed nor withdrawn)."""
        return self._reminder

    @Slot()
    def show_reminder(self) -> ReminderWindow | None:
        """The user asked for the reminder (tray menu, notification): show it, focused."""
        if self._reminder is None:
            return None
        window = self._reminder_window()
        self._fill_reminder_window(window, self._reminder)
        window.present(activate=True)
        return window

    def _reminder_window(self) -> ReminderWindow:
        window = self._windows.get("reminder")
        if isinstance(window, ReminderWindow):
            return window
        window = ReminderWindow(snooze_default=self._service.reminder_settings().snooze)
        window.end_session_requested.connect(self.show_wizard)
        window.status_requested.connect(self.show_status)
        window.backup_requested.connect(self.back_up_now)
        window.snooze_requested.connect(self._on_reminder_snooze_requested)
        window.snooze_until_logout_requested.connect(self._on_reminder_until_logout)
        self._windows["reminder"] = window
        return window

    def _fill_reminder_window(self, window: ReminderWindow, reminder: ReminderDue) -> None:
        self._list_asked = time.monotonic()
        window.snooze_default = self._service.reminder_settings().snooze  # as now in force
        window.set_reminder(reminder)
        # the list (every unsafe file of the user) is read by the controller's status
        # worker; it arrives through the pump in _on_reminder_report
        self._queries.request(report=True)
        try:
            destinations = list(self._service.destinations())
        except AlmcError as err:
            log.warning("reminder: the destinations could not be read: %s", err)
            destinations = []
        self._reminder_destinations = destinations
        names = [d.name for d in destinations]
        # Until the service answers (the policy, per disk), "Back up now" does not claim
        # its copies would make the files safe.
        window.set_backup_target(names, "checking the destinations" if names else "")
        if destinations:
            self.ask_safety(window.paths(), destinations, _REMINDER)

    def _on_reminder_safety(self, _purpose: object, event: PreflightFinished) -> None:
        """The service's answer for the reminder's destinations (see ``ask_safety``)."""
        window = self._windows.get("reminder")
        if isinstance(window, ReminderWindow):
            names = [d.name for d in self._reminder_destinations]
            window.set_backup_target(names, not_safe_reason(event))

    def _on_reminder_report(self, event: StatusQueried) -> None:
        """A status worker's answer: the reminder window's list, if that window exists."""
        window = self._windows.get("reminder")
        if not isinstance(window, ReminderWindow):
            return
        if event.failed:
            log.warning("reminder: the list of files failed: %s", event.title)
            window.set_files_unknown(event.title)
        elif event.report is not None:
            window.set_files(event.report.files)
            if self._reminder_destinations:  # now with the files: the per-disk answer
                self.ask_safety(window.paths(), self._reminder_destinations, _REMINDER)

    def _on_status_changed_for_reminders(self, _event: StatusChanged) -> None:
        """The catalog changed: let the guard see it (it withdraws the reminder once all
        is safe), and follow it in the window's list if that is on screen."""
        if self._refresh_reminders is not None:
            self._refresh_reminders()  # the hooks' worker: no catalog query here
        window = self._windows.get("reminder")
        if not (isinstance(window, ReminderWindow) and window.isVisible() and self._reminder):
            return
        if time.monotonic() - self._list_asked >= LIST_REFRESH_S:
            self._fill_reminder_window(window, self._reminder)

    def _on_reminder_due(self, event: ReminderDue) -> None:
        """One notification; a strong reminder also raises the window (no focus taken).

        The next-login note about a session whose files are all backed up by now is
        only a notification: nothing is pending, so nothing stays in the tray menu."""
        if event.kind is ReminderKind.LAST_SESSION and not event.strong:
            self._notify(event.title, event.text, Level.INFO)
            return
        self._reminder = event
        self._notify(event.title, event.text, Level.WARNING, key=REMINDER_MESSAGE)
        window = self._windows.get("reminder")
        on_screen = isinstance(window, ReminderWindow) and window.isVisible()
        if event.strong or on_screen or self._tray is None:  # no tray: nothing to click
            window = self._reminder_window()
            self._fill_reminder_window(window, event)
            window.present(activate=False)
        if self._tray is not None:
            self._tray.set_reminder(event.title)

    def _on_reminders_withdrawn(self, _event: RemindersWithdrawn) -> None:
        self._forget_reminder()

    def _forget_reminder(self) -> None:
        self._reminder = None
        window = self._windows.get("reminder")
        if window is not None:
            window.hide()
        if self._tray is not None:
            self._tray.set_reminder(None)

    @Slot(str)
    def _on_tray_message_clicked(self, key: str) -> None:
        if key == REMINDER_MESSAGE and self._reminder is not None:
            self.show_reminder()
        else:
            self.show_status()

    @Slot(float)
    def _on_reminder_snooze_requested(self, seconds: float) -> None:
        controls = self._reminder_controls
        if controls is not None and not controls.snooze(seconds):
            log.info("reminder: no snooze left; it stays pending")
            return
        self._forget_reminder()

    @Slot()
    def _on_reminder_until_logout(self) -> None:
        if self._reminder_controls is not None:
            self._reminder_controls.snooze_until_session_end()
        self._forget_reminder()

    @Slot(object)
    def _on_pump_batch_for_cues(self, events: list[Any]) -> None:
        controls = self._reminder_controls
        if controls is None:
            return
        for event in events:
            controls.observe(event)


def not_safe_reason(event: PreflightFinished) -> str:
    """Why copies planned in ``event`` would not make the files safe ("" if they would):
    the service's :class:`PlanSafety` (the policy, per disk) and each destination's
    preflight (reachable, room)."""
    blocked = [i.message for r in event.results for i in r.issues if i.severity == "error"]
    if blocked:
        return "; ".join(blocked)
    safety = event.safety
    if safety is None:
        return "the destinations could not be checked"
    if safety.safe:
        return ""
    return "; ".join((f"the facility's policy asks for {safety.requirement}", *safety.not_counted))

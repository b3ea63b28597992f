"""The controller's reminders: the reminder window, the tray's pointer to it, snoozing.

Thread contract: GUI thread only. The session-end guard (which the service owns)
publishes :class:`ReminderDue` and :class:`RemindersWithdrawn` (through the pump); this
part shows one summarised notification per reminder and keeps one
:class:`ReminderWindow`, updated in place:

- a *strong* reminder (a cancelled logout, the next login after a session that ended
  with data at risk) raises the window without taking the keyboard;
- an ordinary one is a notification; clicking it, or the tray menu's entry (there while
  the reminder is pending), opens the window;
- withdrawn (everything is safe now): the window closes and the entry goes.

"Remind me later" goes to the guard's scheduler (:meth:`SessionEndGuard.snooze`), which
then stays silent until the snooze ends; its default length is the reminder settings in
force (``service.reminder_settings()``). The file list comes from the service's status
report (``request_status(report=True)``; the answer arrives as ``StatusQueried``):
asked when a reminder arrives or the user opens the window, and while it is open at
most every :data:`LIST_REFRESH_S` as the catalog changes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, Slot

from almc_assistant.core.destinations import Destination
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.events import Event
from almc_assistant.core.service_events import PreflightFinished, StatusChanged, StatusQueried
from almc_assistant.core.session_end.events import ReminderDue, ReminderKind, RemindersWithdrawn
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.controller_safety import SafetyQuestions, not_safe_reason
from almc_assistant.qt.controller_windows import Windows
from almc_assistant.qt.notifier import Notifier
from almc_assistant.qt.prompts import Level
from almc_assistant.qt.reminder_window import ReminderWindow
from almc_assistant.qt.service_port import ServicePort
from almc_assistant.qt.tray import TrayIcon

log = logging.getLogger(__name__)

REMINDER_MESSAGE = "reminder"  # the key of the tray notification that points to the window
# While the window is open, its list follows the catalog at most this often (a copy
# changes the catalog many times a second; the list is one catalog query).
LIST_REFRESH_S = 5.0


class ReminderControls(Protocol):
    """What the controller asks of the session-end guard (``SessionEndGuard``)."""

    def snooze(self, seconds: float | None = None) -> bool: ...

    def snooze_until_session_end(self) -> None: ...

    def observe(self, event: Event) -> None: ...


class ReminderPresenter(QObject):
    """``show_reminder``, ``attach`` and the reminder events' slots."""

    def __init__(
        self,
        service: ServicePort,
        pump: EventPump,
        windows: Windows,
        safety: SafetyQuestions,
        tray: TrayIcon | None,
        notify: Notifier,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._pump = pump
        self._windows = windows
        self._safety = safety
        self._tray = tray
        self._notify = notify
        self.reminder: ReminderDue | None = None  # pending: shown, not snoozed or withdrawn
        self._destinations: list[Destination] = []
        self._controls: ReminderControls | None = None
        self._refresh_guard: Callable[[], object] | None = None
        self._list_asked = float("-inf")
        pump.subscribe(ReminderDue, self._on_reminder_due)
        pump.subscribe(StatusQueried, self._on_status_queried)
        pump.subscribe(RemindersWithdrawn, self._on_reminders_withdrawn)
        pump.subscribe(StatusChanged, self._on_status_changed)
        if tray is not None:
            tray.reminder_requested.connect(self.show_reminder)
            tray.message_clicked.connect(self._on_tray_message_clicked)

    def attach(
        self, controls: ReminderControls, *, refresh: Callable[[], object] | None = None
    ) -> None:
        """Wire the session-end guard: snoozes go to it, the pump's events feed its cues
        (an acquisition looks finished; a copy runs), and ``refresh`` (the hooks' worker
        refresh of the pending state) runs when the service says the status changed, so
        that a reminder is withdrawn as soon as everything is safe."""
        self._controls = controls
        self._refresh_guard = refresh
        self._pump.batch_arrived.connect(self._on_pump_batch_for_cues)

    @Slot()
    def show_reminder(self) -> ReminderWindow | None:
        """The user asked for the reminder (tray menu, notification): show it, focused."""
        if self.reminder is None:
            return None
        window = self._window()
        self._fill(window, self.reminder)
        window.present(activate=True)
        return window

    def _window(self) -> ReminderWindow:
        window = self._windows.of_type("reminder", ReminderWindow)
        if window is not None:
            return window
        window = ReminderWindow(snooze_default=self._service.reminder_settings().snooze)
        window.end_session_requested.connect(self._windows.show_wizard)
        window.status_requested.connect(self._windows.show_status)
        window.backup_requested.connect(self._windows.backup_requested)
        window.snooze_requested.connect(self._on_snooze_requested)
        window.snooze_until_logout_requested.connect(self._on_until_logout)
        self._windows.adopt("reminder", window)
        return window

    def _fill(self, window: ReminderWindow, reminder: ReminderDue) -> None:
        self._list_asked = time.monotonic()
        window.snooze_default = self._service.reminder_settings().snooze  # as now in force
        window.set_reminder(reminder)
        # the list (every unsafe file of the user) arrives in _on_status_queried
        self._service.request_status(report=True)
        try:
            destinations = list(self._service.destinations())
        except AlmcError as err:
            log.warning("reminder: the destinations could not be read: %s", err)
            destinations = []
        self._destinations = destinations
        names = [d.name for d in destinations]
        # Until the service answers (the policy, per disk), "Back up now" does not claim
        # its copies would make the files safe.
        window.set_backup_target(names, "checking the destinations" if names else "")
        if destinations:
            self._safety.ask(window.paths(), destinations, self._on_safety_answer)

    def _on_safety_answer(self, event: PreflightFinished) -> None:
        """The service's answer for the reminder's destinations."""
        window = self._windows.of_type("reminder", ReminderWindow)
        if window is not None:
            names = [d.name for d in self._destinations]
            window.set_backup_target(names, not_safe_reason(event))

    def _on_status_queried(self, event: StatusQueried) -> None:
        """The service's status answer: the reminder window's list, if it exists."""
        window = self._windows.of_type("reminder", ReminderWindow)
        if window is None:
            return
        if event.failed:
            log.warning("reminder: the list of files failed: %s", event.title)
            window.set_files_unknown(event.title)
        elif event.report is not None:
            window.set_files(event.report.files)
            if self._destinations:  # now with the files: the per-disk answer
                self._safety.ask(window.paths(), self._destinations, self._on_safety_answer)

    def _on_status_changed(self, _event: StatusChanged) -> None:
        """The catalog changed: let the guard see it (it withdraws the reminder once all
        is safe), and follow it in the window's list if that is on screen."""
        if self._refresh_guard is not None:
            self._refresh_guard()  # the hooks' worker: no catalog query here
        window = self._windows.of_type("reminder", ReminderWindow)
        if window is None or not window.isVisible() or self.reminder is None:
            return
        if time.monotonic() - self._list_asked >= LIST_REFRESH_S:
            self._fill(window, self.reminder)

    def _on_reminder_due(self, event: ReminderDue) -> None:
        """One notification; a strong reminder also raises the window (no focus taken).

        The next-login note about a session whose files are all backed up by now is
        only a notification: nothing is pending, so nothing stays in the tray menu."""
        if event.kind is ReminderKind.LAST_SESSION and not event.strong:
            self._notify(event.title, event.text, Level.INFO)
            return
        self.reminder = event
        self._notify(event.title, event.text, Level.WARNING, REMINDER_MESSAGE)
        window = self._windows.of_type("reminder", ReminderWindow)
        on_screen = window is not None and window.isVisible()
        if event.strong or on_screen or self._tray is None:  # no tray: nothing to click
            window = self._window()
            self._fill(window, event)
            window.present(activate=False)
        if self._tray is not None:
            self._tray.set_reminder(event.title)

    def _on_reminders_withdrawn(self, _event: RemindersWithdrawn) -> None:
        self._forget()

    def _forget(self) -> None:
        self.reminder = None
        window = self._windows.get("reminder")
        if window is not None:
            window.hide()
        if self._tray is not None:
            self._tray.set_reminder(None)

    @Slot(str)
    def _on_tray_message_clicked(self, key: str) -> None:
        if key == REMINDER_MESSAGE and self.reminder is not None:
            self.show_reminder()
        else:
            self._windows.show_status()

    @Slot(float)
    def _on_snooze_requested(self, seconds: float) -> None:
        controls = self._controls
        if controls is not None and not controls.snooze(seconds):
            log.info("reminder: no snooze left; it stays pending")
            return
        self._forget()

    @Slot()
    def _on_until_logout(self) -> None:
        if self._controls is not None:
            self._controls.snooze_until_session_end()
        self._forget()

    @Slot(object)
    def _on_pump_batch_for_cues(self, events: list[Event]) -> None:
        controls = self._controls
        if controls is None:
            return
        for event in events:
            controls.observe(event)

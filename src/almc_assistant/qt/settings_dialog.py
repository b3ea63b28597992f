"""The settings window: destinations, acquisition folders, reminders; facility read-only.

Thread contract: GUI thread only. Shown non-modally; Esc closes it. "Save" hands the
user's settings to ``service.save_user_config(UserSettings)``, which writes one small
TOML file and applies it (the service's parts follow: the policy, the running reminders;
re-watching the folders runs in the service's worker); it never waits for the engine:
the window stays, Save disabled, until ``SettingsApplied`` says they are in force
(:meth:`SettingsDialog.on_settings_applied`: then it closes) or ``SettingsNotSaved``
says why not (:meth:`SettingsDialog.on_settings_not_saved`: it stays, with the edits).
Every time it is shown, and whenever settings apply from elsewhere while it is open (the
welcome window saved), the window reads the configuration in force (``config()``), never
the one captured at start-up, so it shows and saves what was saved last. What the
facility sets is shown but cannot be edited here.

"Start almc-assistant when I log in" reads and changes the OS's start-at-login entry
through :mod:`almc_assistant.core.autostart` on this thread: one small file in the
user's own profile (or one registry value), like the window's own geometry. When the
facility decides (``start_at_login``), the box shows its choice and is read-only.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from almc_assistant.core.autostart import Autostart, AutostartPolicy
from almc_assistant.core.config import Config, UserSettings
from almc_assistant.core.errors import AlmcError
from almc_assistant.qt import icons
from almc_assistant.qt.keys import close_on_escape
from almc_assistant.qt.prompts import Level, Message, Prompter
from almc_assistant.qt.service_port import ServicePort
from almc_assistant.qt.settings_destinations import DestinationsTab


def _minutes(value: float, *, maximum: float = 24 * 60, zero_text: str = "") -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(0)
    box.setRange(0, maximum)
    box.setSuffix(" min")
    box.setValue(value)
    if zero_text:
        box.setSpecialValueText(zero_text)
    return box


_FACILITY_START_AT_LOGIN = {
    True: "Set by your facility: almc-assistant starts at every login, so that it can "
    "remind you before you log out.",
    False: "Set by your facility: almc-assistant does not start at login on this computer.",
}
_START_AT_LOGIN_POLICY = {
    "user": "each user decides (on unless they turn it off)",
    "always": "always",
    "never": "never",
}


class SettingsDialog(QWidget):
    def __init__(
        self,
        service: ServicePort,
        prompter: Prompter,
        config: Config | Callable[[], Config],
        parent: QWidget | None = None,
        *,
        autostart: Autostart | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._prompter = prompter
        self._current = config if callable(config) else (lambda: config)
        self._config = self._current()
        self._autostart = autostart or service.autostart()
        self._autostart_shown: bool | None = None  # what the box showed when loaded
        self._saving = False  # saved, not yet in force (SettingsApplied closes the window)
        self.setWindowTitle("almc-assistant — Settings")
        self.setWindowIcon(icons.app_icon())
        self.tabs = QTabWidget()
        self.destinations = DestinationsTab(service, prompter, start_folder=self.start_folder)
        self.tabs.addTab(self.destinations, "&Destinations")
        self.tabs.addTab(self._folders_tab(), "Acquisition &folders")
        self.tabs.addTab(self._reminders_tab(), "&Reminders")
        self.tabs.addTab(self._facility_tab(), "F&acility")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.buttons)
        close_on_escape(self)
        self.resize(760, 560)
        self.reload()

    # ------------------------------------------------------------------ tabs
    def _folders_tab(self) -> QWidget:
        tab = QWidget()
        self.folders = QListWidget()
        self.add_folder_button = QPushButton("&Add folder…")
        self.add_folder_button.clicked.connect(self._on_add_folder_clicked)
        self.remove_folder_button = QPushButton("&Remove")
        self.remove_folder_button.clicked.connect(self._on_remove_folder_clicked)
        allowed = self._config.allow_user_folders
        note = QLabel(
            "Folders your acquisitions are saved to. almc-assistant watches them and "
            "knows which of their files are backed up."
            if allowed
            else "Your facility sets the acquisition folders; ask the staff to change them."
        )
        note.setWordWrap(True)
        self.add_folder_button.setEnabled(allowed)
        self.remove_folder_button.setEnabled(allowed)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_folder_button)
        buttons.addWidget(self.remove_folder_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(tab)
        layout.addWidget(note)
        layout.addWidget(self.folders, 1)
        layout.addLayout(buttons)
        return tab

    def _reminders_tab(self) -> QWidget:
        tab = QWidget()
        r = self._config.user.reminders
        self.idle = _minutes(r.idle_minutes, zero_text="Never")
        self.every = _minutes(r.every_minutes, zero_text="Never")
        self.snooze = _minutes(r.snooze_minutes, maximum=8 * 60)
        self.idle.setMinimum(1)  # the user's file requires at least 1 minute
        self.snooze.setMinimum(5)
        self.daily_at = QLineEdit()
        self.daily_at.setPlaceholderText("e.g. 17:00, or empty for none")
        self.daily_at.setToolTip('Times of day as "HH:MM", separated by commas.')
        self.min_gap = _minutes(r.min_gap_minutes, zero_text="No limit")
        self.max_snoozes = QSpinBox()
        self.max_snoozes.setRange(0, 20)
        self.max_snoozes.setValue(r.max_snoozes)
        form = QFormLayout(tab)
        intro = QLabel(
            "almc-assistant reminds you when files are not backed up: when an acquisition "
            "finishes, when you lock the computer, and at these times. It stays silent "
            "when everything is safe."
        )
        intro.setWordWrap(True)
        form.addRow(intro)
        form.addRow("Remind after being idle for:", self.idle)
        form.addRow("Also remind every:", self.every)
        form.addRow("And each day at:", self.daily_at)
        form.addRow("At most one reminder every:", self.min_gap)
        form.addRow("Snooze for:", self.snooze)
        form.addRow("Snoozes allowed in a row:", self.max_snoozes)
        self.start_at_login = QCheckBox("&Start almc-assistant when I log in")
        self.start_at_login_note = QLabel()
        self.start_at_login_note.setWordWrap(True)
        self.start_at_login_note.setEnabled(False)
        form.addRow(self.start_at_login)
        form.addRow(self.start_at_login_note)
        return tab

    def _facility_tab(self) -> QWidget:
        tab = QWidget()
        c = self._config
        policy = c.policy
        retention = c.retention
        rows = [
            ("Facility", c.facility_name or "Not configured"),
            ("Contact", c.contact or "—"),
            (
                "Safe means",
                f"{policy.backed_up_copies} verified copy on backed-up institutional storage, "
                f"or {policy.independent_copies} on independent destinations",
            ),
            (
                "Cleanup",
                f"files older than {retention.max_age_days:g} days, or any time the disk is "
                f"{retention.disk_full_percent:g}% full; warnings {retention.warn_days:g} "
                "days before",
            ),
            ("Acquisition folders", "\n".join(str(f) for f in c.watch.folders) or "—"),
            ("Start at login", _START_AT_LOGIN_POLICY.get(c.start_at_login, c.start_at_login)),
            (
                "Destinations offered",
                "\n".join(f"{d.name}: {d.path}" for d in c.facility_destinations) or "—",
            ),
        ]
        form = QFormLayout(tab)
        note = QLabel("Set by the facility; shown here for reference.")
        note.setEnabled(False)
        form.addRow(note)
        for label, value in rows:
            text = QLabel(html.escape(value).replace("\n", "<br>"))
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{label}:", text)
        for problem in c.problems:
            warn = QLabel(f"⚠ {html.escape(str(problem))}")
            warn.setWordWrap(True)
            form.addRow(warn)
        return tab

    # ------------------------------------------------------------------ data
    def reload(self) -> None:
        """Show the settings in force now (what was saved last)."""
        self._config = config = self._current()
        try:
            destinations = list(self._service.destinations())
        except AlmcError as err:
            destinations = []
            self._tell(err)
        self.destinations.set_destinations(destinations)
        self.folders.clear()
        for folder in config.watch.folders:  # the facility's: shown, not editable here
            item = QListWidgetItem(f"{folder}  (set by the facility)")
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            self.folders.addItem(item)
        for folder in config.user.folders if config.allow_user_folders else ():
            self.folders.addItem(str(folder))
        r = config.user.reminders
        self.idle.setValue(r.idle_minutes)
        self.every.setValue(r.every_minutes)
        self.snooze.setValue(r.snooze_minutes)
        self.daily_at.setText(", ".join(r.daily_at))
        self.min_gap.setValue(r.min_gap_minutes)
        self.max_snoozes.setValue(r.max_snoozes)
        self._load_start_at_login()

    def start_folder(self) -> str:
        """Where folder pickers open: where the user's data is (the first acquisition
        folder), else the home folder; never the process's working folder."""
        folders = self._user_folders() or self._config.acquisition_folders
        return str(folders[0]) if folders else str(Path.home())

    def _user_folders(self) -> tuple[Path, ...]:
        items = [self.folders.item(i) for i in range(self.folders.count())]
        return tuple(
            Path(item.text()) for item in items if item.flags() & Qt.ItemFlag.ItemIsSelectable
        )

    def _load_start_at_login(self) -> None:
        box, note = self.start_at_login, self.start_at_login_note
        try:
            status = self._autostart.status()
        except AlmcError as err:
            self._autostart_shown = None
            box.setEnabled(False)
            note.setText(f"{err.detail} {err.next_step}")
            return
        self._autostart_shown = status.enabled
        box.setEnabled(not status.decided_by_facility)
        if status.decided_by_facility:  # the facility's choice, applied at every start
            forced_on = status.policy is AutostartPolicy.ALWAYS
            box.setChecked(forced_on)
            note.setText(_FACILITY_START_AT_LOGIN[forced_on])
            return
        box.setChecked(status.enabled)
        if not status.enabled and not self._autostart.installed:
            note.setText(
                "This copy runs from a source checkout, so it starts at login only if you "
                "check this box."
            )
        elif status.enabled:
            note.setText("Reminders before you log out need almc-assistant running.")
        else:
            note.setText(
                "Without it, almc-assistant cannot remind you at logout unless you "
                "start it yourself."
            )

    def _on_add_folder_clicked(self) -> None:
        folder = self._prompter.choose_folder("Choose an acquisition folder", self.start_folder())
        if folder and not self.folders.findItems(folder, Qt.MatchFlag.MatchExactly):
            self.folders.addItem(folder)

    def _on_remove_folder_clicked(self) -> None:
        for item in self.folders.selectedItems():
            self.folders.takeItem(self.folders.row(item))

    def user_settings(self) -> UserSettings:
        """What the window shows, as the user's settings; raises :class:`ConfigError`
        naming a reminder time that is not a time of day."""
        folders = self._config.user.folders
        if self._config.allow_user_folders:
            folders = self._user_folders()
        times = tuple(t.strip() for t in self.daily_at.text().replace(";", ",").split(","))
        return UserSettings(
            destinations=self.destinations.user_destinations(),
            remotes=self.destinations.user_remotes(),
            reminders=replace(
                self._config.user.reminders,
                idle_minutes=self.idle.value(),
                every_minutes=self.every.value(),
                snooze_minutes=self.snooze.value(),
                daily_at=tuple(t for t in times if t),
                min_gap_minutes=self.min_gap.value(),
                max_snoozes=self.max_snoozes.value(),
            ),
            folders=folders,
        )

    def save(self) -> None:
        try:
            self._service.save_user_config(self.user_settings())
        except AlmcError as err:
            self._tell(err)
            return
        self._saving = True
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(False)

    def on_settings_applied(self) -> None:
        """``SettingsApplied``: ours are in force (start at login follows, then the window
        closes), or another window's (shown, so that Save keeps them)."""
        if not self._saving:
            if self.isVisible():
                self.reload()
            return
        self._saving = False
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(True)
        try:
            self._save_start_at_login()
        except AlmcError as err:
            self._tell(err)
            return
        self.close()

    def on_settings_not_saved(self) -> None:
        """``SettingsNotSaved``: the window stays with the edits (its owner tells why)."""
        self._saving = False
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(True)

    def _save_start_at_login(self) -> None:
        wanted = self.start_at_login.isChecked()
        if self._autostart_shown is None or wanted == self._autostart_shown:
            return  # unchanged (or unknown): leave the OS's entry alone
        self._autostart.set_enabled(wanted)
        self._autostart_shown = wanted

    def _tell(self, err: AlmcError) -> None:
        self._prompter.tell(Message(err.title, err.detail, err.next_step, Level.ERROR))

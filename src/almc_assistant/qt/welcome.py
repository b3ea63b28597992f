"""The welcome window: what almc-assistant does, then choose folders and destinations.

Thread contract: GUI thread only. Shown non-modally on the first start without
acquisition folders (and from the tray's "Set up…"). "Test" asks the service to test
every folder and destination (``service.test_locations``: reachable, readable or
writable, free space, file system) in its worker; its ``LocationsChecked`` event comes
back through the pump. "Save" hands the user's
settings to ``service.save_user_config`` and the window stays, Save disabled, until
``SettingsApplied`` says they are in force (then it closes) or ``SettingsNotSaved`` says
why not (the engine in its own process answers by event; the settings window's owner
tells the user). Where the facility chooses the folders and has not, the window says
so, with the facility file's exact path and what to put in it.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from almc_assistant.core.config import Config
from almc_assistant.core.destinations import KIND_INFO, Destination, DestinationKind
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.location_check import LocationCheck
from almc_assistant.core.service_events import LocationsChecked, SettingsApplied, SettingsNotSaved
from almc_assistant.core.setup_state import SetupNeeded
from almc_assistant.qt import icons
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.keys import close_on_escape
from almc_assistant.qt.prompts import Level, Message, Prompter
from almc_assistant.qt.service_port import ServicePort

INTRO = (
    "almc-assistant watches the folders your microscope saves to, checks each finished "
    "file, and copies it to the backup destinations you choose, reading every copy back "
    "to verify it. It reminds you before you log out with data that has no verified "
    "backup, and warns before the facility's cleanup could delete it."
)
CHOOSE_KIND = "Choose the kind of storage…"
KIND_FIRST = (
    "First choose the kind of storage (it decides whether one copy there makes your "
    "data safe), then its folder."
)


def facility_html(setup: SetupNeeded) -> str:
    """Where the facility decides and has not: the file and what to put in it."""
    return (
        f"<p>{html.escape(setup.detail)}</p><p>{html.escape(setup.next_step)}</p>"
        f"<pre>{html.escape(setup.facility_example)}</pre>"
    )


class WelcomeWindow(QWidget):
    """Choose acquisition folders and destinations (with their kinds), test, save."""

    saved = Signal()

    def __init__(
        self,
        service: ServicePort,
        prompter: Prompter,
        pump: EventPump,
        config: Callable[[], Config],
        setup: Callable[[], SetupNeeded | None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._prompter = prompter
        self._pump = pump
        self._config = config
        self._setup = setup
        self._request = 0
        self._saving = False  # saved, not yet in force (SettingsApplied closes the window)
        pump.subscribe(LocationsChecked, self._on_locations_checked)
        pump.subscribe(SettingsApplied, self._on_settings_applied)
        pump.subscribe(SettingsNotSaved, self._on_settings_not_saved)
        self.setWindowTitle("Welcome to almc-assistant")
        self.setWindowIcon(icons.app_icon())

        title = QLabel("<h2>Welcome to almc-assistant</h2>")
        intro = QLabel(INTRO)
        intro.setWordWrap(True)

        self.folders_box = QGroupBox("1. Acquisition folders: where your microscope saves")
        self.folders = QListWidget()
        self.folders.setMaximumHeight(90)
        self.add_folder_button = QPushButton("Add &folder…")
        self.add_folder_button.clicked.connect(self._on_add_folder_clicked)
        self.remove_folder_button = QPushButton("Remo&ve folder")
        self.remove_folder_button.clicked.connect(self._on_remove_folder_clicked)
        self.folders.itemSelectionChanged.connect(self._update_remove_buttons)
        self.facility_note = QLabel()
        self.facility_note.setWordWrap(True)
        self.facility_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.add_folder_button)
        row.addWidget(self.remove_folder_button)
        row.addStretch(1)
        box = QVBoxLayout(self.folders_box)
        box.addWidget(self.facility_note)
        box.addWidget(self.folders)
        box.addLayout(row)

        self.dest_box = QGroupBox("2. Backup destinations: where verified copies go")
        self.destinations = QListWidget()
        self.destinations.setMaximumHeight(90)
        self.kind = QComboBox()
        self.kind.setPlaceholderText(CHOOSE_KIND)
        for kind in DestinationKind:
            self.kind.addItem(KIND_INFO[kind].label, kind)
        self.kind.setCurrentIndex(-1)  # no default: the kind decides what counts as safe
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self.kind_help = QLabel(KIND_FIRST)
        self.kind_help.setWordWrap(True)
        self.add_dest_button = QPushButton("Add &destination…")
        self.add_dest_button.setEnabled(False)
        self.add_dest_button.clicked.connect(self._on_add_destination_clicked)
        self.remove_dest_button = QPushButton("Remove d&estination")
        self.remove_dest_button.clicked.connect(self._on_remove_destination_clicked)
        self.destinations.itemSelectionChanged.connect(self._update_remove_buttons)
        row = QHBoxLayout()
        row.addWidget(self.kind, 1)
        row.addWidget(self.add_dest_button)
        row.addWidget(self.remove_dest_button)
        box = QVBoxLayout(self.dest_box)
        box.addWidget(self.destinations)
        box.addLayout(row)
        box.addWidget(self.kind_help)

        self.result = QLabel("3. Test them, then save.")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        self.test_button = self.buttons.addButton("&Test", QDialogButtonBox.ButtonRole.ActionRole)
        self.test_button.clicked.connect(self.run_tests)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.close)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addWidget(self.folders_box)
        layout.addWidget(self.dest_box)
        layout.addWidget(self.result)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        close_on_escape(self)
        self.resize(680, 620)
        self.reload()

    # ------------------------------------------------------------------ data
    def reload(self) -> None:
        """Show what is saved now (the live configuration, not the one at start-up)."""
        config = self._config()
        setup = self._setup()
        allowed = config.allow_user_folders
        self.folders.clear()
        for folder in config.watch.folders:
            self._add_item(self.folders, str(folder), str(folder), editable=False)
        for folder in config.user.folders if allowed else ():
            self._add_item(self.folders, str(folder), str(folder))
        self.add_folder_button.setVisible(allowed)
        self.remove_folder_button.setVisible(allowed)
        self.folders.setVisible(allowed or self.folders.count() > 0)
        if setup is not None and not setup.user_can_choose:
            self.facility_note.setText(facility_html(setup))
        elif not allowed:
            self.facility_note.setText("Your facility sets the acquisition folders.")
        else:
            self.facility_note.setText("Add each folder your acquisitions are saved to.")
        self.destinations.clear()
        for d in config.destinations:
            self._add_dest(d, editable=d.origin != "facility")
        self._update_remove_buttons()

    def _update_remove_buttons(self) -> None:
        """A Remove button is enabled only while something it can remove is selected
        (the facility's entries cannot be selected)."""
        self.remove_folder_button.setEnabled(bool(self.folders.selectedItems()))
        self.remove_dest_button.setEnabled(bool(self.destinations.selectedItems()))

    def _add_item(
        self, view: QListWidget, text: str, data: object, *, editable: bool = True
    ) -> QListWidgetItem:
        item = QListWidgetItem(text if editable else f"{text}  (set by the facility)")
        item.setData(Qt.ItemDataRole.UserRole, data)
        if not editable:
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)
        view.addItem(item)
        return item

    def _add_dest(self, d: Destination, *, editable: bool = True) -> None:
        self._add_item(
            self.destinations, f"{d.name}: {d.path} ({d.info.label})", d, editable=editable
        )

    def chosen_folders(self) -> tuple[Path, ...]:
        return tuple(
            Path(self.folders.item(i).data(Qt.ItemDataRole.UserRole))
            for i in range(self.folders.count())
            if self.folders.item(i).flags() & Qt.ItemFlag.ItemIsSelectable
        )

    def chosen_destinations(self) -> tuple[Destination, ...]:
        """The user's own destinations (the facility's are not saved in the user's file)."""
        items = [self.destinations.item(i) for i in range(self.destinations.count())]
        return tuple(
            item.data(Qt.ItemDataRole.UserRole)
            for item in items
            if item.flags() & Qt.ItemFlag.ItemIsSelectable
        )

    def _start_folder(self) -> str:
        """Pickers open where the user's data is: the first acquisition folder, else home."""
        folders = self.chosen_folders() or self._config().acquisition_folders
        return str(folders[0]) if folders else str(Path.home())

    # ------------------------------------------------------------------ actions
    def _on_add_folder_clicked(self) -> None:
        folder = self._prompter.choose_folder("Choose an acquisition folder", self._start_folder())
        if folder and not self.folders.findItems(folder, Qt.MatchFlag.MatchExactly):
            self._add_item(self.folders, folder, folder)

    def _on_remove_folder_clicked(self) -> None:
        for item in self.folders.selectedItems():
            self.folders.takeItem(self.folders.row(item))

    def _on_kind_changed(self, *_args: object) -> None:
        kind = self.chosen_kind()
        self.add_dest_button.setEnabled(kind is not None)
        self.kind_help.setText(KIND_INFO[kind].guidance if kind is not None else KIND_FIRST)

    def chosen_kind(self) -> DestinationKind | None:
        data = self.kind.currentData()
        return None if data is None else DestinationKind(data)

    def _on_add_destination_clicked(self) -> None:
        kind = self.chosen_kind()
        if kind is None:
            return
        folder = self._prompter.choose_folder("Choose the destination folder", self._start_folder())
        if not folder:
            return
        path = Path(folder)
        d = Destination(name=path.name or folder, path=path, kind=kind)
        if any(existing.path == path for existing in self._all_destinations()):
            self.result.setText(f"{html.escape(folder)} is a destination already.")
            return
        self._add_dest(d)
        self.kind.setCurrentIndex(-1)

    def _all_destinations(self) -> list[Destination]:
        return [
            self.destinations.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.destinations.count())
        ]

    def _on_remove_destination_clicked(self) -> None:
        for item in self.destinations.selectedItems():
            self.destinations.takeItem(self.destinations.row(item))

    def run_tests(self) -> int:
        """Test every folder and destination in a worker; results arrive by the pump."""
        folders = [
            Path(self.folders.item(i).data(Qt.ItemDataRole.UserRole))
            for i in range(self.folders.count())
        ]
        self.result.setText("Testing…")
        self._request = self._service.test_locations(folders, self._all_destinations())
        return self._request

    def _on_locations_checked(self, event: LocationsChecked) -> None:
        if event.request_id != self._request:
            return
        if event.error_title:  # the test could not run (the engine refused or is gone)
            lines = (event.error_title, event.error_detail, event.error_next_step)
            self.result.setText("<br>".join(html.escape(line) for line in lines if line))
            return
        self.result.setText(results_html(event.results))

    def save(self) -> None:
        config = self._config()
        settings = replace(
            config.user,
            folders=self.chosen_folders() if config.allow_user_folders else config.user.folders,
            destinations=self.chosen_destinations(),
        )
        try:
            self._service.save_user_config(settings)
        except AlmcError as err:
            self._prompter.tell(Message(err.title, err.detail, err.next_step, Level.ERROR))
            return
        self._saving = True
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(False)

    def _on_settings_applied(self, _event: SettingsApplied) -> None:
        if self._saving:
            self._saving = False
            self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(True)
            self.saved.emit()
            self.close()

    def _on_settings_not_saved(self, _event: SettingsNotSaved) -> None:
        if self._saving:  # the window stays with the choices; the owner tells why
            self._saving = False
            self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(True)


def results_html(results: Sequence[LocationCheck]) -> str:
    """Each test in a line (✓ or ✗), its notes below it."""
    if not results:
        return "Nothing to test yet: add a folder or a destination."
    items = []
    for r in results:
        mark = "✓" if r.ok else "✗"
        notes = "".join(f"<br>&nbsp;&nbsp;{html.escape(n)}" for n in r.notes)
        items.append(f"<li>{mark} {r.role}: {html.escape(r.summary())}{notes}</li>")
    return f"<ul style='margin-left:-20px'>{''.join(items)}</ul>"

"""Settings tab "Destinations": the facility's presets (read-only) and the user's own.

Thread contract: GUI thread only. Adding, removing and changing the kind edit the tab's
list of user destinations; the dialog saves them with the rest of the user settings.
"Test" asks the service for a preflight (``preflight`` returns at once; its
``PreflightFinished`` event arrives through :meth:`DestinationsTab.on_preflight_finished`);
for a remote destination it asks ``test_remote`` (``RemoteTested`` arrives through
:meth:`DestinationsTab.on_remote_event`); an SFTP server whose key is not confirmed
(a remote set up before keys were checked) or has changed answers with the key, and
"Trust this key" asks ``trust_host_key`` with its fingerprint. "Add remote…" opens
:class:`~almc_assistant.qt.settings_remote.RemoteDialog`; remote destinations are saved
as ``remotes`` of the user's settings, by ``name:folder`` only.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from almc_assistant.core.destinations import KIND_INFO, Destination, DestinationKind, guess_kind
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.preflight import PreflightResult
from almc_assistant.core.service_events import PreflightFinished
from almc_assistant.core.service_remotes import HostKeyCheck, RemoteTested, SignInOpened
from almc_assistant.qt.host_key_prompt import confirm_changed, host_key_html, trust_label
from almc_assistant.qt.prompts import Prompter
from almc_assistant.qt.service_port import ServicePort
from almc_assistant.qt.settings_remote import RemoteDialog
from almc_assistant.qt.table_model import Column, SnapshotTableModel
from almc_assistant.qt.table_view import make_table
from almc_assistant.qt.wizard.destinations_page import preflight_html

CHOOSE_KIND = "Choose the kind of storage…"

DEST_COLUMNS: tuple[Column[Destination], ...] = (
    Column("Name", lambda d: d.name, tooltip=lambda d: d.guidance),
    Column("Kind", lambda d: d.info.label, tooltip=lambda d: d.guidance),
    Column("From", lambda d: "Facility" if d.origin == "facility" else "You"),
    Column("Folder", lambda d: d.where, tooltip=lambda d: d.where),
)


class DestinationsTab(QWidget):
    changed = Signal()

    def __init__(
        self,
        service: ServicePort,
        prompter: Prompter,
        parent: QWidget | None = None,
        *,
        start_folder: Callable[[], str] = lambda: str(Path.home()),
    ) -> None:
        super().__init__(parent)
        self.start_folder = start_folder  # where the folder picker opens
        self._service = service
        self._prompter = prompter
        self._requests: set[int] = set()
        self.model: SnapshotTableModel[Destination] = SnapshotTableModel(
            DEST_COLUMNS, key=lambda d: d.where, parent=self
        )
        self.view = make_table(
            self.model,
            sort=False,
            fit={0: "Lab share (PetaStore)", 1: "Institutional network storage", 2: "Facility"},
        )
        self.view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. Lab share")
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("a folder on the storage")
        browse = QPushButton("&Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.kind = QComboBox()
        self.kind.setPlaceholderText(CHOOSE_KIND)
        for kind in DestinationKind:
            self.kind.addItem(KIND_INFO[kind].label, kind)
        self.kind.setCurrentIndex(-1)  # no default: the kind decides what counts as safe
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self.guidance = QLabel()
        self.guidance.setWordWrap(True)
        self.add_button = QPushButton("&Add")
        self.add_button.clicked.connect(self._on_add_clicked)
        self.remove_button = QPushButton("&Remove")
        self.remove_button.clicked.connect(self._on_remove_clicked)
        self.remote_button = QPushButton("Add re&mote…")
        self.remote_button.clicked.connect(self._on_remote_clicked)
        self.remote_dialog: RemoteDialog | None = None
        self.test_button = QPushButton("&Test")
        self.test_button.clicked.connect(self._on_test_clicked)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.trust_button = QPushButton("Trust this key and c&onnect")
        self.trust_button.setVisible(False)
        self.trust_button.clicked.connect(self._on_trust_clicked)
        self._key: HostKeyCheck | None = None
        form = QFormLayout()
        form.addRow("Name:", self.name)
        form.addRow("Folder:", folder_row)
        form.addRow("Kind:", self.kind)
        form.addRow("", self.guidance)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.test_button)
        buttons.addWidget(self.remote_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        layout.addLayout(form)
        layout.addWidget(self.result)
        trust_row = QHBoxLayout()
        trust_row.addWidget(self.trust_button)
        trust_row.addStretch(1)
        layout.addLayout(trust_row)
        self._on_kind_changed()
        self._on_selection_changed()

    def set_destinations(self, destinations: Sequence[Destination]) -> None:
        self.model.replace_all(destinations)
        self.result.clear()  # "… will be saved when you press Save" is no longer true
        self._on_selection_changed()

    def user_destinations(self) -> tuple[Destination, ...]:
        """The user's own folders (remote destinations: :meth:`user_remotes`)."""
        return tuple(d for d in self.model.rows() if d.origin != "facility" and not d.remote)

    def user_remotes(self) -> tuple[Destination, ...]:
        return tuple(d for d in self.model.rows() if d.origin != "facility" and d.remote)

    def _selected(self) -> Destination | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.rows()[rows[0].row()] if rows else None

    def _on_selection_changed(self, *_args: object) -> None:
        d = self._selected()
        self.remove_button.setEnabled(d is not None and d.origin != "facility")
        self.test_button.setEnabled(d is not None)
        if d is not None and d.origin != "facility" and not d.remote:
            self.name.setText(d.name)
            self.folder.setText(str(d.path))
            self.kind.setCurrentIndex(self.kind.findData(d.kind))
            self.add_button.setText("&Update")
        else:
            self.add_button.setText("&Add")

    def chosen_kind(self) -> DestinationKind | None:
        """The kind chosen (the combo box hands back the enum's text), or ``None``."""
        data = self.kind.currentData()
        return None if data is None else DestinationKind(data)

    def _on_kind_changed(self, *_args: object) -> None:
        kind = self.chosen_kind()
        self.guidance.setText(
            KIND_INFO[kind].guidance
            if kind is not None
            else "Choose the kind of storage: it decides whether one copy there makes "
            "your data safe."
        )

    def _on_browse_clicked(self) -> None:
        start = self.folder.text() or self.start_folder()
        folder = self._prompter.choose_folder("Choose the destination folder", start)
        if folder:
            self.folder.setText(folder)
            if not self.name.text():
                self.name.setText(Path(folder).name)
            guess = guess_kind(Path(folder))
            if guess is not DestinationKind.OTHER:  # a sync client's folder is recognised
                self.kind.setCurrentIndex(self.kind.findData(guess))

    def _on_add_clicked(self) -> None:
        folder = self.folder.text().strip()
        if not folder:
            self.result.setText("Choose a folder first.")
            return
        path = Path(folder)
        if not path.is_absolute():
            self.result.setText("Give the full path of the folder (for example D:\\Backup).")
            return
        kind = self.chosen_kind()
        if kind is None:
            self.result.setText(
                "Choose the kind of storage first: it decides whether one copy there "
                "makes your data safe."
            )
            return
        d = Destination(name=self.name.text().strip() or path.name or folder, path=path, kind=kind)
        existing = self.model.row_of(str(path))
        if existing is not None and existing.origin == "facility":
            self.result.setText("The facility already offers this folder.")
            return
        self.model.upsert([d if existing is None else replace(existing, name=d.name, kind=d.kind)])
        self.result.setText(f"{d.name} will be saved when you press Save.")
        self.changed.emit()

    def _on_remove_clicked(self) -> None:
        d = self._selected()
        if d is not None and d.origin != "facility":
            self.model.remove([d.where])
            self.changed.emit()

    def _on_test_clicked(self) -> None:
        d = self._selected()
        if d is None:
            return
        self.result.setText(f"Testing {d.name}…")
        self._show_key(None)
        try:
            if d.remote:
                self._requests.add(self._service.test_remote(d.remote))
                return
            self._requests.add(self._service.preflight([], [d]))
        except AlmcError as err:
            self.result.setText(f"<b>{err.title}</b>: {err.detail}")

    def on_preflight_finished(self, event: PreflightFinished) -> None:
        if event.request_id in self._requests:
            self._requests.discard(event.request_id)
            if event.error_title:  # the test could not run
                self.result.setText(
                    f"✖ <b>{html.escape(event.error_title)}</b>: "
                    f"{html.escape(event.error_detail)} "
                    f"<i>{html.escape(event.error_next_step)}</i>"
                )
                return
            self.on_preflight(event.results)

    def _on_remote_clicked(self) -> None:
        taken = frozenset(d.remote.partition(":")[0] for d in self.model.rows() if d.remote)
        dialog = RemoteDialog(self._service, self._prompter, self, taken=taken)
        dialog.accepted_destination.connect(self._on_remote_accepted)
        dialog.finished.connect(lambda _code: setattr(self, "remote_dialog", None))
        self.remote_dialog = dialog
        dialog.open()

    def _on_remote_accepted(self, d: Destination) -> None:
        self.model.upsert([d])
        self.result.setText(f"{d.name} ({d.remote}) will be saved when you press Save.")
        self.changed.emit()

    def on_remote_event(self, event: RemoteTested | SignInOpened) -> None:
        """``RemoteTested`` / ``SignInOpened`` from the pump: the dialog's, or a Test's."""
        if self.remote_dialog is not None:
            if isinstance(event, SignInOpened):
                self.remote_dialog.on_sign_in_opened(event)
            else:
                self.remote_dialog.on_tested(event)
        if isinstance(event, RemoteTested) and event.request_id in self._requests:
            self._requests.discard(event.request_id)
            r = event.result
            if r.host_key is not None and not r.ok:
                self.result.setText(host_key_html(r))
                self._show_key(r.host_key)
                return
            mark = "✔" if r.ok else "✖"
            self.result.setText(
                f"{mark} <b>{html.escape(r.title)}</b>: {html.escape(r.detail)} "
                f"{html.escape(r.proof)} <i>{html.escape(r.next_step if not r.ok else '')}</i>"
            )

    def _show_key(self, key: HostKeyCheck | None) -> None:
        self._key = key
        if key is not None:
            self.trust_button.setText(trust_label(key))
        self.trust_button.setVisible(key is not None)

    def _on_trust_clicked(self) -> None:
        key = self._key
        if key is None or not confirm_changed(self._prompter, key):
            return
        self._show_key(None)
        self.result.setText(f"Trusting the key of {html.escape(key.address)} and testing…")
        try:
            self._requests.add(self._service.trust_host_key(key.destination, key.fingerprint))
        except AlmcError as err:
            self.result.setText(f"<b>{err.title}</b>: {err.detail}")

    def on_preflight(self, results: Sequence[PreflightResult]) -> None:
        known = {str(d.path) for d in self.model.rows()}
        mine = [r for r in results if str(r.destination.path) in known]
        if mine:
            self.result.setText(preflight_html(mine))

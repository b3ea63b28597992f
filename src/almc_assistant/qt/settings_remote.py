"""Settings: add a remote destination (SFTP, SMB, S3, WebDAV, Google Drive, OneDrive).

Thread contract: GUI thread only. "Test connection" hands a plain
:class:`~almc_assistant.core.service_remotes.RemoteSetup` to the service
(``set_up_remote``), which saves it in the user's private rclone settings and tests it in
a worker; the answer arrives as ``RemoteTested`` through :meth:`RemoteDialog.on_tested`.
Google Drive and OneDrive sign in instead (``sign_in``): ``SignInOpened`` gives the page
this window opens in the browser (:meth:`RemoteDialog.on_sign_in_opened`).

An SFTP server's key comes back first as a question (``RemoteTested`` whose result has
``host_key``): its type and fingerprint are shown with what to compare them with, and
"Trust this key and connect" asks the service again with that fingerprint (a key that
changed asks once more, :mod:`~almc_assistant.qt.host_key_prompt`). Nothing is saved
before the person trusts the key.

The password field's text is handed to the service once and cleared from the field after
the answer; our TOML only ever gets ``name:folder`` (the destination ``accepted`` emits).
"""

from __future__ import annotations

import html
from dataclasses import replace
from pathlib import PurePosixPath

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from almc_assistant.core.destinations import KIND_INFO, Destination, DestinationKind
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.service_remotes import (
    ACCOUNT_ADVICE,
    BACKEND_LABELS,
    GUIDANCE,
    NO_PROOF,
    SIGN_IN_BACKENDS,
    HostKeyCheck,
    RemoteSetup,
    RemoteTested,
    SignInOpened,
)
from almc_assistant.qt.host_key_prompt import confirm_changed, host_key_html, trust_label
from almc_assistant.qt.prompts import Prompter
from almc_assistant.qt.service_port import ServicePort

# The storage kind each connection usually is (the person can change it).
DEFAULT_KIND = {
    "sftp": DestinationKind.RESEARCH,
    "smb": DestinationKind.OTHER,
    "s3": DestinationKind.OTHER,
    "webdav": DestinationKind.OTHER,
    "drive": DestinationKind.OTHER,
    "onedrive": DestinationKind.OTHER,
}
# Which fields each connection asks for.
FIELDS = {
    "sftp": ("host", "port", "user", "secret", "key_file"),
    "smb": ("host", "port", "user", "secret"),
    "s3": ("url", "access_key", "secret"),
    "webdav": ("url", "user", "secret"),
    "drive": ("managed",),
    "onedrive": ("managed",),
}
SECRETS_NOTE = (
    "Passwords and keys go to your own rclone settings (encrypted when this computer has "
    "a keyring), never to almc-assistant's settings file or its log."
)


class RemoteDialog(QDialog):
    """Emits ``accepted_destination`` with the :class:`Destination` to add."""

    accepted_destination = Signal(object)

    def __init__(
        self,
        service: ServicePort,
        prompter: Prompter,
        parent: QWidget | None = None,
        *,
        taken: frozenset[str] = frozenset(),
    ) -> None:
        """``taken``: the remote names other destinations use already (setting one up
        again would point those destinations at another place)."""
        super().__init__(parent)
        self.setWindowTitle("Add a remote destination")
        self._taken = taken
        self._service = service
        self._prompter = prompter
        self._request = 0
        self._tested: RemoteSetup | None = None
        self._pending: RemoteSetup | None = None
        self._key: HostKeyCheck | None = None  # a server key waiting for the person
        self._signing_in = 0  # a sign-in's request id while the browser has it
        self.open_url = QDesktopServices.openUrl  # test seam: no browser in tests
        self.backend = QComboBox()
        for backend, label in BACKEND_LABELS.items():
            self.backend.addItem(label, backend)
        self.name = QLineEdit()
        self.name.setPlaceholderText("a short name, e.g. research")
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("the folder there, e.g. lab/me")
        self.host = QLineEdit()
        self.host.setPlaceholderText("server name, e.g. login.rc.example.edu")
        self.port = QLineEdit()
        self.port.setPlaceholderText("default")
        self.user = QLineEdit()
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_file = QLineEdit()
        self.key_file.setPlaceholderText("or a private key file, e.g. ~/.ssh/id_ed25519")
        self.browse_key = QPushButton("B&rowse…")
        self.browse_key.clicked.connect(self._on_browse_key_clicked)
        key_row = QWidget()
        key_layout = QHBoxLayout(key_row)
        key_layout.setContentsMargins(0, 0, 0, 0)
        key_layout.addWidget(self.key_file, 1)
        key_layout.addWidget(self.browse_key)
        self.url = QLineEdit()
        self.access_key = QLineEdit()
        self.kind = QComboBox()
        for kind in DestinationKind:
            if kind is DestinationKind.CLOUD_SYNC:  # a sync client's folder, not a remote
                continue
            label = "Other storage" if kind is DestinationKind.OTHER else KIND_INFO[kind].label
            self.kind.addItem(label, kind)
        self.managed = QCheckBox("A &university-managed account (deleted when you leave)")
        self.guidance = QLabel()
        self.guidance.setWordWrap(True)
        self.secrets_note = QLabel(SECRETS_NOTE)
        self.secrets_note.setWordWrap(True)
        self.answer = QLabel()
        self.answer.setWordWrap(True)
        # It takes the dialog's spare height: its text starts at the top, under the note
        # above it (centred, a short answer floated in a gap).
        self.answer.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.answer.setTextFormat(Qt.TextFormat.RichText)
        self.answer.setTextInteractionFlags(  # the fingerprint can be selected and copied
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.test_button = QPushButton("&Test connection")
        self.test_button.clicked.connect(self._on_test_clicked)
        self.trust_button = QPushButton("Trust this key and c&onnect")
        self.trust_button.setVisible(False)
        self.trust_button.clicked.connect(self._on_trust_clicked)
        self.add_button = QPushButton("A&dd")
        self.add_button.setEnabled(False)
        self.add_button.clicked.connect(self._on_add_clicked)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        self.form = QFormLayout()
        self._rows: dict[str, QWidget] = {}
        self._row("backend", "&Connection:", self.backend)
        self._row("name", "&Name:", self.name)
        self._row("folder", "&Folder:", self.folder)
        self._row("url", "&Address:", self.url)
        self._row("host", "&Server:", self.host)
        self._row("port", "&Port:", self.port)
        self._row("user", "&User:", self.user)
        self._row("access_key", "Access ke&y ID:", self.access_key)
        self._row("secret", "Pass&word:", self.secret)
        self._row("key_file", "&Key file:", key_row, buddy=self.key_file)
        self._row("kind", "Storage k&ind:", self.kind)
        self.form.addRow("", self.managed)
        buttons = QHBoxLayout()
        buttons.addWidget(self.test_button)
        buttons.addWidget(self.trust_button)
        buttons.addStretch(1)
        buttons.addWidget(self.add_button)
        buttons.addWidget(cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.guidance)
        layout.addWidget(self.secrets_note)
        layout.addWidget(self.answer, 1)
        layout.addLayout(buttons)
        self.backend.currentIndexChanged.connect(self._on_backend_changed)
        self.kind.currentIndexChanged.connect(self._show_guidance)
        self.managed.toggled.connect(self._show_guidance)
        for edit in (
            self.name,
            self.folder,
            self.host,
            self.port,
            self.user,
            self.secret,
            self.key_file,
            self.url,
            self.access_key,
        ):
            edit.textEdited.connect(self._on_edited)
        self._on_backend_changed()
        self.resize(620, 560)

    def _row(self, key: str, text: str, field: QWidget, *, buddy: QWidget | None = None) -> None:
        label = QLabel(text)
        label.setBuddy(buddy or field)  # Alt+letter goes to the field; screen readers name it
        self.form.addRow(label, field)
        self._rows[key] = field

    # ------------------------------------------------------------------ what is shown
    def chosen_backend(self) -> str:
        return str(self.backend.currentData())

    def _on_backend_changed(self, *_args: object) -> None:
        backend = self.chosen_backend()
        shown = FIELDS[backend]
        for key in ("host", "port", "user", "secret", "key_file", "url", "access_key"):
            self.form.setRowVisible(self._rows[key], key in shown)
        self.url.setPlaceholderText(
            "https://s3.example.com (empty: Amazon S3)"
            if backend == "s3"
            else "https://dav.example.edu/remote.php/dav/files/me"
        )
        self.managed.setVisible("managed" in shown)
        self.browse_key.setVisible("key_file" in shown)
        label = self.form.labelForField(self.secret)
        if isinstance(label, QLabel):
            label.setText("S&ecret key:" if backend == "s3" else "Pass&word:")
        sign_in = backend in SIGN_IN_BACKENDS
        self.test_button.setText("&Sign in…" if sign_in else "&Test connection")
        self.kind.setCurrentIndex(self.kind.findData(DEFAULT_KIND[backend]))
        self._on_edited()
        self._show_guidance()

    def _show_guidance(self, *_args: object) -> None:
        backend = self.chosen_backend()
        kind = DestinationKind(self.kind.currentData())
        managed = backend in SIGN_IN_BACKENDS and self.managed.isChecked()
        advice = "" if managed else ACCOUNT_ADVICE.get(backend, "")
        parts = [f"{advice} {GUIDANCE[backend]}".strip(), KIND_INFO[kind].guidance, NO_PROOF]
        text = "<br>".join(html.escape(p) for p in parts)
        if managed:
            text = (
                "<b>This account is deleted when you leave the university, and your files "
                f"with it: keep another copy.</b><br>{text}"
            )
        self.guidance.setText(text)

    def _on_edited(self, *_args: object) -> None:
        self._tested = None  # anything changed: test again before adding
        self.add_button.setEnabled(False)
        self._key = None  # a key shown for other fields is not this server's
        self.trust_button.setVisible(False)

    def _on_browse_key_clicked(self) -> None:
        chosen = self._prompter.choose_files("Choose your SSH private key", self.key_file.text())
        if chosen:
            self.key_file.setText(chosen[0])
            self._on_edited()

    # ------------------------------------------------------------------ the service
    def setup(self) -> RemoteSetup:
        return RemoteSetup(
            self.chosen_backend(),
            self.name.text().strip(),
            folder=self.folder.text().strip(),
            host=self.host.text(),
            port=self.port.text(),
            user=self.user.text(),
            key_file=self.key_file.text().strip(),
            url=self.url.text(),
            access_key=self.access_key.text(),
            secret=self.secret.text(),
        )

    def _on_test_clicked(self) -> None:
        setup = self.setup()
        if not setup.name:
            self.answer.setText("Give the destination a short name first (e.g. research).")
            self.name.setFocus()
            return
        if setup.name in self._taken:
            self.answer.setText(
                f"The name {html.escape(setup.name)} is used by another destination already: "
                "choose another name (or remove that destination first to set it up again)."
            )
            self.name.setFocus()
            return
        self._send(setup)

    def _send(self, setup: RemoteSetup) -> None:
        self._tested = None
        self._key = None
        self.add_button.setEnabled(False)
        self.test_button.setEnabled(False)
        self.trust_button.setVisible(False)
        try:
            if setup.backend in SIGN_IN_BACKENDS:
                self.answer.setText(f"Starting the sign-in for {html.escape(setup.spec)}…")
                self._request = self._service.sign_in(setup.backend, setup.name, setup.folder)
                self._signing_in = self._request
            else:
                self.answer.setText(f"Testing {html.escape(setup.spec)}…")
                self._request = self._service.set_up_remote(setup)
        except AlmcError as err:
            self.test_button.setEnabled(True)
            self.answer.setText(f"<b>{html.escape(err.title)}</b>: {html.escape(err.detail)}")
            return
        self._pending = setup

    def on_sign_in_opened(self, event: SignInOpened) -> None:
        if event.request_id != self._request:
            return
        self.answer.setText(
            f"Finish signing in to {html.escape(event.destination)} in your browser. "
            f"If no browser opened, open this page: <a href='{html.escape(event.url)}'>"
            "sign-in page</a>."
        )
        self.answer.setOpenExternalLinks(True)
        self.open_url(QUrl(event.url))

    def done(self, result: int) -> None:
        """Closing the window (Cancel, Esc, Add) ends a sign-in still waiting for the
        browser: its loopback port closes."""
        if self._signing_in:
            self._service.cancel_sign_in(self._signing_in)
            self._signing_in = 0
        super().done(result)

    def on_tested(self, event: RemoteTested) -> None:
        if event.request_id != self._request:
            return
        self._signing_in = 0
        self.test_button.setEnabled(True)
        r = event.result
        where = event.store.words if event.store is not None else ""
        self.secrets_note.setText(where or SECRETS_NOTE)
        if r.host_key is not None and not r.ok and self._pending is not None:
            self._key = r.host_key  # first use or a changed key: the person decides
            self.answer.setText(host_key_html(r))
            self.trust_button.setText(trust_label(r.host_key))
            self.trust_button.setVisible(True)
        elif r.ok:
            self.secret.clear()  # saved in the private rclone settings: not kept here
            self._tested = self._pending
            self.add_button.setEnabled(True)
            self.answer.setText(
                f"✔ <b>{html.escape(r.title)}</b><br>{html.escape(r.detail)}<br>"
                f"{html.escape(r.proof)}<br>{html.escape(r.next_step)}"
            )
        else:
            self.answer.setText(
                f"✖ <b>{html.escape(r.title)}</b><br>{html.escape(r.detail)}<br>"
                f"<i>{html.escape(r.next_step)}</i>"
            )

    def _on_trust_clicked(self) -> None:
        """Ask the service again with the fingerprint shown: it pins the key only if the
        server still shows that very key, then saves and tests the remote."""
        key, setup = self._key, self._pending
        if key is None or setup is None or not confirm_changed(self._prompter, key):
            return
        self._send(replace(setup, host_key=key.fingerprint))

    def _on_add_clicked(self) -> None:
        setup = self._tested
        if setup is None:
            return
        kind = DestinationKind(self.kind.currentData())
        folder = setup.folder or "/"
        managed = setup.backend in SIGN_IN_BACKENDS and self.managed.isChecked()
        self.accepted_destination.emit(
            Destination(
                name=f"{setup.name} ({BACKEND_LABELS[setup.backend]})",
                path=PurePosixPath(folder),
                kind=kind,
                university_managed=managed,
                remote=setup.spec,
            )
        )
        self.accept()

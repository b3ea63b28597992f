"""Wizard page 5, "Receipt": what went where, how it was verified, what is still at risk.

Thread contract: GUI thread only. Saving the receipt goes to the service's worker
(``service.save_text``; ``TextSaved`` or ``TextSaveFailed`` come back through the pump);
printing and choosing a file go through the prompt port.
"""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QTextBrowser, QVBoxLayout, QWizardPage

from almc_assistant.core.service_events import TextSaved, TextSaveFailed
from almc_assistant.qt.prompts import Level, Message, Prompter
from almc_assistant.qt.service_port import ServicePort
from almc_assistant.qt.wizard.receipt import not_safe, receipt_html
from almc_assistant.qt.wizard.state import WizardState


class ReceiptPage(QWizardPage):
    def __init__(
        self,
        service: ServicePort,
        prompter: Prompter,
        state: WizardState,
    ) -> None:
        super().__init__()
        self._service = service
        self._prompter = prompter
        self._state = state
        self.setTitle("Receipt")
        self.setFinalPage(True)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.open_button = QPushButton("&Open backup folder")
        self.open_button.clicked.connect(self._on_open_clicked)
        self.save_button = QPushButton("&Save receipt…")
        self.save_button.clicked.connect(self._on_save_clicked)
        self.print_button = QPushButton("P&rint…")
        self.print_button.clicked.connect(self._on_print_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.print_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addLayout(buttons)

    def html(self) -> str:
        return self.browser.toHtml()

    def initializePage(self) -> None:
        state = self._state
        if not not_safe(state):  # the receipt's own verdict: one truth for "safe"
            words = "Your files are copied and verified, and safe under the facility's policy."
        elif not (state.verified or state.skipped):
            words = "Nothing was backed up: see below why, and what to do."
        else:
            words = "Some of your data is not safe yet: see below."
        self.setSubTitle(words)
        self.browser.setHtml(receipt_html(state))
        self.open_button.setEnabled(bool(state.verified or state.skipped))

    def _on_open_clicked(self) -> None:
        roots = [root for root, *_ in (*self._state.verified, *self._state.skipped)]
        if roots:
            QDesktopServices.openUrl(QUrl.fromLocalFile(roots[0]))

    def _on_save_clicked(self) -> None:
        path = self._prompter.choose_save_file(
            "Save the receipt", "backup-receipt.html", "Web page (*.html);;All files (*)"
        )
        if path:
            self._service.save_text(path, self.html())

    def _on_print_clicked(self) -> None:
        self._prompter.print_html("Backup receipt", self.html())

    def on_text_saved(self, event: TextSaved) -> None:
        self._prompter.tell(Message("Receipt saved", event.path))

    def on_text_save_failed(self, event: TextSaveFailed) -> None:
        self._prompter.tell(Message(event.title, event.detail, event.next_step, Level.ERROR))

"""The session-end wizard ("End session and back up"): five pages on one shared state.

Thread contract: GUI thread only. The wizard is shown non-modally (``show()``), so the
tray and other windows keep working while it copies. Events reach its pages through the
pump (:meth:`SessionWizard.connect_pump`). Finishing tells the service the session
ended (``service.end_session()``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QPushButton, QWidget, QWizard

from almc_assistant.core.destinations import Destination
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.service_events import (
    PreflightFinished,
    TextSaved,
    TextSaveFailed,
    VerdictRecorded,
)
from almc_assistant.core.service_process import EngineStopped
from almc_assistant.core.transfer.events import (
    CopyFailed,
    CopySkipped,
    CopyVerified,
    DestinationRefused,
    JobFinished,
    JobProgressed,
    SourceSkipped,
)
from almc_assistant.core.watch.events import FileStabilised
from almc_assistant.qt import icons
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.prompts import Level, Message, Prompter
from almc_assistant.qt.service_port import ServicePort
from almc_assistant.qt.wizard.copy_page import CopyPage
from almc_assistant.qt.wizard.destinations_page import DestinationsPage
from almc_assistant.qt.wizard.exports_page import ExportsPage
from almc_assistant.qt.wizard.files_page import FilesPage, SessionFilesRead
from almc_assistant.qt.wizard.receipt_page import ReceiptPage
from almc_assistant.qt.wizard.state import WizardState

FILES, EXPORTS, DESTINATIONS, COPY, RECEIPT = range(5)


class SessionWizard(QWizard):
    def __init__(
        self,
        service: ServicePort,
        prompter: Prompter,
        pump: EventPump,
        *,
        make_destination: Callable[[Path], Destination],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._prompter = prompter
        self.state = WizardState()
        self.setWindowTitle("End session and back up")
        self.setWindowIcon(icons.app_icon())
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.files_page = FilesPage(service, self.state, pump.sink)
        self.exports_page = ExportsPage(self.state)
        self.destinations_page = DestinationsPage(service, prompter, self.state, make_destination)
        self.copy_page = CopyPage(service, self.state)
        self.receipt_page = ReceiptPage(service, prompter, self.state)
        for page_id, page in (
            (FILES, self.files_page),
            (EXPORTS, self.exports_page),
            (DESTINATIONS, self.destinations_page),
            (COPY, self.copy_page),
            (RECEIPT, self.receipt_page),
        ):
            self.setPage(page_id, page)
        self.setStartId(FILES)
        self.resize(860, 620)
        self.connect_pump(pump)
        self.currentIdChanged.connect(self._on_current_id_changed)
        self.copy_page.done_copying.connect(self._on_copy_page_done)

    # Keyboard: the Back up now button goes away when the copy starts, and Qt gave the
    # focus to the next button in line, Cancel; Return at the end of the copy then
    # cancelled the wizard (no receipt, session not ended). Focus goes where Return should.
    def _on_current_id_changed(self, page_id: int) -> None:
        if page_id == COPY:
            self._focus(self.copy_page.pause_button, default=False)
            if self.copy_page.isComplete():  # it could not start
                self._on_copy_page_done()
        elif page_id == RECEIPT:
            self._focus(self.button(QWizard.WizardButton.FinishButton))

    def _on_copy_page_done(self) -> None:
        if self.currentId() == COPY:
            # Nothing left to cancel: the way on is the receipt (and Finish ends the
            # session); closing the window still closes it.
            self.setOption(QWizard.WizardOption.NoCancelButton, True)
            self._focus(self.button(QWizard.WizardButton.NextButton))

    @staticmethod
    def _focus(button: QAbstractButton, *, default: bool = True) -> None:
        if button.isEnabled():
            if default and isinstance(button, QPushButton):
                button.setDefault(True)
            button.setFocus(Qt.FocusReason.OtherFocusReason)

    def nextId(self) -> int:
        current = self.currentId()
        if current == FILES:
            return EXPORTS if self.state.to_fix() else DESTINATIONS
        return super().nextId()

    def connect_pump(self, pump: EventPump) -> None:
        copy = self.copy_page
        pump.subscribe(JobProgressed, copy.on_job_progressed)
        pump.subscribe(CopyVerified, copy.on_copy_verified)
        pump.subscribe(CopySkipped, copy.on_copy_skipped)
        pump.subscribe(CopyFailed, copy.on_copy_failed)
        pump.subscribe(DestinationRefused, copy.on_destination_refused)
        pump.subscribe(SourceSkipped, copy.on_source_skipped)
        pump.subscribe(JobFinished, copy.on_job_finished)
        pump.subscribe(EngineStopped, copy.on_engine_stopped)
        pump.subscribe(PreflightFinished, self.destinations_page.on_preflight_finished)
        pump.subscribe(TextSaved, self.receipt_page.on_text_saved)
        pump.subscribe(TextSaveFailed, self.receipt_page.on_text_save_failed)
        pump.subscribe(SessionFilesRead, self.files_page.on_files_read)
        pump.subscribe(FileStabilised, self.files_page.on_file_stabilised)
        pump.subscribe(VerdictRecorded, self.files_page.on_verdict_recorded)
        self._pump = pump

    def disconnect_pump(self) -> None:
        copy = self.copy_page
        for slot in (
            copy.on_job_progressed,
            copy.on_copy_verified,
            copy.on_copy_skipped,
            copy.on_copy_failed,
            copy.on_destination_refused,
            copy.on_source_skipped,
            copy.on_job_finished,
            copy.on_engine_stopped,
            self.destinations_page.on_preflight_finished,
            self.receipt_page.on_text_saved,
            self.receipt_page.on_text_save_failed,
            self.files_page.on_files_read,
            self.files_page.on_file_stabilised,
            self.files_page.on_verdict_recorded,
        ):
            self._pump.unsubscribe(slot)

    def accept(self) -> None:
        try:
            self._service.end_session()
        except AlmcError as err:
            self._prompter.tell(Message(err.title, err.detail, err.next_step, Level.ERROR))
        super().accept()

    def reject(self) -> None:
        job = self.state.job
        if job is not None and self.state.summary is None:
            # Closing the wizard does not stop a copy silently: it keeps running and the
            # tray shows its progress.
            self.hide()
            return
        super().reject()

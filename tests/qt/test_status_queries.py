"""The controller asks the service for its slow queries (``request_status``) and shows the
answers that arrive as events through the pump; it never runs them on the GUI thread.
The service's side (its own thread, merging) is in tests/core/test_service_status_requests.py."""

from __future__ import annotations

import threading
import time

from pytestqt.qtbot import QtBot

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.events import Event, QueueSink
from almc_assistant.core.service_events import StatusQueried
from almc_assistant.core.status import Problem, ProblemKind, StatusReport
from almc_assistant.core.warnings import SafetyWarning
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.controller import AppController
from tests.qt.helpers import (
    FakeJob,
    FakeService,
    Progressed,
    Snapshot,
    status_report,
    today_summary,
    unsafe_file,
)


def test_the_status_window_report_is_read_off_the_gui_thread(qtbot: QtBot, prompter) -> None:
    class Recording(FakeService):
        def __init__(self) -> None:
            super().__init__(pending=today_summary(3, 12_400_000_000))
            self.status_threads: list[str] = []

        def status(self) -> StatusReport:
            self.status_threads.append(threading.current_thread().name)
            offline = Problem(ProblemKind.SETUP, "Setup problem", "Share offline", "Ask staff")
            return status_report(problems=(offline,))

    pump = EventPump(QueueSink(), interval_ms=20)
    service = Recording()
    service.sink = pump.sink
    controller = AppController(service, pump, prompter, tray_available=True)
    controller.start([])
    window = controller.show_status()
    assert window.report.text() == ""  # not read on the GUI thread: it arrives later
    qtbot.waitUntil(lambda: "Share offline" in window.report.text())
    assert service.status_threads and "MainThread" not in service.status_threads
    controller.shutdown()


def test_copy_progress_shows_at_once_and_the_summary_follows(qtbot, prompter) -> None:
    pump = EventPump(QueueSink(), interval_ms=20)
    service = FakeService(today_summary(3, 1_000_000), sink=pump.sink)
    controller = AppController(service, pump, prompter, tray_available=True)
    controller.start([])
    controller._on_copy_started(FakeJob("job-1"))
    controller._on_job_progressed(Progressed(Snapshot("job-1", "running", 50, 100, 1, 2, 1e6, 1.0)))
    service.pending = today_summary(1, 1_000)  # the catalog moved on meanwhile
    controller.refresh_later()
    status = controller.status
    assert status is not None and status.headline == "Copying… 50%"  # at once
    assert status.details[0].startswith("3 files")  # the summary known so far
    qtbot.waitUntil(lambda: controller.status.details[0].startswith("1 file "))  # type: ignore[union-attr]
    assert controller.tray is not None and "Copying… 50%" in controller.tray.native.toolTip()
    controller.shutdown()


def test_the_warnings_window_reads_its_files_off_the_gui_thread(qtbot: QtBot, prompter) -> None:
    soon = time.time() + 3 * 86400
    files = tuple(unsafe_file(f"/acq/cells_{i}.tif", 1000, soon, "x") for i in range(3))

    class AtRisk(FakeService):
        def __init__(self) -> None:
            super().__init__(pending=today_summary(3, 3000))
            self.threads: list[str] = []

        def status(self) -> StatusReport:
            self.threads.append(threading.current_thread().name)
            return status_report(files=files)

        def warnings(self) -> list[SafetyWarning]:
            self.threads.append(threading.current_thread().name)
            return []

    pump = EventPump(QueueSink(), interval_ms=20)
    service = AtRisk()
    service.sink = pump.sink
    controller = AppController(service, pump, prompter, tray_available=True)
    controller.start([])
    window = controller.show_warnings()
    assert len(window.model) == 0  # not read on the GUI thread: it arrives later
    qtbot.waitUntil(lambda: len(window.model) == 3)
    assert "3 files (3.0 kB) not backed up yet" in window.headline()
    assert service.threads and "MainThread" not in service.threads
    controller.shutdown()


def test_a_failed_query_for_the_warnings_window_is_told(qtbot: QtBot, prompter) -> None:
    class Locked(FakeService):
        def status(self) -> StatusReport:
            raise AlmcError("The catalog is locked by another program.", title="Catalog busy")

    pump = EventPump(QueueSink(), interval_ms=20)
    controller = AppController(Locked(sink=pump.sink), pump, prompter, tray_available=True)
    controller.start([])
    controller.show_warnings()
    qtbot.waitUntil(lambda: any(m.title == "Catalog busy" for m in prompter.told))
    controller.shutdown()


def test_an_answer_does_not_ask_the_next_question(qtbot: QtBot, prompter) -> None:
    """Any batch of events schedules a refresh, except a batch of the controller's own
    answers: otherwise every answer would ask a new query, forever, even when idle."""
    service = FakeService(pending=today_summary(3, 12_400_000_000))
    sink = QueueSink()
    pump = EventPump(sink)
    controller = AppController(service, pump, prompter, tray_available=True)
    controller.refresh()
    sink.publish(StatusQueried(summary=today_summary(3, 12_400_000_000)))
    pump.drain()
    assert not controller.presenter.event_refresh.isActive()
    sink.publish(Event())  # anything else is news: refresh soon
    pump.drain()
    assert controller.presenter.event_refresh.isActive()
    controller.shutdown()

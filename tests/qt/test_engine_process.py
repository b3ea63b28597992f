"""The tray app's engine in a child process (``core/service_process.py``, wired by
``qt/app.py``): the windows on it as on the in-process service, and a crash of the engine
said to the user with a restart, the windows staying up."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from almc_assistant.core.catalog import FileState
from almc_assistant.core.catalog.records import FileRecord
from almc_assistant.core.config import Config, WatchSettings
from almc_assistant.core.destinations import Destination, DestinationKind, guess_kind
from almc_assistant.core.events import QueueSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.service import Service
from almc_assistant.core.service_process import EngineProcess, EngineStopped
from almc_assistant.core.transfer.events import CopyVerified, JobFinished
from almc_assistant.qt.app import ENGINE_STOPPED, follow_engine, make_service
from almc_assistant.qt.bridge import EventPump, app_pump
from almc_assistant.qt.controller import AppController
from almc_assistant.qt.controller_copies import CopyTracker
from almc_assistant.qt.notifier import Notifier
from almc_assistant.qt.transfer_jobs import FILE_INTERRUPTED
from almc_assistant.qt.transfer_rows import JobState, RowState
from almc_assistant.qt.transfer_window import TransferWindow
from almc_assistant.qt.wizard.copy_page import CopyPage
from almc_assistant.qt.wizard.receipt import not_safe
from almc_assistant.qt.wizard.state import WizardState
from tests.qt.helpers import RecordingPrompter

WAIT_MS = 120_000  # a spawned interpreter on a busy machine

# The catalog's place taken by a folder: on POSIX the state-file check refuses it; on
# Windows (a folder cannot be opened as a file there) sqlite's open fails first.
REFUSED_CATALOG_TITLE = "Catalog problem" if sys.platform == "win32" else "State file refused"


def test_a_crashed_engine_is_said_and_restarted_with_the_windows_up(
    qtbot: QtBot, prompter: RecordingPrompter, tmp_path: Path
) -> None:
    acq, drive = tmp_path / "acq", tmp_path / "drive"
    acq.mkdir()
    drive.mkdir()
    config = Config(
        facility_destinations=(
            Destination("Drive", drive, DestinationKind.EXTERNAL_DRIVE, "facility"),
        ),
        watch=WatchSettings(folders=(acq,), quiet_seconds=1),
    )
    sink = QueueSink()
    engine = EngineProcess(AppPaths.under(tmp_path / "home").ensure(), sink, config=config)
    pump = app_pump(sink)
    controller = AppController(engine, pump, prompter, tray_available=True)
    follow_engine(engine, pump, prompter, controller.start_watching_again)
    prompter.answers[ENGINE_STOPPED] = "restart"
    controller.start([])
    try:
        transfer = controller.show_transfer()
        first = engine.pid
        engine._child.kill()  # as a crash in a native library would end it
        qtbot.waitUntil(lambda: bool(prompter.asked), timeout=WAIT_MS)
        (question,) = prompter.asked
        assert question.key == ENGINE_STOPPED and "ended unexpectedly" in question.text
        qtbot.waitUntil(lambda: engine.alive, timeout=WAIT_MS)
        assert engine.pid != first and transfer.isVisible()
        assert engine.pending_summary().files == 0  # it answers again
        assert not prompter.told  # restarted: nothing else to say
    finally:
        controller.shutdown()
    assert not engine.alive


def test_settings_saved_through_the_engine_close_the_window_once_in_force(
    qtbot: QtBot, prompter: RecordingPrompter, tmp_path: Path
) -> None:
    """Save never waits for the engine: the window stays, Save disabled, until the
    engine's ``SettingsApplied``; a file the engine cannot write is told, the window
    stays with the edits and nothing is said in force."""
    paths = AppPaths.under(tmp_path / "home").ensure()
    sink = QueueSink()
    engine = EngineProcess(paths, sink, config=Config())
    pump = app_pump(sink)
    controller = AppController(engine, pump, prompter, tray_available=True)
    controller.start([])
    save = QDialogButtonBox.StandardButton.Save
    try:
        paths.user_config.mkdir(parents=True)  # a folder where the file goes
        settings = controller.show_settings()
        settings.idle.setValue(44)
        settings.save()
        assert settings.isVisible() and not settings.buttons.button(save).isEnabled()
        qtbot.waitUntil(lambda: bool(prompter.told), timeout=WAIT_MS)
        (told,) = prompter.told
        assert str(paths.user_config) in told.text + told.detail
        assert settings.isVisible() and settings.buttons.button(save).isEnabled()
        assert settings.idle.value() == 44 and engine.config.user.reminders.idle_minutes != 44
        paths.user_config.rmdir()
        settings.save()
        qtbot.waitUntil(lambda: not settings.isVisible(), timeout=WAIT_MS)
        assert engine.config.user.reminders.idle_minutes == 44
        assert engine.reminder_settings().idle_minutes == 44 and len(prompter.told) == 1
    finally:
        controller.shutdown()


def _ends_at_once(*_args: object) -> None:
    """A child that ends before its service answers (as a broken install would)."""
    os._exit(3)


def test_an_engine_that_cannot_start_leaves_the_service_in_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from almc_assistant.core import service_process

    monkeypatch.setattr(service_process, "serve", _ends_at_once)
    service = make_service(AppPaths.under(tmp_path / "home").ensure(), QueueSink())
    try:
        assert isinstance(service, Service)  # the app still runs, as before
        assert service.destinations() == []
    finally:
        service.stop()


@dataclass
class _Crash:
    """60 files of 1 MB, a drive, and a real engine whose events a running pump delivers."""

    data: Path
    drive: Path
    engine: EngineProcess
    pump: EventPump

    def destination(self) -> Destination:
        return Destination(self.drive.name, self.drive, guess_kind(self.drive))

    def crash_while(self, pause: Callable[[], None]) -> None:
        """``pause()`` the copy (so that it cannot finish first), then kill the engine."""
        pause()
        self.engine.call("config")  # answered after the pause: the calls are taken in order
        self.engine._child.kill()  # as a crash in a native library would end it


@pytest.fixture
def crash(tmp_path: Path) -> Iterator[_Crash]:
    data, drive = tmp_path / "data", tmp_path / "drive"
    data.mkdir()
    drive.mkdir()
    for i in range(60):
        (data / f"f{i:02d}.bin").write_bytes(os.urandom(1 << 20))
    sink = QueueSink()
    engine = EngineProcess(AppPaths.under(tmp_path / "home").ensure(), sink)
    pump = app_pump(sink)
    pump.start()
    try:
        yield _Crash(data, drive, engine, pump)
    finally:
        pump.stop()
        engine.stop()


def _verified_bytes_there(drive: Path, sources: Iterable[str]) -> None:
    for source in sources:
        (copy,) = drive.rglob(Path(source).name)
        assert copy.read_bytes() == Path(source).read_bytes()


def test_a_copy_the_engine_crashed_under_is_said_interrupted_never_verified(
    qtbot: QtBot, prompter: RecordingPrompter, crash: _Crash
) -> None:
    # The transfer window's rows stayed "Copying…" and the tray's copy ran on forever
    # after the engine's process ended: no JobFinished comes from a dead engine.
    window = TransferWindow(crash.engine, prompter, lambda p: Destination(p.name, p, guess_kind(p)))
    window.connect_pump(crash.pump)
    tracker = CopyTracker(crash.pump, Notifier(None))
    window.copies.copy_started.connect(tracker.add)
    qtbot.addWidget(window)
    window.file_list.add_paths([str(crash.data)])
    rows = window.file_list.current_rows
    qtbot.waitUntil(
        lambda: len(rows()) == 60 and all(r.state is RowState.CHECKED for r in rows()),
        timeout=WAIT_MS,
    )
    job = window.queue_copy([str(crash.data)], [crash.destination()])
    assert job is not None and job.state is JobState.STARTING
    assert tracker.running
    crash.crash_while(lambda: window.copies.toggle_pause(job))
    qtbot.waitUntil(
        lambda: window.copies.model.rows()[0].state is JobState.INTERRUPTED, timeout=WAIT_MS
    )
    (interrupted,) = window.copies.model.rows()
    assert "interrupted" in interrupted.result
    states = {r.path: r for r in rows()}
    assert {r.state for r in states.values()} <= {RowState.VERIFIED, RowState.FAILED}
    failed = [r for r in states.values() if r.state is RowState.FAILED]
    assert failed and all(r.problem == FILE_INTERRUPTED for r in failed)
    verified = [p for p, r in states.items() if r.state is RowState.VERIFIED]
    _verified_bytes_there(crash.drive, verified)  # "verified" only where the bytes are
    assert not tracker.running  # the tray no longer shows a copy


def _copy_page(qtbot: QtBot, crash: _Crash) -> tuple[CopyPage, WizardState]:
    """The wizard's copy page over the crash fixture's files, its events delivered."""
    state = WizardState(
        files=[_record(i, path) for i, path in enumerate(sorted(crash.data.iterdir()))],
        destinations=[crash.destination()],
    )
    page = CopyPage(crash.engine, state)
    qtbot.addWidget(page)
    crash.pump.subscribe(CopyVerified, page.on_copy_verified)
    crash.pump.subscribe(JobFinished, page.on_job_finished)
    crash.pump.subscribe(EngineStopped, page.on_engine_stopped)
    return page, state


def test_the_wizard_copy_the_engine_crashed_under_stops_and_its_receipt_says_so(
    qtbot: QtBot, crash: _Crash
) -> None:
    page, state = _copy_page(qtbot, crash)
    page.initializePage()  # the copy starts
    assert state.job is not None and not page.isComplete()
    job = state.job
    crash.crash_while(job.pause)
    qtbot.waitUntil(page.isComplete, timeout=WAIT_MS)
    assert state.summary is not None and state.summary.error_title == "The backup engine stopped"
    assert "Stopped by an error" in page.counts.text() and not page.cancel_button.isEnabled()
    said = " ".join(not_safe(state))
    assert "The copy stopped: The backup engine stopped" in said
    assert "without a verified copy on every destination" in said  # the rest: not safe
    _verified_bytes_there(crash.drive, (source for _, _, _, source, _ in state.verified))


def _record(i: int, path: Path) -> FileRecord:
    return FileRecord(
        id=i,
        path=path,
        size=path.stat().st_size,
        mtime_ns=path.stat().st_mtime_ns,
        owner="someone",
        first_seen=0.0,
        born=0.0,
        session_id=1,
        state=FileState.COMPLETE,
        verdict="unknown",
        verdict_reasons=(),
        safe=False,
    )


def _engine_gone(qtbot: QtBot, crash: _Crash) -> None:
    """The engine killed and its end delivered (``EngineStopped``) before anything is asked."""
    gone: list[EngineStopped] = []
    crash.pump.subscribe(EngineStopped, gone.append)
    crash.engine._child.kill()
    qtbot.waitUntil(lambda: bool(gone), timeout=WAIT_MS)


def test_a_wizard_copy_asked_of_a_dead_engine_says_it_did_not_run(
    qtbot: QtBot, crash: _Crash
) -> None:
    # start_copy no longer waits for the engine's answer; a refusal (here: the engine is
    # gone) arrives as the job's JobFinished, and the page says nothing was copied.
    page, state = _copy_page(qtbot, crash)
    _engine_gone(qtbot, crash)
    page.initializePage()
    qtbot.waitUntil(page.isComplete, timeout=WAIT_MS)
    assert state.summary is not None and state.summary.state == "refused"
    assert page.counts.text() == "Refused: nothing was copied."
    said = page.failures.item(0).text()
    assert "The backup engine stopped" in said and "Restart it" in said
    assert not page.cancel_button.isEnabled() and list(crash.drive.iterdir()) == []


def test_a_transfer_copy_the_engine_refuses_says_why_in_its_row_and_files(
    qtbot: QtBot, prompter: RecordingPrompter, tmp_path: Path
) -> None:
    # The catalog's place is a folder: the engine refuses to record, so to start, the copy.
    data, drive = tmp_path / "data", tmp_path / "drive"
    data.mkdir()
    drive.mkdir()
    for i in range(3):
        (data / f"f{i}.bin").write_bytes(os.urandom(4096))
    paths = AppPaths.under(tmp_path / "home").ensure()
    paths.catalog_db.mkdir(parents=True)
    sink = QueueSink()
    engine = EngineProcess(paths, sink)
    pump = app_pump(sink)
    pump.start()
    try:
        window = TransferWindow(engine, prompter, lambda p: Destination(p.name, p, guess_kind(p)))
        window.connect_pump(pump)
        tracker = CopyTracker(pump, Notifier(None))
        window.copies.copy_started.connect(tracker.add)
        qtbot.addWidget(window)
        # (not checked first: the check, which records verdicts, is refused as well)
        job = window.queue_copy([str(data)], [Destination(drive.name, drive, guess_kind(drive))])
        assert job is not None and job.state is JobState.STARTING  # at once, not answered yet
        assert tracker.running
        qtbot.waitUntil(
            lambda: window.copies.model.rows()[0].state is JobState.REFUSED, timeout=WAIT_MS
        )
        assert window.copies.model.rows()[0].result.startswith(REFUSED_CATALOG_TITLE)
        assert not tracker.running and list(drive.iterdir()) == []
    finally:
        pump.stop()
        engine.stop()


def test_a_destination_check_asked_of_a_dead_engine_says_so_and_waits_no_more(
    qtbot: QtBot, prompter: RecordingPrompter, crash: _Crash
) -> None:
    from almc_assistant.core.service_events import PreflightFinished
    from almc_assistant.qt.wizard.destinations_page import DestinationsPage

    state = WizardState(files=[_record(0, next(crash.data.iterdir()))])
    page = DestinationsPage(
        crash.engine, prompter, state, lambda p: Destination(p.name, p, guess_kind(p))
    )
    qtbot.addWidget(page)
    crash.pump.subscribe(PreflightFinished, page.on_preflight_finished)
    _engine_gone(qtbot, crash)
    page.picker.add_folder(str(crash.drive))  # chosen: the page asks for a preflight
    assert "Checking the destinations" in page.preflight.text()
    qtbot.waitUntil(lambda: "Checking" not in page.preflight.text(), timeout=WAIT_MS)
    assert "The backup engine stopped" in page.preflight.text()
    assert "not known" in page.policy.text() and not page.isComplete()

"""The tray app's engine in a child process (``core/service_process.py``, wired by
``qt/app.py``): the windows on it as on the in-process service, and a crash of the engine
said to the user with a restart, the windows staying up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from almc_assistant.core.config import Config, WatchSettings
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.events import QueueSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.service import Service
from almc_assistant.core.service_process import EngineProcess
from almc_assistant.qt.app import ENGINE_STOPPED, follow_engine, make_service
from almc_assistant.qt.bridge import app_pump
from almc_assistant.qt.controller import AppController
from tests.qt.helpers import RecordingPrompter

WAIT_MS = 120_000  # a spawned interpreter on a busy machine


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
        assert [d.name for d in engine.destinations()] == ["Drive"]  # it answers again
        assert not prompter.told  # restarted: nothing else to say
    finally:
        controller.shutdown()
    assert not engine.alive


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


def test_a_copy_the_engine_crashed_under_is_said_interrupted_never_verified(
    qtbot: QtBot, prompter: RecordingPrompter, tmp_path: Path
) -> None:
    # The transfer window's rows stayed "Copying…" and the tray's copy ran on forever
    # after the engine's process ended: no JobFinished comes from a dead engine.
    from almc_assistant.core.destinations import guess_kind
    from almc_assistant.qt.controller_copies import CopyTracker
    from almc_assistant.qt.notifier import Notifier
    from almc_assistant.qt.transfer_jobs import FILE_INTERRUPTED
    from almc_assistant.qt.transfer_rows import JobState, RowState
    from almc_assistant.qt.transfer_window import TransferWindow

    data, drive = tmp_path / "data", tmp_path / "drive"
    data.mkdir()
    drive.mkdir()
    for i in range(60):
        (data / f"f{i:02d}.bin").write_bytes(os.urandom(1 << 20))
    sink = QueueSink()
    engine = EngineProcess(AppPaths.under(tmp_path / "home").ensure(), sink)
    pump = app_pump(sink)
    window = TransferWindow(engine, prompter, lambda p: Destination(p.name, p, guess_kind(p)))
    window.connect_pump(pump)
    tracker = CopyTracker(pump, Notifier(None))
    window.copies.copy_started.connect(tracker.add)
    qtbot.addWidget(window)
    pump.start()
    try:
        window.file_list.add_paths([str(data)])
        rows = window.file_list.current_rows
        qtbot.waitUntil(
            lambda: len(rows()) == 60 and all(r.state is RowState.CHECKED for r in rows()),
            timeout=WAIT_MS,
        )
        job = window.queue_copy([str(data)], [Destination(drive.name, drive, guess_kind(drive))])
        assert job is not None and job.state is JobState.STARTING
        window.copies.toggle_pause(job)  # it must not finish before the engine ends
        engine.destinations()  # answered after the pause: the calls are taken in order
        assert tracker.running
        engine._child.kill()  # as a crash in a native library would end it
        qtbot.waitUntil(
            lambda: window.copies.model.rows()[0].state is JobState.INTERRUPTED,
            timeout=WAIT_MS,
        )
        (interrupted,) = window.copies.model.rows()
        assert "interrupted" in interrupted.result
        states = {r.path: r for r in rows()}
        assert {r.state for r in states.values()} <= {RowState.VERIFIED, RowState.FAILED}
        failed = [r for r in states.values() if r.state is RowState.FAILED]
        assert failed and all(r.problem == FILE_INTERRUPTED for r in failed)
        for row in states.values():  # "verified" only where the bytes are there
            if row.state is RowState.VERIFIED:
                (copy,) = drive.rglob(Path(row.path).name)
                assert copy.read_bytes() == Path(row.path).read_bytes()
        assert not tracker.running  # the tray no longer shows a copy
    finally:
        pump.stop()
        engine.stop()

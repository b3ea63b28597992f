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

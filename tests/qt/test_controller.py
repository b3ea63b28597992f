"""AppController: tray status from the service, main window without a tray, quitting."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from almc_assistant.core.config import Config
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.events import QueueSink
from almc_assistant.core.session_end.pending import PendingSummary as Summary
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.controller import QUIT_WITH_DATA_AT_RISK, AppController, compute_status
from almc_assistant.qt.icons import State
from almc_assistant.qt.status_window import StatusWindow
from tests.qt.helpers import FakeService, engine_summary, today_summary


def _controller(service, prompter, *, tray=True):
    pump = EventPump(QueueSink())
    return AppController(service, pump, prompter, tray_available=tray)


def test_compute_status() -> None:
    assert compute_status(Summary(0, 0, None)).state is State.SAFE
    at_risk = compute_status(today_summary(3, 12_400_000_000))
    assert at_risk.state is State.AT_RISK
    assert at_risk.headline == "3 files (12.4 GB) from today are not backed up yet"
    copying = compute_status(today_summary(3, 1), copy_progress=0.42)
    assert copying.state is State.COPYING and copying.headline == "Copying… 42%"
    assert copying.progress == 0.42 and copying.can_pause
    problem = compute_status(today_summary(3, 1), problem="Catalog damaged")
    assert problem.state is State.PROBLEM and problem.headline == "Catalog damaged"


def test_start_shows_tray_with_pending_tooltip(qtbot: QtBot, prompter) -> None:
    service = FakeService(today_summary(3, 12_400_000_000))
    controller = _controller(service, prompter)
    controller.start([])
    assert controller.tray is not None
    assert "3 files (12.4 GB) from today" in controller.tray.native.toolTip()
    assert ("start_watching", ()) in service.calls
    controller.shutdown()
    assert ("stop", ()) in service.calls


def test_without_a_tray_the_main_window_opens(qtbot: QtBot, prompter) -> None:
    controller = _controller(FakeService(), prompter, tray=False)
    controller.start([])
    window = controller.window("status")
    assert isinstance(window, StatusWindow) and window.isVisible()
    assert window.headline() == "All your files are backed up"
    controller.shutdown()


def test_second_launch_brings_the_app_forward(qtbot: QtBot, prompter) -> None:
    controller = _controller(FakeService(), prompter)
    controller.start([])
    controller.on_instance_message({"paths": []})
    window = controller.window("status")
    assert window is not None and window.isVisible()
    controller.shutdown()


@pytest.mark.parametrize(
    ("answer", "quits"), [("quit", True), ("cancel", False), ("backup", False)]
)
def test_quitting_with_data_at_risk_asks_first(
    qtbot: QtBot, prompter, monkeypatch: pytest.MonkeyPatch, answer, quits
) -> None:
    quit_calls: list[bool] = []
    monkeypatch.setattr(QApplication, "quit", lambda: quit_calls.append(True))
    controller = _controller(FakeService(today_summary(2, 10**9)), prompter)
    controller.start([])
    prompter.answers[QUIT_WITH_DATA_AT_RISK] = answer
    assert controller.request_quit() is quits
    assert bool(quit_calls) is quits
    assert prompter.asked[0].text.startswith("2 files (1.0 GB) from today")
    wizard = controller.window("wizard")
    assert (wizard is not None and wizard.isVisible()) is (answer == "backup")
    controller.shutdown()


def test_quitting_when_all_is_safe_does_not_ask(
    qtbot: QtBot, prompter, monkeypatch: pytest.MonkeyPatch
) -> None:
    quit_calls: list[bool] = []
    monkeypatch.setattr(QApplication, "quit", lambda: quit_calls.append(True))
    controller = _controller(FakeService(), prompter)
    controller.start([])
    assert controller.request_quit()
    assert quit_calls == [True] and prompter.asked == []
    controller.shutdown()


def test_a_failing_status_query_shows_a_problem(qtbot: QtBot, prompter) -> None:
    class Broken(FakeService):
        def pending_summary(self):
            raise AlmcError("The catalog file is damaged.", title="Catalog damaged")

    controller = _controller(Broken(), prompter)
    controller.start([])
    assert controller.status is not None and controller.status.state is State.PROBLEM
    assert controller.status.headline == "Catalog damaged"
    controller.shutdown()


def test_watching_that_fails_in_the_engine_shows_a_problem(qtbot: QtBot, prompter) -> None:
    # The engine in its own process answers start_watching at once; a refusal other than
    # "not set up" arrives later as ServiceFailed("watch"), and the tray must still say it.
    from almc_assistant.core.service_events import ServiceFailed

    pump = EventPump(QueueSink())
    controller = AppController(FakeService(), pump, prompter, tray_available=True)
    controller.start([])
    assert controller.status is not None and controller.status.state is not State.PROBLEM
    pump.sink.publish(
        ServiceFailed(
            action="watch",
            title="Cannot watch D:\\Data",
            detail="The folder is gone.",
            next_step="Connect the drive, then restart almc-assistant.",
        )
    )
    qtbot.waitUntil(
        lambda: controller.status is not None and controller.status.state is State.PROBLEM
    )
    assert controller.status.headline == "Cannot watch D:\\Data"
    assert "Connect the drive" in " ".join(controller.status.details)
    controller.shutdown()


def test_tray_menu_opens_each_window(qtbot: QtBot, prompter, tmp_path: Path) -> None:
    from almc_assistant.qt.settings_dialog import SettingsDialog
    from almc_assistant.qt.transfer_window import TransferWindow
    from almc_assistant.qt.wizard.session_wizard import SessionWizard
    from tests.qt.helpers import TransferService

    service = TransferService()
    controller = _controller(service, prompter)
    controller.start([])
    tray = controller.tray
    assert tray is not None
    tray.transfer_window_requested.emit()
    assert isinstance(controller.window("transfer"), TransferWindow)
    tray.end_session_requested.emit()
    assert isinstance(controller.window("wizard"), SessionWizard)
    tray.settings_requested.emit()
    assert isinstance(controller.window("settings"), SettingsDialog)
    prompter.files_to_choose = [str(tmp_path / "x.nd2")]
    tray.check_files_requested.emit()
    assert service.checked == [[str(tmp_path / "x.nd2")]]
    controller.shutdown()
    assert controller.window("transfer") is None


def test_paths_from_a_second_launch_open_the_transfer_window(
    qtbot: QtBot, prompter, tmp_path: Path
) -> None:
    from tests.qt.helpers import TransferService

    service = TransferService()
    controller = _controller(service, prompter)
    controller.start([str(tmp_path / "a.nd2")])
    controller.on_instance_message({"paths": [str(tmp_path / "b.nd2")]})
    assert service.checked == [[str(tmp_path / "a.nd2")], [str(tmp_path / "b.nd2")]]
    controller.shutdown()


def test_copy_progress_shows_in_the_tray_and_pauses(qtbot: QtBot, prompter, tmp_path: Path) -> None:
    from almc_assistant.core.transfer.events import (
        JobFinished,
        JobProgressed,
        JobSnapshot,
    )
    from tests.qt.helpers import Dest, TransferService

    service = TransferService(pending=today_summary(1, 100))
    sink = QueueSink()
    pump = EventPump(sink)
    controller = AppController(service, pump, prompter, tray_available=True)
    controller.start([])
    window = controller.show_transfer()
    window.add_paths([str(tmp_path / "a.nd2")])
    window.queue_copy([str(tmp_path / "a.nd2")], [Dest("X", tmp_path / "x")])
    job = service.jobs[0][2]
    sink.publish(
        JobProgressed(
            snapshot=JobSnapshot(
                job_id=job.job_id,
                state="running",
                bytes_done=25,
                bytes_total=100,
                files_done=0,
                files_total=1,
                rate_bytes_per_s=10.0,
                eta_seconds=7.5,
            )
        )
    )
    pump.drain()
    status = controller.refresh()
    assert status.state is State.COPYING and status.progress == 0.25
    assert controller.tray is not None
    controller.tray.pause_requested.emit()
    assert controller.status is not None
    assert job.actions == ["pause"] and controller.status.paused
    summary = engine_summary(job.job_id, "completed", verified=1)
    sink.publish(JobFinished(job_id=job.job_id, summary=summary))
    pump.drain()
    assert controller.status is not None
    assert controller.status.state is State.AT_RISK  # the fake's pending count is unchanged
    controller.shutdown()


def test_one_click_backup_asks_the_service_with_the_disk_check(
    qtbot: QtBot, prompter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reminder's "Back up now" decided with a Policy the GUI built from its config,
    with no disk check: a share on the files' own disk counted. Now the service's
    PlanSafety answer (a real plan_safety on real folders) decides."""
    from almc_assistant.core.destinations import Destination, DestinationKind
    from almc_assistant.core.plan_safety import plan_safety
    from almc_assistant.core.policy import Policy
    from almc_assistant.core.preflight import plan_files, preflight
    from almc_assistant.core.service_events import PreflightFinished
    from tests.qt.helpers import TransferService

    source = tmp_path / "a.nd2"
    source.write_bytes(b"x" * 100)
    share = Destination(name="Share", path=tmp_path / "share", kind=DestinationKind.INSTITUTIONAL)
    (tmp_path / "share").mkdir()  # a destination that cannot be reached makes nothing safe
    service = TransferService(dests=[share])
    sink = QueueSink()
    pump = EventPump(sink)
    controller = AppController(service, pump, prompter, tray_available=True)
    notices: list[str] = []
    monkeypatch.setattr(controller, "_notify", lambda title, text, *a, **k: notices.append(text))
    controller.start([])

    def answer(policy_dests: list[Destination]) -> None:
        request = service.calls[-1]
        assert request[0] == "preflight"
        files, dests = request[1]
        results = tuple(preflight(d, plan_files(files)) for d in dests)
        safety = plan_safety(Policy(Config().policy, policy_dests), files, dests)
        sink.publish(
            PreflightFinished(request_id=len(service.calls), results=results, safety=safety)
        )
        pump.drain()

    controller.back_up_now([source])
    assert service.jobs == []  # nothing decided in the GUI: the service is asked
    answer([share])
    # the share is on the files' own disk: not a backup, so no one-click copy
    assert service.jobs == []
    assert notices and "same disk" in notices[-1]
    # a share on a disk of its own (/dev/shm, a tmpfs): the service says safe, it copies
    if not Path("/dev/shm").is_dir():
        controller.shutdown()
        pytest.skip("no /dev/shm: no second disk without root")
    other = Path(tempfile.mkdtemp(dir="/dev/shm"))
    try:
        if other.stat().st_dev == tmp_path.stat().st_dev:
            pytest.skip("/dev/shm is on the same disk here")
        remote = Destination(name="Share", path=other, kind=DestinationKind.INSTITUTIONAL)
        service.dests = [remote]
        controller.back_up_now([source])
        answer([remote])
        assert service.jobs and service.jobs[0][1] == [remote]
    finally:
        shutil.rmtree(other)
        controller.shutdown()


def test_a_refused_copy_is_told_with_its_reason(qtbot: QtBot, prompter, tmp_path: Path) -> None:
    """Issue 9: a job the engine refused (no file failed) ended without a word."""
    from almc_assistant.core.transfer.events import JobFinished
    from tests.qt.helpers import Dest, TransferService

    service = TransferService(pending=today_summary(1, 100))
    sink = QueueSink()
    controller = AppController(service, EventPump(sink), prompter, tray_available=True)
    controller.start([])
    told: list[tuple[str, str]] = []
    assert controller.tray is not None
    controller.tray.notify = lambda title, text, *_a, **_k: told.append((title, text))  # type: ignore[method-assign]
    window = controller.show_transfer()
    window.queue_copy([str(tmp_path / "a.nd2")], [Dest("X", tmp_path / "x")])
    job = service.jobs[0][2]
    summary = engine_summary(
        job.job_id,
        "refused",
        error_title="Sources would overwrite each other",
        error_next_step="Copy them in separate runs or to separate destinations.",
    )
    sink.publish(JobFinished(job_id=job.job_id, summary=summary))
    controller._pump.drain()
    assert told == [
        (
            "A copy did not run",
            "Sources would overwrite each other. Copy them in separate runs or to separate "
            "destinations.",
        )
    ]
    controller.shutdown()


@pytest.mark.parametrize("how", ["quit-button", "close-window"])
def test_quit_from_the_main_window_without_a_tray_really_quits(qtbot: QtBot, prompter, how) -> None:
    """No tray (the controller asks QSystemTrayIcon.isSystemTrayAvailable(); given here):
    the main window's Quit button asks request_quit, which called QApplication.quit();
    Qt 6 then closes every window, the main window refused (it asks to quit instead),
    and the quit was dropped: the app ran on. And the user's own quit tells the
    session hooks (macOS must not hold up a logout for our own quit)."""
    from PySide6.QtCore import QTimer

    qapp = QApplication.instance()
    controller = _controller(FakeService(), prompter, tray=False)
    allowed: list[bool] = []
    controller.before_quit = lambda: allowed.append(True)
    controller.start([])
    window = controller.window("status")
    assert isinstance(window, StatusWindow) and window.isVisible()
    user = window.quit_button.click if how == "quit-button" else window.close
    QTimer.singleShot(0, user)
    guard = QTimer()  # only so that a broken quit ends the test instead of hanging it
    guard.setSingleShot(True)
    assert qapp is not None
    guard.timeout.connect(lambda: qapp.exit(7))
    guard.start(5_000)
    code = qapp.exec()
    guard.stop()
    assert code == 0, "the quit was dropped: the app would have run on"
    assert allowed == [True]
    controller.shutdown()

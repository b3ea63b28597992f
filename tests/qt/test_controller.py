"""AppController: tray status from the service, main window without a tray, quitting."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.events import QueueSink
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.controller import QUIT_WITH_DATA_AT_RISK, AppController, compute_status
from almc_assistant.qt.icons import State
from almc_assistant.qt.status_window import StatusWindow
from tests.qt.helpers import FakeService, Summary, today_summary


def _controller(service, prompter, *, tray=True):  # type: ignore[no-untyped-def]
    pump = EventPump(QueueSink())
    return AppController(service, pump, prompter, tray_available=tray)


def test_compute_status() -> None:
    assert compute_status(Summary(0, 0, None)).state is State.SAFE
    at_risk = compute_status(today_summary(3, 12_400_000_000))
    assert at_risk.state is State.AT_RISK
    assert at_risk.headline == "3 files (12.4 GB) from today are not backed up yet"
    copying = compute_status(today_summary(3, 1), copy_progress=0.42)
    assert copying.state is State.COPYING and copying.headline == "Copying… 42 %"
    assert copying.progress == 0.42 and copying.can_pause
    problem = compute_status(today_summary(3, 1), problem="Catalog damaged")
    assert problem.state is State.PROBLEM and problem.headline == "Catalog damaged"


def test_start_shows_tray_with_pending_tooltip(qtbot, prompter) -> None:  # type: ignore[no-untyped-def]
    service = FakeService(today_summary(3, 12_400_000_000))
    controller = _controller(service, prompter)
    controller.start([])
    assert controller.tray is not None
    assert "3 files (12.4 GB) from today" in controller.tray.native.toolTip()
    assert ("start_watching", ()) in service.calls
    controller.shutdown()
    assert ("stop", ()) in service.calls


def test_without_a_tray_the_main_window_opens(qtbot, prompter) -> None:  # type: ignore[no-untyped-def]
    controller = _controller(FakeService(), prompter, tray=False)
    controller.start([])
    window = controller.window("status")
    assert isinstance(window, StatusWindow) and window.isVisible()
    assert window.headline() == "All your files are backed up"
    controller.shutdown()


def test_second_launch_brings_the_app_forward(qtbot, prompter) -> None:  # type: ignore[no-untyped-def]
    controller = _controller(FakeService(), prompter)
    controller.start([])
    controller.on_instance_message({"paths": []})
    window = controller.window("status")
    assert window is not None and window.isVisible()
    controller.shutdown()


@pytest.mark.parametrize(
    ("answer", "quits"), [("quit", True), ("cancel", False), ("backup", False)]
)
def test_quitting_with_data_at_risk_asks_first(  # type: ignore[no-untyped-def]
    qtbot, prompter, monkeypatch, answer, quits
) -> None:
    quit_calls: list[bool] = []
    monkeypatch.setattr(QApplication, "quit", lambda: quit_calls.append(True))
    controller = _controller(FakeService(today_summary(2, 10**9)), prompter)
    controller.start([])
    prompter.answers[QUIT_WITH_DATA_AT_RISK] = answer
    assert controller.request_quit() is quits
    assert bool(quit_calls) is quits
    assert prompter.asked[0].text.startswith("2 files (1.0 GB) from today")
    controller.shutdown()


def test_quitting_when_all_is_safe_does_not_ask(qtbot, prompter, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    quit_calls: list[bool] = []
    monkeypatch.setattr(QApplication, "quit", lambda: quit_calls.append(True))
    controller = _controller(FakeService(), prompter)
    controller.start([])
    assert controller.request_quit()
    assert quit_calls == [True] and prompter.asked == []
    controller.shutdown()


def test_a_failing_status_query_shows_a_problem(qtbot, prompter) -> None:  # type: ignore[no-untyped-def]
    class Broken(FakeService):
        def pending_summary(self):  # type: ignore[no-untyped-def]
            raise AlmcError("The catalog file is damaged.", title="Catalog damaged")

    controller = _controller(Broken(), prompter)
    controller.start([])
    assert controller.status is not None and controller.status.state is State.PROBLEM
    assert controller.status.headline == "Catalog damaged"
    controller.shutdown()

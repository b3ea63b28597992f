"""What the front ends ask the service instead of reaching past it: blocking checks for
the command line, location tests and saved texts answered as events."""

from __future__ import annotations

from pathlib import Path

import pytest

from almc_assistant.core import service_events as ev
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.events import ListSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.service import Service


@pytest.fixture
def service(tmp_path: Path) -> Service:
    return Service(AppPaths.under(tmp_path / "home").ensure(), ListSink(), inline=True)


def test_the_command_lines_check_leaves_the_catalog_alone(service: Service, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text("hello", encoding="utf-8")
    try:
        report = service.check_now([data], record=False)
        assert [f.path.name for f in report.files] == ["notes.txt"]
        assert not service.paths.catalog_db.exists()
        sink = service.sink
        assert isinstance(sink, ListSink)
        (ready,) = sink.of_type(ev.CheckReportReady)
        assert ready.paths == (str(data),)
    finally:
        service.stop()


def test_a_check_that_fails_says_so_for_its_paths(service: Service, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text("hello", encoding="utf-8")
    service.paths.catalog_db.mkdir(parents=True)  # a folder where the catalog file goes
    try:
        future = service.check([data])
        assert future.exception() is not None  # its verdicts cannot be stored
        sink = service.sink
        assert isinstance(sink, ListSink)
        (failed,) = sink.of_type(ev.CheckFailed)
        assert failed.paths == (str(data),) and failed.title and failed.detail
        assert sink.of_type(ev.ServiceFailed)
    finally:
        service.stop()


def test_location_tests_answer_as_an_event(service: Service, tmp_path: Path) -> None:
    acq, backup = tmp_path / "acq", tmp_path / "backup"
    acq.mkdir()
    backup.mkdir()
    drive = Destination("drive", backup, DestinationKind.EXTERNAL_DRIVE)
    try:
        request = service.test_locations([acq, tmp_path / "nowhere"], [drive])
        sink = service.sink
        assert isinstance(sink, ListSink)
        (answer,) = sink.of_type(ev.LocationsChecked)
        assert answer.request_id == request
        assert [r.ok for r in answer.results] == [True, False, True]
        # the GUI's engine process picks the id, so that it never waits for the answer
        given = service.test_locations([acq], [], request_id=4711)
        assert given == 4711
        assert [a.request_id for a in sink.of_type(ev.LocationsChecked)] == [request, 4711]
    finally:
        service.stop()


def test_saved_text_arrives_whole_or_says_why_not(service: Service, tmp_path: Path) -> None:
    target = tmp_path / "receipt.html"
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    try:
        service.save_text(str(target), "<p>receipt</p>")
        service.save_text(str(blocked / "receipt.html"), "<p>receipt</p>")
        sink = service.sink
        assert isinstance(sink, ListSink)
        (saved,) = sink.of_type(ev.TextSaved)
        assert saved.path == str(target) and target.read_text(encoding="utf-8") == "<p>receipt</p>"
        (failed,) = sink.of_type(ev.TextSaveFailed)
        assert failed.path == str(blocked / "receipt.html") and failed.title and failed.next_step
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "home", "receipt.html"]
    finally:
        service.stop()

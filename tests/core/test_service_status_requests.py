"""Service.request_status: the slow status query runs on the service's own thread, one at
a time, merged, and its answer (or why it failed) arrives as a StatusQueried event."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.events import QueueSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.service import Service
from almc_assistant.core.service_events import StatusQueried
from almc_assistant.core.session import PendingSummary
from almc_assistant.core.warnings import WarningKind


@pytest.fixture
def service(tmp_path: Path) -> Service:
    acq = tmp_path / "acq"
    acq.mkdir()
    paths = AppPaths.under(tmp_path / "home").ensure()
    paths.user_config.write_text(f"[watch]\nfolders = ['{acq.as_posix()}']\n", encoding="utf-8")
    return Service(paths, QueueSink())


def _answers(service: Service, count: int) -> list[StatusQueried]:
    sink = service.sink
    assert isinstance(sink, QueueSink)
    found: list[StatusQueried] = []
    for _ in range(2000):
        found += [e for e in sink.drain() if isinstance(e, StatusQueried)]
        if len(found) >= count:
            return found
        threading.Event().wait(0.01)
    raise AssertionError(f"{len(found)} answers, expected {count}")


def test_the_report_is_read_off_the_callers_thread(service: Service) -> None:
    threads: list[str] = []
    status = service.state.status

    def recording(user: str | None = None):
        threads.append(threading.current_thread().name)
        return status(user)

    service.state.status = recording  # type: ignore[method-assign]
    try:
        service.request_status(report=True, warnings=True)
        (answer,) = _answers(service, 1)
        assert not answer.failed and answer.summary == PendingSummary()
        assert answer.report is not None and answer.report.files == ()
        # nothing to warn about but, perhaps, the test machine's own disk (Wine's C: drive)
        assert answer.warnings is not None
        assert [w for w in answer.warnings if w.kind is not WarningKind.DISK_NEARLY_FULL] == []
        assert threads == ["almc-status-query"]
    finally:
        service.stop()


def test_requests_made_while_one_runs_merge_into_one_more_query(service: Service) -> None:
    gate, started = threading.Event(), threading.Event()
    asked: list[str] = []
    summary = service.state.pending_summary

    def gated() -> PendingSummary:
        asked.append("summary")
        started.set()
        assert gate.wait(20), "the test never opened the gate"
        return summary()

    service.state.pending_summary = gated  # type: ignore[method-assign]
    try:
        service.request_status()
        assert started.wait(20)
        service.request_status()
        service.request_status(report=True)
        gate.set()
        first, second = _answers(service, 2)
        assert first.report is None and second.report is not None  # merged: one more
        assert asked == ["summary", "summary"]
    finally:
        service.stop()


def test_a_failed_query_says_why(service: Service) -> None:
    def locked() -> PendingSummary:
        raise AlmcError("The catalog is locked by another program.", title="Catalog busy")

    service.state.pending_summary = locked  # type: ignore[method-assign]
    try:
        service.request_status(report=True)
        (answer,) = _answers(service, 1)
        assert answer.failed and answer.title == "Catalog busy" and "locked" in answer.detail
    finally:
        service.stop()


def test_no_query_after_stop(service: Service) -> None:
    service.stop()
    service.request_status(report=True)
    sink = service.sink
    assert isinstance(sink, QueueSink)
    assert not [e for e in sink.drain() if isinstance(e, StatusQueried)]

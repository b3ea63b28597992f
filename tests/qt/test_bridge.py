"""EventPump: events published on worker threads reach the GUI thread, progress coalesced."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from PySide6.QtCore import QThread
from pytestqt.qtbot import QtBot

from almc_assistant.core.events import Event, QueueSink
from almc_assistant.qt.bridge import MAX_EVENTS_PER_DRAIN, EventPump, coalesce


@dataclass(frozen=True, slots=True, kw_only=True)
class Progressed(Event):
    job_id: int
    done: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Finished(Event):
    job_id: int


def test_coalesce_keeps_the_last_progress_per_job_in_order() -> None:
    events: list[Event] = [
        Progressed(job_id=1, done=1),
        Progressed(job_id=2, done=1),
        Progressed(job_id=1, done=2),
        Finished(job_id=2),
        Progressed(job_id=1, done=3),
    ]
    out = coalesce(events, {Progressed: lambda e: e.job_id})
    assert out == [events[1], events[3], events[4]]


def test_coalesce_without_rules_returns_everything() -> None:
    events: list[Event] = [Progressed(job_id=1, done=i) for i in range(3)]
    assert coalesce(events, {}) == events


def test_events_from_worker_threads_arrive_on_the_gui_thread(qtbot: QtBot) -> None:
    sink = QueueSink()
    pump = EventPump(sink, coalesce={Progressed: lambda e: e.job_id}, interval_ms=20)
    seen: list[tuple[Event, bool]] = []
    pump.subscribe(Finished, lambda e: seen.append((e, QThread.currentThread().isMainThread())))
    progress: list[Progressed] = []
    pump.subscribe(Progressed, progress.append)

    def worker() -> None:
        for i in range(1000):
            sink.publish(Progressed(job_id=7, done=i))
        sink.publish(Finished(job_id=7))

    thread = threading.Thread(target=worker)
    pump.start()
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: len(seen) == 1)
    pump.stop()
    assert seen[0][1] is True
    assert progress[-1].done == 999
    assert len(progress) < 1000  # coalesced
    assert [p.done for p in progress] == sorted(p.done for p in progress)


def test_drain_delivers_signals_and_typed_handlers(qtbot: QtBot) -> None:
    sink = QueueSink()
    pump = EventPump(sink)
    sink.publish(Finished(job_id=1))
    with qtbot.waitSignal(pump.batch_arrived) as batch:
        delivered = pump.drain()
    assert batch.args == [delivered]
    assert pump.drain() == []


def test_a_failing_handler_does_not_stop_the_others(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    sink = QueueSink()
    pump = EventPump(sink)
    got: list[Event] = []

    def broken(_e: Event) -> None:
        raise RuntimeError("widget bug")

    pump.subscribe(Finished, broken)
    pump.subscribe(Finished, got.append)
    sink.publish(Finished(job_id=1))
    pump.drain()
    assert len(got) == 1
    assert "widget bug" in caplog.text
    pump.unsubscribe(broken)
    sink.publish(Finished(job_id=2))
    caplog.clear()
    pump.drain()
    assert len(got) == 2 and "widget bug" not in caplog.text


def test_a_burst_is_drained_in_bounded_slices(qtbot: QtBot) -> None:
    sink = QueueSink()
    pump = EventPump(sink)
    for i in range(MAX_EVENTS_PER_DRAIN + 10):
        sink.publish(Finished(job_id=i))
    assert len(pump.drain()) == MAX_EVENTS_PER_DRAIN
    assert len(pump.drain()) == 10


def test_a_drain_bounded_by_time_delivers_everything_in_order(qtbot: QtBot) -> None:
    sink = QueueSink()
    pump = EventPump(sink)
    seen: list[int] = []
    pump.subscribe(Finished, lambda e: seen.append(e.job_id))
    for i in range(50):
        sink.publish(Finished(job_id=i))
    slices = []
    while True:
        delivered = pump.drain(budget_ms=0)  # the budget is spent after each event
        if not delivered:
            break
        slices.append(len(delivered))
    assert seen == list(range(50))
    assert all(n >= 1 for n in slices)  # always progress, never an empty slice
    assert len(slices) > 1  # the budget cut the drain short


def test_a_progress_waiting_in_the_backlog_is_replaced_by_a_newer_one(qtbot: QtBot) -> None:
    sink = QueueSink()
    pump = EventPump(sink, coalesce={Progressed: lambda e: e.job_id})
    got: list[Event] = []
    pump.subscribe(Event, got.append)
    first, old, second = Finished(job_id=1), Progressed(job_id=7, done=1), Finished(job_id=2)
    for event in (first, old, second):
        sink.publish(event)
    assert pump.drain(budget_ms=0) == [first]  # the others wait
    new = Progressed(job_id=7, done=2)
    sink.publish(new)
    assert pump.drain() == [second, new]
    assert got == [first, second, new]


def test_the_timer_drains_a_backlog_in_several_batches(qtbot: QtBot) -> None:
    sink = QueueSink()
    pump = EventPump(sink, interval_ms=20, budget_ms=0)
    seen: list[int] = []
    batches: list[int] = []
    pump.subscribe(Finished, lambda e: seen.append(e.job_id))
    pump.batch_arrived.connect(lambda events: batches.append(len(events)))
    for i in range(300):
        sink.publish(Finished(job_id=i))
    pump.start()
    qtbot.waitUntil(lambda: len(seen) == 300)
    pump.stop()
    assert seen == list(range(300))
    assert len(batches) > 1 and sum(batches) == 300


def test_slots_subscribed_to_a_base_class_get_subclasses_in_order(qtbot: QtBot) -> None:
    sink = QueueSink()
    pump = EventPump(sink)
    calls: list[str] = []
    pump.subscribe(Event, lambda e: calls.append(f"any:{type(e).__name__}"))
    pump.subscribe(Finished, lambda e: calls.append("finished"))
    sink.publish(Finished(job_id=1))
    pump.drain()
    late: list[Event] = []
    pump.subscribe(Finished, late.append)  # a slot subscribed later is called too
    sink.publish(Finished(job_id=2))
    sink.publish(Progressed(job_id=1, done=1))
    pump.drain()
    assert calls == ["any:Finished", "finished", "any:Finished", "finished", "any:Progressed"]
    assert [e.job_id for e in late] == [2]  # type: ignore[attr-defined]
    pump.unsubscribe(late.append)
    sink.publish(Finished(job_id=3))
    pump.drain()
    assert [e.job_id for e in late] == [2]  # type: ignore[attr-defined]

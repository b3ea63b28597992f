"""The one place where core events cross into the GUI thread.

Thread contract: :class:`EventPump` lives on the GUI thread and must be created there.
Workers publish frozen events to a :class:`~almc_assistant.core.events.QueueSink` from any
thread; the pump drains that queue on a ``QTimer`` (every 50-100 ms), collapses repeated
progress events to the latest one per key (a job, a file), and re-emits each event on
the GUI thread through ``Signal(object)``. No Qt signal is ever emitted from a worker.
A timer's drain delivers for at most ``budget_ms`` (20 ms), then lets the event loop run
(input, paint, timers) before it goes on, in order, with what is left.

Widgets subscribe in two ways:

- ``pump.batch_arrived`` (``Signal(object)``): the list of one drain, after coalescing
  (one signal per drain, not one per event: a Qt signal costs far more than a call);
- ``pump.subscribe(EventType, slot)``: ``slot(event)`` for events of that type (or a
  subclass), called on the GUI thread in publishing order.

Tests call :meth:`EventPump.drain` directly for deterministic delivery.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from almc_assistant.core.events import Event, QueueSink

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
# Any: a key function or slot is registered for one type of event (``add_coalescing``,
# ``subscribe``: typed by ``E``) and only ever called with events of that type.
KeyFunc = Callable[[Any], Hashable]
SlotFn = Callable[[Any], None]

DEFAULT_INTERVAL_MS = 75
# A timer's drain takes at most this many events from the queue and delivers them for at
# most this long, so a burst of tens of thousands of events cannot stall the event loop:
# the rest waits for the next drain, which runs as soon as the loop has handled what else
# is pending (input, paint, timers).
MAX_EVENTS_PER_DRAIN = 1000
DEFAULT_BUDGET_MS = 20.0


class EventPump(QObject):
    """Drains a :class:`QueueSink` on the GUI thread and re-emits its events as signals.

    Parameters
    ----------
    sink
        The queue workers publish to.
    coalesce
        Event types whose repeated occurrences within one drain collapse to the latest,
        each with a key function (for example ``{JobProgressed: lambda e: e.job_id}``).
        The surviving event keeps the position of the *last* occurrence, so a progress
        snapshot never appears after the ``JobFinished`` that followed it.
    interval_ms
        How often the timer drains the queue.
    budget_ms
        How long one of the timer's drains may call slots before it yields to the event
        loop (the rest is delivered by the next drain, in order).
    """

    batch_arrived = Signal(object)

    def __init__(
        self,
        sink: QueueSink,
        *,
        coalesce: Mapping[type[Event], KeyFunc] | None = None,
        interval_ms: int = DEFAULT_INTERVAL_MS,
        budget_ms: float = DEFAULT_BUDGET_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._sink = sink
        self._coalesce: dict[type[Event], KeyFunc] = dict(coalesce or {})
        self._handlers: list[tuple[type[Event], SlotFn]] = []
        self._dispatch: dict[type[Event], tuple[SlotFn, ...]] = {}
        self._budget_ms = budget_ms
        self._backlog: list[Event] = []  # taken from the queue, not delivered yet
        self._more = False  # the last drain left events in the queue
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._on_timer_timeout)

    @property
    def sink(self) -> QueueSink:
        return self._sink

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def add_coalescing(self, kind: type[E], key: Callable[[E], Hashable]) -> None:
        """Collapse repeated ``kind`` events with the same ``key(event)`` per drain."""
        self._coalesce[kind] = key

    def subscribe(self, kind: type[E], slot: Callable[[E], None]) -> None:
        """Call ``slot(event)`` on the GUI thread for every event of type ``kind``."""
        self._handlers.append((kind, slot))
        self._dispatch.clear()

    def unsubscribe(self, slot: Callable[[E], None]) -> None:
        self._handlers = [(k, s) for k, s in self._handlers if s != slot]
        self._dispatch.clear()

    @Slot()
    def _on_timer_timeout(self) -> None:
        self.drain(budget_ms=self._budget_ms)

    def drain(self, *, budget_ms: float | None = None) -> list[Event]:
        """Deliver what is queued now; returns the delivered events (after coalescing).

        With ``budget_ms`` (the timer's drains), delivery stops once that much time has
        passed (at least one event is delivered per call); the rest is kept, in order,
        for the next drain, which runs as soon as the event loop has handled what else
        is pending (input, paint, timers). Without it (tests, shutdown) everything queued
        now is delivered.
        """
        events = self._take()
        if not events:
            return events
        delivered = events
        if budget_ms is None:
            self._deliver(events)
        else:
            deadline = time.perf_counter() + budget_ms / 1000
            done = self._deliver(events, deadline)
            delivered, self._backlog = events[:done], events[done:]
        if (self._backlog or self._more) and self._timer.isActive():
            QTimer.singleShot(0, self, self._on_timer_timeout)  # more waiting: soon
        self.batch_arrived.emit(delivered)
        return delivered

    def _take(self) -> list[Event]:
        """The backlog of the last drain, then what workers queued since, coalesced (a
        progress snapshot still waiting is replaced by a newer one)."""
        room = MAX_EVENTS_PER_DRAIN - len(self._backlog)
        raw = self._sink.drain(room) if room > 0 else []
        self._more = len(raw) == room  # the queue may hold more
        if self._backlog:
            raw = self._backlog + raw
            self._backlog = []
        return coalesce(raw, self._coalesce)

    def _deliver(self, events: list[Event], deadline: float | None = None) -> int:
        """Call the slots for ``events`` in order; stop after the deadline. Returns how
        many events were delivered."""
        for n, event in enumerate(events):
            if deadline is not None and n and time.perf_counter() > deadline:
                return n
            for slot in self._slots_for(type(event)):
                try:
                    slot(event)
                except Exception:  # a broken widget must not stop the others
                    log.exception("handler %r failed on %r", slot, event)
        return len(events)

    def _slots_for(self, kind: type[Event]) -> tuple[SlotFn, ...]:
        """The slots subscribed to ``kind`` or a base of it, in subscription order."""
        slots = self._dispatch.get(kind)
        if slots is None:
            slots = tuple(s for k, s in self._handlers if issubclass(kind, k))
            self._dispatch[kind] = slots
        return slots


def coalesce(events: list[Event], rules: Mapping[type[Event], KeyFunc]) -> list[Event]:
    """Keep only the last event per (type, key) for the types in ``rules``; keep order."""
    if not rules or len(events) < 2:
        return events
    last_index: dict[tuple[type[Event], Hashable], int] = {}
    keyed: list[tuple[type[Event], Hashable] | None] = []
    for i, event in enumerate(events):
        key = _key_of(event, rules)
        keyed.append(key)
        if key is not None:
            last_index[key] = i
    return [
        e
        for i, (e, k) in enumerate(zip(events, keyed, strict=True))
        if k is None or last_index[k] == i
    ]


def _key_of(
    event: Event, rules: Mapping[type[Event], KeyFunc]
) -> tuple[type[Event], Hashable] | None:
    for kind, key in rules.items():
        if isinstance(event, kind):
            return (kind, key(event))
    return None


def app_pump(sink: QueueSink, parent: QObject | None = None) -> EventPump:
    """The app's pump: copy progress collapses to the latest snapshot per job."""
    from almc_assistant.core.inspect.events import FileChecked
    from almc_assistant.core.transfer.events import JobProgressed

    pump = EventPump(sink, parent=parent)
    pump.add_coalescing(JobProgressed, lambda e: e.snapshot.job_id)
    pump.add_coalescing(FileChecked, lambda e: e.path)
    return pump

"""The one place where core events cross into the GUI thread.

Thread contract: :class:`EventPump` lives on the GUI thread and must be created there.
Workers publish frozen events to a :class:`~almc_assistant.core.events.QueueSink` from any
thread; the pump drains that queue on a ``QTimer`` (every 50-100 ms), collapses repeated
progress events to the latest one per key (a job, a file), and re-emits each event on
the GUI thread through ``Signal(object)``. No Qt signal is ever emitted from a worker.

Widgets subscribe in two ways:

- ``pump.batch_arrived`` (``Signal(object)``): the list of one drain, after coalescing
  (one signal per drain, not one per event: a Qt signal costs far more than a call);
- ``pump.subscribe(EventType, slot)``: ``slot(event)`` for events of that type (or a
  subclass), called on the GUI thread in publishing order.

Tests call :meth:`EventPump.drain` directly for deterministic delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from almc_assistant.core.events import Event, QueueSink

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
KeyFunc = Callable[[Any], Hashable]

DEFAULT_INTERVAL_MS = 75
# A drain never takes more than this many events at once, so a burst of tens of
# thousands of events cannot stall the event loop; when more are waiting, the next drain
# runs as soon as the loop has handled what else is pending (input, paint, timers).
MAX_EVENTS_PER_DRAIN = 1000


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
    """

    batch_arrived = Signal(object)

    def __init__(
        self,
        sink: QueueSink,
        *,
        coalesce: Mapping[type[Event], KeyFunc] | None = None,
        interval_ms: int = DEFAULT_INTERVAL_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._sink = sink
        self._coalesce: dict[type[Event], KeyFunc] = dict(coalesce or {})
        self._handlers: list[tuple[type[Event], Callable[[Any], None]]] = []
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

    def is_running(self) -> bool:
        return self._timer.isActive()

    def add_coalescing(self, kind: type[Event], key: KeyFunc) -> None:
        """Collapse repeated ``kind`` events with the same ``key(event)`` per drain."""
        self._coalesce[kind] = key

    def subscribe(self, kind: type[E], slot: Callable[[E], None]) -> None:
        """Call ``slot(event)`` on the GUI thread for every event of type ``kind``."""
        self._handlers.append((kind, slot))

    def unsubscribe(self, slot: Callable[[Any], None]) -> None:
        self._handlers = [(k, s) for k, s in self._handlers if s != slot]

    @Slot()
    def _on_timer_timeout(self) -> None:
        self.drain()

    def drain(self) -> list[Event]:
        """Deliver what is queued now; returns the delivered events (after coalescing)."""
        raw = self._sink.drain(MAX_EVENTS_PER_DRAIN)
        if len(raw) == MAX_EVENTS_PER_DRAIN and self._timer.isActive():
            QTimer.singleShot(0, self, self._on_timer_timeout)  # more waiting: soon
        events = coalesce(raw, self._coalesce)
        if not events:
            return events
        for event in events:
            for kind, slot in list(self._handlers):
                if isinstance(event, kind):
                    try:
                        slot(event)
                    except Exception:  # a broken widget must not stop the others
                        log.exception("handler %r failed on %r", slot, event)
        self.batch_arrived.emit(events)
        return events


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

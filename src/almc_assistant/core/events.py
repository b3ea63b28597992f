"""Immutable event records and the sinks workers publish them to.

Thread contract: every sink here may be published to from any thread. Workers (copy pool,
watchdog observers, stabiliser, checkers) publish frozen dataclasses deriving from
:class:`Event`; front ends consume them. The CLI reads them directly; the GUI drains a
:class:`QueueSink` on its own thread (``qt/bridge.py``), so no Qt object is ever touched
from a worker.

Event classes are defined next to the code that publishes them (``core.transfer.events``,
``core.watch.events``, ...). Their names are past tense: ``CopyVerified``, ``FileStabilised``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every event: when it happened (``time.time()``)."""

    at: float = field(default_factory=time.time)


E = TypeVar("E", bound=Event)


class EventSink(Protocol):
    """Where workers publish events. Implementations must be thread-safe."""

    def publish(self, event: Event) -> None: ...


def publish_all(sink: EventSink, events: Sequence[Event]) -> None:
    """Publish ``events`` in order: in one call where ``sink`` takes several at once (a
    ``publish_many`` method: a group of copies recorded in one go), else one by one.
    Every event is still published, each as itself."""
    many = getattr(sink, "publish_many", None)
    if many is not None:
        many(events)
        return
    for event in events:
        sink.publish(event)


class NullSink:
    """Drops everything (for callers that do not care)."""

    def publish(self, event: Event) -> None:
        return None


class ListSink:
    """Collects events in a list (tests, synchronous callers). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[Event] = []

    def publish(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def publish_many(self, events: Sequence[Event]) -> None:
        with self._lock:
            self._events.extend(events)

    @property
    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def of_type(self, kind: type[E]) -> list[E]:
        """Every collected event that is an instance of ``kind``."""
        return [e for e in self.events if isinstance(e, kind)]


class QueueSink:
    """A thread-safe FIFO that one consumer drains (the GUI's event pump, the CLI)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Event] = queue.SimpleQueue()

    def publish(self, event: Event) -> None:
        self._queue.put(event)

    def publish_many(self, events: Sequence[Event]) -> None:
        put = self._queue.put
        for event in events:
            put(event)

    def drain(self, limit: int | None = None) -> list[Event]:
        """Return what is queued now (at most ``limit`` events) without blocking."""
        out: list[Event] = []
        while limit is None or len(out) < limit:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return out

    def get(self, timeout: float | None = None) -> Event | None:
        """Block for the next event; ``None`` after ``timeout`` seconds."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def __iter__(self) -> Iterator[Event]:
        return iter(self.drain())


class CallbackSink:
    """Calls a function for every event, on the publishing thread.

    The callback must be thread-safe and quick; it must never touch a widget.
    """

    def __init__(self, callback: Callable[[Event], None]) -> None:
        self._callback = callback

    def publish(self, event: Event) -> None:
        self._callback(event)


class FanOutSink:
    """Publishes every event to several sinks in order."""

    def __init__(self, *sinks: EventSink) -> None:
        self._sinks = sinks

    def publish(self, event: Event) -> None:
        for sink in self._sinks:
            sink.publish(event)

    def publish_many(self, events: Sequence[Event]) -> None:
        """Each sink gets all of ``events`` (in one call where it takes several)."""
        for sink in self._sinks:
            publish_all(sink, events)

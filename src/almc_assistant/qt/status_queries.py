"""The controller's status queries, run off the GUI thread: results come through the pump.

Thread contract: :meth:`StatusQueries.request` and :meth:`StatusQueries.close` are called
on the GUI thread and return at once (``close`` waits for a query in flight, briefly).
The query runs in a short-lived worker thread: ``service.pending_summary()`` (a catalog
read) and, when asked, ``service.status()`` (every unsafe file of the user, and the disk
usage of each acquisition folder, which can hang on an unreachable network share). The
worker only publishes a :class:`StatusQueried` event to the app's sink; the pump
delivers it on the GUI thread. At most one query runs at a time: requests made while one
runs are merged into a single follow-up query, so a copy's stream of events never
queues up queries.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.events import Event, EventSink

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusQueried(Event):
    """The answers of one status query (``report`` only when it was asked for), or why
    the query failed (``title``, ``detail``)."""

    summary: Any = None  # PendingSummary
    report: Any = None  # StatusReport
    title: str = ""
    detail: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.title)


class StatusQueries:
    """Runs ``service.pending_summary()`` (and ``status()`` when asked) in a worker."""

    def __init__(self, service: Any, sink: EventSink) -> None:
        self._service = service
        self._sink = sink
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again: bool | None = None  # a request made meanwhile: with a report?
        self._closed = False

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._thread is not None

    def request(self, *, report: bool = False) -> None:
        """Ask for a fresh summary (and report); merged with a query already running."""
        with self._lock:
            if self._closed:
                return
            if self._thread is not None:
                self._again = report or bool(self._again)
                return
            self._thread = threading.Thread(
                target=self._run, args=(report,), name="almc-status-query", daemon=True
            )
            thread = self._thread
        thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """No more queries; wait for the one in flight (the service is about to stop)."""
        with self._lock:
            self._closed = True
            self._again = None
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self, report: bool) -> None:
        while True:
            self._sink.publish(self._query(report))
            with self._lock:
                again, self._again = self._again, None
                if again is None or self._closed:
                    self._thread = None
                    return
            report = again

    def _query(self, report: bool) -> StatusQueried:
        try:
            summary = self._service.pending_summary()
            full = self._service.status() if report else None
        except AlmcError as err:
            return StatusQueried(title=err.title, detail=err.detail)
        except Exception as exc:  # reported, never swallowed
            log.exception("status query failed")
            return StatusQueried(title="Status not available", detail=f"{type(exc).__name__}")
        return StatusQueried(summary=summary, report=full)

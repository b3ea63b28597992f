"""The controller's status queries, run off the GUI thread: results come through the pump.

Thread contract: :meth:`StatusQueries.request` and :meth:`StatusQueries.close` are called
on the GUI thread and return at once (``close`` waits for a query in flight, briefly).
The query runs in a short-lived worker thread: ``service.pending_summary()`` (a catalog
read) and, when asked, ``service.status()`` (every unsafe file of the user, and the disk
usage of each acquisition folder, which can hang on an unreachable network share) and
``service.warnings()`` (the pre-deletion warnings, from the same). The
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
    """The answers of one status query (``report`` and ``warnings`` only when they were
    asked for), or why the query failed (``title``, ``detail``)."""

    summary: Any = None  # PendingSummary
    report: Any = None  # StatusReport
    warnings: tuple[Any, ...] | None = None  # SafetyWarning
    title: str = ""
    detail: str = ""
    next_step: str = ""

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
        self._again: tuple[bool, bool] | None = None  # asked meanwhile: (report, warnings)
        self._closed = False

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._thread is not None

    def request(self, *, report: bool = False, warnings: bool = False) -> None:
        """Ask for a fresh summary (and report, and warnings); merged with a query already
        running into one more query."""
        with self._lock:
            if self._closed:
                return
            if self._thread is not None:
                before = self._again or (False, False)
                self._again = (before[0] or report, before[1] or warnings)
                return
            self._thread = threading.Thread(
                target=self._run,
                args=((report, warnings),),
                name="almc-status-query",
                daemon=True,
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

    def _run(self, asked: tuple[bool, bool]) -> None:
        while True:
            self._sink.publish(self._query(*asked))
            with self._lock:
                again, self._again = self._again, None
                if again is None or self._closed:
                    self._thread = None
                    return
            asked = again

    def _query(self, report: bool, warnings: bool) -> StatusQueried:
        try:
            summary = self._service.pending_summary()
            full = self._service.status() if report or warnings else None
            found = tuple(self._service.warnings()) if warnings else None
        except AlmcError as err:
            return StatusQueried(title=err.title, detail=err.detail, next_step=err.next_step)
        except Exception as exc:  # reported, never swallowed
            log.exception("status query failed")
            return StatusQueried(
                title="Status not available",
                detail=f"An unexpected error occurred ({type(exc).__name__}).",
                next_step="Quit and start almc-assistant again; if it persists, send its "
                "log file to the facility staff.",
            )
        return StatusQueried(summary=summary, report=full, warnings=found)

"""The GUI's service calls made with the real core pieces, for tests.

``core/service.py`` (the facade the app runs on) has not landed on this branch yet; until
it does, this adapter lets the windows run end to end on the real file check
(``core.inspect.check_paths``) and the real verified copy engine
(``core.transfer.start_copy``) in their own threads, publishing to the same queue the
pump drains. It holds no logic of its own beyond starting those threads.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from almc_assistant.core.events import Event, EventSink
from almc_assistant.core.inspect import check_paths
from almc_assistant.core.preflight import plan_files, preflight
from almc_assistant.core.session_end.pending import PendingSummary
from almc_assistant.core.transfer import CopyJob, CopyRequest, start_copy


@dataclass(frozen=True, slots=True, kw_only=True)
class ChecksReady(Event):
    """Test stand-in for the service's "check finished, here is the report" event."""

    roots: tuple[str, ...]
    report: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class PreflightDone(Event):
    """Test stand-in for the service's preflight-results event."""

    results: tuple[Any, ...]


class CoreBackedService:
    def __init__(
        self,
        sink: EventSink,
        destinations: Sequence[Any] = (),
        session_files: Sequence[Any] = (),
    ) -> None:
        self._sink = sink
        self._destinations = list(destinations)
        self._session_files = list(session_files)
        self._threads: list[threading.Thread] = []
        self.jobs: list[CopyJob] = []
        self.sessions_ended = 0

    def session_files(self) -> list[Any]:
        return list(self._session_files)

    def end_session(self) -> None:
        self.sessions_ended += 1

    def preflight(self, files: Sequence[Path], destinations: Sequence[Any]) -> None:
        planned = plan_files([Path(f) for f in files])
        chosen = list(destinations)

        def run() -> None:
            results = tuple(preflight(d, planned) for d in chosen)
            self._sink.publish(PreflightDone(results=results))

        self._start(run)

    def _start(self, run: Any) -> None:
        thread = threading.Thread(target=run, name="test-core-call")
        thread.start()
        self._threads.append(thread)

    def destinations(self) -> list[Any]:
        return list(self._destinations)

    def pending_summary(self) -> PendingSummary:
        return PendingSummary()

    def check(self, paths: Sequence[str]) -> None:
        roots = tuple(str(p) for p in paths)

        def run() -> None:
            report = check_paths(roots, sink=self._sink)
            self._sink.publish(ChecksReady(roots=roots, report=report))

        self._start(run)

    def start_copy(
        self, files: Sequence[Path], destinations: Sequence[Any], workers: int | None = None
    ) -> CopyJob:
        request = CopyRequest(
            sources=[Path(f) for f in files],
            destinations=[Path(d.path) for d in destinations],
            workers=workers,
            progress_interval=0.05,
        )
        job = start_copy(request, self._sink)
        self.jobs.append(job)
        return job

    def stop(self) -> None:
        for job in self.jobs:
            job.cancel()
            job.wait(30)
        for thread in self._threads:
            thread.join(30)

"""A rich progress bar on stderr fed with core progress snapshots.

Thread contract: main thread only. Disabled (a no-op) when stderr is not a terminal or
``--json`` was given, so scripts get clean output.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from almc_assistant.core.transfer import JobSnapshot
from almc_assistant.core.units import plural


class ProgressView:
    def __init__(self, *, enabled: bool, label: str) -> None:
        self._enabled = enabled
        self._label = label
        self._progress: Any = None  # rich.progress.Progress, imported lazily
        self._task: Any = None

    def __enter__(self) -> ProgressView:
        if self._enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                DownloadColumn(binary_units=True),
                TransferSpeedColumn(),
                TextColumn("{task.fields[files]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._label, total=None, files="")
        return self

    def update(self, snap: JobSnapshot) -> None:
        if self._progress is None or self._task is None:
            return
        self._progress.update(
            self._task,
            completed=snap.bytes_done,
            total=snap.bytes_total or None,
            files=f"{snap.files_done}/{plural(snap.files_total, 'file')}",
            description=f"{self._label} ({snap.state})" if snap.state != "running" else self._label,
        )

    def count(self, done: int, total: int, done_bytes: int, total_bytes: int) -> None:
        """Progress without a snapshot (``verify`` counts its own events)."""
        if self._progress is None or self._task is None:
            return
        self._progress.update(
            self._task,
            completed=done_bytes,
            total=total_bytes or None,
            files=f"{done}/{plural(total, 'file')}",
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

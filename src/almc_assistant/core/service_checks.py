"""The service's checking part: file checks (``core.inspect``), their verdicts recorded.

Thread contract: any thread. Finished files the watcher reports wait in one queue that
one worker task drains (a scan of 10^5 files queues paths, not 10^5 tasks);
:meth:`Checking.check` runs in a worker and publishes ``FileChecked`` per file and
``CheckReportReady`` at the end; :meth:`Checking.partial_datasets` and
:meth:`Checking.verdict_of` block (they read files: the CLI, or a worker).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from almc_assistant.core import service_events as ev
from almc_assistant.core.catalog import Catalog
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.service_runtime import Runtime

if TYPE_CHECKING:
    from almc_assistant.core.inspect import CheckReport, PartialDataset


class Checking:
    """Checks of finished files (queued) and of what the user asks for."""

    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime
        self._to_check: deque[Path] = deque()
        self._checking = False

    def queue(self, path: Path) -> None:
        """Check a finished file in a worker; its verdict is recorded and published."""
        with self._rt.lock:
            self._to_check.append(path)
            if self._checking:
                return
            self._checking = True
        self._rt.submit("check", self._check_queued)

    def _check_queued(self) -> None:
        while True:
            with self._rt.lock:
                if not self._to_check:
                    self._checking = False
                    return
                path = self._to_check.popleft()
            self._check_one(path)

    def _check_one(self, path: Path) -> None:
        from almc_assistant.core.catalog.revalidate import revalidate
        from almc_assistant.core.inspect import check_file

        # Its identity moved but not its size or mtime (chmod, a hard link, or an edit
        # with the mtime restored): re-hash it to tell whether its copies still hold it.
        self._rt.recorder.flush()
        revalidate(self._rt.catalog, path)
        result = check_file(path)
        verdict, reasons = str(result.verdict), tuple(result.reasons)
        self._rt.recorder.submit(lambda c: c.record_verdict(path, verdict, reasons))
        self._rt.sink.publish(
            ev.VerdictRecorded(
                path=path, verdict=verdict, reasons=reasons, next_step=result.next_step
            )
        )

    def check(self, paths: Sequence[Path | str]) -> Future[CheckReport]:
        """Check files and folders in a worker; progress arrives as the checker's events
        (``FileChecked``), the whole report as ``CheckReportReady`` (or ``CheckFailed``);
        verdicts of catalogued files are stored."""
        names = tuple(str(p) for p in paths)

        def run() -> CheckReport:
            try:
                return self.check_now(paths)
            except AlmcError as err:
                self._rt.sink.publish(
                    ev.CheckFailed(
                        paths=names, title=err.title, detail=err.detail, next_step=err.next_step
                    )
                )
                raise
            except Exception as exc:  # ServiceFailed tells the rest
                self._rt.sink.publish(
                    ev.CheckFailed(paths=names, title="Check failed", detail=str(exc))
                )
                raise

        return self._rt.submit("check", run)

    def check_now(
        self, paths: Sequence[Path | str], *, workers: int | None = None, record: bool = True
    ) -> CheckReport:
        """Blocking :meth:`check` (the command line; ``record=False`` leaves the catalog
        alone): the checker's events go to the service's sink as they happen."""
        from almc_assistant.core.inspect import check_paths

        report = check_paths(list(paths), sink=self._rt.sink, workers=workers)
        if record:
            verdicts = [(fc.path, str(fc.verdict), tuple(fc.reasons)) for fc in report.files]

            def store(catalog: Catalog) -> None:
                for path, verdict, reasons in verdicts:
                    catalog.record_verdict(path, verdict, reasons)

            self._rt.recorder.submit(store)
        self._rt.sink.publish(
            ev.CheckReportReady(paths=tuple(str(p) for p in paths), report=report)
        )
        return report

    @staticmethod
    def partial_datasets(paths: Sequence[Path | str]) -> list[PartialDataset]:
        """Multi-file datasets of which ``paths`` hold only some files (blocking)."""
        from almc_assistant.core.inspect import partial_datasets

        return partial_datasets(paths)

    @staticmethod
    def verdict_of(path: Path) -> tuple[str, tuple[str, ...]]:
        """One file's verdict and reasons (blocking: it reads the file's headers)."""
        from almc_assistant.core.inspect import check_file

        result = check_file(path)
        return str(result.verdict), tuple(result.reasons)

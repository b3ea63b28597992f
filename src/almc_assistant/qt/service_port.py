"""What the GUI needs from the core's service facade (``core/service.py``).

Thread contract: every method is called on the GUI thread and returns at once; the work
runs in the core's workers and reports through events (``qt/bridge.py``). This Protocol
only names the calls the windows make, so that each window states its dependency and a
test can hand it a small fake for what is not reachable; the app itself always runs on
the real :class:`almc_assistant.core.service.Service` (which satisfies it).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Protocol

from almc_assistant.core.config import ReminderSettings
from almc_assistant.core.session import PendingSummary


class ServicePort(Protocol):
    def pending_summary(self) -> PendingSummary: ...

    def reminder_settings(self) -> ReminderSettings: ...

    def status(self) -> Any: ...

    def session_files(self) -> Sequence[Any]: ...

    def destinations(self) -> Sequence[Any]: ...

    def warnings(self) -> Sequence[Any]: ...

    def start_watching(self) -> None: ...

    def stop(self) -> None: ...

    def check(self, paths: Sequence[Path]) -> Future[Any]: ...

    def preflight(self, files: Sequence[Path], destinations: Sequence[Any]) -> int: ...

    def start_copy(
        self,
        files: Sequence[Any],
        destinations: Sequence[Any],
        workers: int | None = None,
        *,
        keep_tree: bool = False,
    ) -> Any: ...

    def end_session(self) -> Any: ...

    def save_user_config(self, settings: Any) -> Any: ...

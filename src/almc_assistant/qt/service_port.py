"""The typed port between the GUI and the core's service (``core/service.py``).

Thread contract: every method is called on the GUI thread and returns at once, never
waiting for the engine; the work runs in the core's workers and the GUI learns of every
change through events delivered by the pump (``qt/bridge.py``): ``StatusQueried``
answers ``request_status``, ``PreflightFinished`` answers ``preflight``,
``LocationsChecked`` answers ``test_locations``, ``RemoteTested`` answers the remote
set-up calls, ``CheckReportReady``/``CheckFailed`` answer ``check``, the copy engine's
events follow a copy, ``SessionEnded`` follows ``end_session``, ``TextSaved``/
``TextSaveFailed`` answer ``save_text``, and ``SettingsApplied`` says a save is in force
(a window never says so before it arrives). On the engine in its own process every
refusal arrives as an event too: ``PreflightFinished`` or ``LocationsChecked`` with
``error_title``, a failed ``RemoteTested``, the job's ``JobFinished`` in state
"refused", ``SettingsNotSaved``, ``ServiceFailed`` (watching, ending the session); the
in-process service (the end-to-end tests) may still raise ``AlmcError`` at once (it
writes the settings file before it returns): the windows handle both. ``start_watching``
raises ``NotSetUp`` at once on both (from the configuration in force).
``pending_summary`` and ``session_files`` may wait for the engine (bounded by its call
timeout): the session-end guard's worker and the wizard's files page's worker call them;
on the GUI thread only the status presenter's ``refresh`` does, at start and when the
user quits (a fresh count decides the quit question; no tray state says "not known
yet"), otherwise the tray's status comes from ``StatusQueried`` and ``StatusChanged``.

This Protocol names only the calls the windows make, with the core's own value types, so that each
window states its dependency and a test can hand it a small fake
(``tests/qt/helpers.py`` ``FakeService``, checked against it by mypy); the tray app runs
on the real service in a child process
(:class:`almc_assistant.core.service_process.EngineProcess`, which satisfies it, as mypy
checks in ``qt/app.py``), the end-to-end tests on the in-process
:class:`almc_assistant.core.service.Service`. The slow queries (``status``,
``warnings``) are not in it: the GUI asks for them with ``request_status``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from almc_assistant.core.autostart import Autostart
from almc_assistant.core.catalog import FileRecord
from almc_assistant.core.config import Config, ReminderSettings, UserSettings
from almc_assistant.core.destinations import Destination
from almc_assistant.core.service_remotes import RemoteSetup
from almc_assistant.core.session import PendingSummary


class CopyHandle(Protocol):
    """A running copy (the copy engine's ``CopyJob``): its id names it in the events."""

    @property
    def job_id(self) -> str: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def cancel(self) -> None: ...


class ServicePort(Protocol):
    @property
    def config(self) -> Config:
        """The configuration in force (it changes when settings apply)."""
        ...

    def pending_summary(self) -> PendingSummary: ...

    def reminder_settings(self) -> ReminderSettings: ...

    def autostart(self) -> Autostart: ...

    def request_status(self, *, report: bool = False, warnings: bool = False) -> None: ...

    def session_files(self) -> Sequence[FileRecord]: ...

    def destinations(self) -> Sequence[Destination]: ...

    def start_watching(self) -> None: ...

    def stop(self) -> None: ...

    def check(self, paths: Sequence[Path]) -> object: ...

    def preflight(self, files: Sequence[Path], destinations: Sequence[Destination]) -> int: ...

    def start_copy(
        self,
        files: Sequence[Path],
        destinations: Sequence[Destination | Path],
        workers: int | None = None,
        *,
        keep_tree: bool = False,
    ) -> CopyHandle: ...

    def end_session(self) -> int | None: ...

    def save_user_config(self, settings: UserSettings) -> Path: ...

    def save_text(self, path: str, text: str) -> None: ...

    def test_locations(
        self, folders: Sequence[Path], destinations: Sequence[Destination]
    ) -> int: ...

    # Remote destinations (issue 13): each returns a request id at once; the answer is
    # ``RemoteTested`` (``sign_in``: ``SignInOpened`` first). ``RemoteSetup`` is a plain
    # frozen dataclass of strings.
    def set_up_remote(self, setup: RemoteSetup) -> int: ...

    def test_remote(self, destination: str) -> int: ...

    def trust_host_key(self, destination: str, fingerprint: str) -> int: ...

    def sign_in(self, backend: str, name: str, folder: str = "") -> int: ...

    def cancel_sign_in(self, request_id: int) -> None: ...

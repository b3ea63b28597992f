"""Events the service publishes (besides those of the watcher, checker and copy engine).

Thread contract: frozen values, published from the service's worker threads (catalog
writer, checker, preflight and cleanup workers) or from the caller's thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from almc_assistant.core.config import Config
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.events import Event
from almc_assistant.core.location_check import LocationCheck
from almc_assistant.core.plan_safety import PlanSafety
from almc_assistant.core.preflight import PreflightResult
from almc_assistant.core.session import PendingSummary
from almc_assistant.core.setup_state import SetupNeeded
from almc_assistant.core.status import StatusReport
from almc_assistant.core.warnings import SafetyWarning

if TYPE_CHECKING:
    from almc_assistant.core.inspect import CheckReport


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceFailed(Event):
    """Work in a service worker failed; the app keeps running."""

    action: str  # "record", "check", "preflight", "cleanup", "watch", ...
    title: str
    detail: str
    next_step: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogRecovered(Event):
    """The catalog file was damaged, moved aside and rebuilt (a scan restores files)."""

    damaged: Path
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogBacklog(Event):
    """Catalog writes are waiting (disk full, database locked); they are retried.

    ``waiting`` is 0 when the backlog has been written.
    """

    waiting: int
    title: str
    detail: str
    next_step: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FileLost(Event):
    """A file was deleted from the workstation before it had a verified copy."""

    path: Path
    owner: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VerdictRecorded(Event):
    """A finished file was checked and its verdict stored in the catalog."""

    path: Path
    verdict: str
    reasons: tuple[str, ...]
    next_step: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusChanged(Event):
    """This user's pending summary after the catalog changed (tray state, tooltip)."""

    pending: PendingSummary


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusQueried(Event):
    """The answer to ``Service.request_status``: the pending summary, and the status
    report and warnings when they were asked for; or why the query failed (``title``,
    ``detail``, ``next_step``)."""

    summary: PendingSummary | None = None
    report: StatusReport | None = None
    warnings: tuple[SafetyWarning, ...] | None = None
    title: str = ""
    detail: str = ""
    next_step: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.title)


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionEnded(Event):
    session_id: int | None
    pending: PendingSummary


@dataclass(frozen=True, slots=True, kw_only=True)
class PreflightFinished(Event):
    """The answer to ``Service.preflight``. When it could not run (the engine refused
    or is gone) ``error_title`` says why, with no results and no safety."""

    request_id: int
    results: tuple[PreflightResult, ...]
    safety: PlanSafety | None = None  # what the copies would count for under the policy
    error_title: str = ""
    error_detail: str = ""
    error_next_step: str = ""


def preflight_failed(request_id: int, exc: BaseException) -> PreflightFinished:
    """The ``PreflightFinished`` of a preflight that could not run, saying why."""
    if isinstance(exc, AlmcError):
        title, detail, next_step = exc.title, exc.detail, exc.next_step
    else:
        title, detail = "The destinations could not be checked", f"{type(exc).__name__}: {exc}"
        next_step = "Try again; if this repeats, send the log folder to the facility staff."
    return PreflightFinished(
        request_id=request_id,
        results=(),
        error_title=title,
        error_detail=detail,
        error_next_step=next_step,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckReportReady(Event):
    """``Service.check(paths)`` finished: the whole report (files and datasets)."""

    paths: tuple[str, ...]
    report: CheckReport


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsApplied(Event):
    """New settings were saved and now apply (``Service.apply_settings``): the watched
    folders, the safety policy, and, for whoever holds them, the reminder settings."""

    config: Config
    setup: SetupNeeded | None  # still not set up (no acquisition folders), and why


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsNotSaved(Event):
    """Settings asked of the engine in its own process (``save_user_config``) were not
    saved: the file could not be written, or the engine is gone. Nothing changed: the
    settings in force are the ones before (the in-process service raises instead)."""

    title: str
    detail: str
    next_step: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckFailed(Event):
    """``Service.check(paths)`` failed as a whole (``ServiceFailed`` says so too)."""

    paths: tuple[str, ...]
    title: str
    detail: str
    next_step: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TextSaved(Event):
    """``Service.save_text``: the text is at ``path`` (written whole, then renamed)."""

    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TextSaveFailed(Event):
    """``Service.save_text`` could not write ``path``; nothing is left at that name."""

    path: str
    title: str
    detail: str
    next_step: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationsChecked(Event):
    """The answer to ``Service.test_locations``: one result per folder and destination."""

    request_id: int
    results: tuple[LocationCheck, ...]
    error_title: str = ""  # the test could not run (the engine refused or is gone)
    error_detail: str = ""
    error_next_step: str = ""

"""Hand-written fakes for the GUI tests: a recording prompter and a small service.

The prompter stands in for the user (a real modal dialog cannot be answered offscreen).
:class:`FakeService` stands in only for core queries whose real implementation is not
reachable from these tests; it does no I/O and answers at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from almc_assistant.core.autostart import Autostart
from almc_assistant.core.catalog import FileRecord, FileState
from almc_assistant.core.config import Config, ReminderSettings, UserSettings
from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.events import EventSink
from almc_assistant.core.inspect import FileCheck, Verdict
from almc_assistant.core.service_events import StatusQueried
from almc_assistant.core.service_remotes import RemoteSetup
from almc_assistant.core.session_end.pending import PendingSummary as Summary
from almc_assistant.core.status import (
    OverallState,
    Problem,
    SessionStatus,
    StatusReport,
    UnsafeDataset,
    UnsafeFile,
    VolumeUsage,
)
from almc_assistant.core.transfer.events import (
    CopyFailed,
    CopyVerified,
    JobFinished,
    JobProgressed,
    JobSnapshot,
)
from almc_assistant.core.transfer.events import JobSummary as EngineJobSummary
from almc_assistant.core.warnings import SafetyWarning
from almc_assistant.qt.prompts import Message, Question
from almc_assistant.qt.service_port import CopyHandle

T = TypeVar("T")


@dataclass
class RecordingPrompter:
    """Records every prompt; answers questions from ``answers`` (by question key)."""

    answers: dict[str, str] = field(default_factory=dict)
    asked: list[Question] = field(default_factory=list)
    told: list[Message] = field(default_factory=list)
    crashes: list[tuple[str, str, str]] = field(default_factory=list)
    files_to_choose: list[str] = field(default_factory=list)
    folder_to_choose: str = ""
    folder_start: str = ""  # where the last folder picker opened
    save_file: str = ""
    printed: list[tuple[str, str]] = field(default_factory=list)

    def ask(self, question: Question) -> str:
        self.asked.append(question)
        if question.key not in self.answers:
            raise AssertionError(f"unexpected question {question.key!r}: {question.text}")
        answer = self.answers[question.key]
        assert answer in {c.key for c in question.choices}, answer
        return answer

    def tell(self, message: Message) -> None:
        self.told.append(message)

    def report_crash(self, summary: str, details: str, log_file: str) -> None:
        self.crashes.append((summary, details, log_file))

    def choose_files(self, title: str, start: str = "") -> list[str]:
        return list(self.files_to_choose)

    def choose_folder(self, title: str, start: str = "") -> str:
        self.folder_start = start
        return self.folder_to_choose

    def choose_save_file(self, title: str, suggested: str, filters: str) -> str:
        return self.save_file

    def print_html(self, title: str, html: str) -> bool:
        self.printed.append((title, html))
        return True


@dataclass
class FakeService:
    """The typed port's fake (``qt/service_port.py``; mypy checks that it is one
    wherever a test hands it to a window or the controller):
    answers the quick queries from fields; records the actions it was asked for. Tests
    subclass it to change one answer."""

    pending: Summary = field(default_factory=lambda: Summary(0, 0, None))
    reminders: ReminderSettings = field(default_factory=ReminderSettings)
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    config: Config = field(default_factory=Config)
    # Where request_status answers go (the pump's sink); None: asked, never answered.
    sink: EventSink | None = None

    def request_status(self, *, report: bool = False, warnings: bool = False) -> None:
        """Answers as the service does, on a thread of its own, through the sink."""
        self.calls.append(("request_status", (report, warnings)))
        sink = self.sink
        if sink is None:
            return

        def run() -> None:
            try:
                summary = self.pending_summary()
                full = self.status() if report or warnings else None
                found = tuple(self.warnings()) if warnings else None
            except AlmcError as err:
                sink.publish(StatusQueried(title=err.title, detail=err.detail))
                return
            sink.publish(StatusQueried(summary=summary, report=full, warnings=found))

        thread = threading.Thread(target=run, name="fake-status-query", daemon=True)
        thread.start()
        thread.join(10)

    def autostart(self) -> Autostart:
        from almc_assistant.core.autostart import for_config
        from almc_assistant.core.paths import AppPaths

        return for_config(self.config, AppPaths.default())  # the test's own XDG folders

    def save_text(self, path: str, text: str) -> None:
        self.calls.append(("save_text", (path,)))

    def pending_summary(self) -> Summary:
        return self.pending

    def start_watching(self) -> None:
        self.calls.append(("start_watching", ()))

    def stop(self) -> None:
        self.calls.append(("stop", ()))

    def session_files(self) -> Sequence[FileRecord]:
        return []

    def status(self) -> StatusReport:
        """Not in the port: what ``request_status(report=True)`` answers with."""
        return status_report()

    def warnings(self) -> list[SafetyWarning]:
        """Not in the port: what ``request_status(warnings=True)`` answers with."""
        return []

    def destinations(self) -> Sequence[Destination]:
        return []

    def reminder_settings(self) -> ReminderSettings:
        return self.reminders

    def preflight(self, files: Sequence[Path], destinations: Sequence[Destination]) -> int:
        self.calls.append(("preflight", (files, destinations)))
        return len(self.calls)

    def check(self, paths: Sequence[Path]) -> object:
        self.calls.append(("check", ([str(p) for p in paths],)))
        return Future()  # still running, as far as the window can tell

    def start_copy(
        self,
        files: Sequence[Path],
        destinations: Sequence[Destination | Path],
        workers: int | None = None,
        *,
        keep_tree: bool = False,
    ) -> CopyHandle:
        self.calls.append(("start_copy", (files, destinations)))
        return FakeJob(f"job-{len(self.calls)}")

    def end_session(self) -> int | None:
        self.calls.append(("end_session", ()))
        return None

    def save_user_config(self, settings: UserSettings) -> Path:
        self.calls.append(("save_user_config", (settings,)))
        return Path("config.toml")

    def test_locations(self, folders: Sequence[Path], destinations: Sequence[Destination]) -> int:
        self.calls.append(("test_locations", (folders, destinations)))
        return len(self.calls)

    def set_up_remote(self, setup: RemoteSetup) -> int:
        self.calls.append(("set_up_remote", (setup,)))
        return len(self.calls)

    def test_remote(self, destination: str) -> int:
        self.calls.append(("test_remote", (destination,)))
        return len(self.calls)

    def trust_host_key(self, destination: str, fingerprint: str) -> int:
        self.calls.append(("trust_host_key", (destination, fingerprint)))
        return len(self.calls)

    def sign_in(self, backend: str, name: str, folder: str = "") -> int:
        self.calls.append(("sign_in", (backend, name, folder)))
        return len(self.calls)

    def cancel_sign_in(self, request_id: int) -> None:
        self.calls.append(("cancel_sign_in", (request_id,)))


def status_report(
    *,
    sessions: Sequence[SessionStatus] = (),
    volumes: Sequence[VolumeUsage] = (),
    problems: Sequence[Problem] = (),
    files: Sequence[UnsafeFile] = (),
    datasets: Sequence[UnsafeDataset] = (),
) -> StatusReport:
    """The service's status report with only what a test gives (nothing else at risk)."""
    return StatusReport(
        user="me",
        state=OverallState.PROBLEM if problems else OverallState.ALL_SAFE,
        sessions=tuple(sessions),
        files=tuple(files),
        total_files=len(files),
        total_bytes=sum(f.size for f in files),
        lost=(),
        volumes=tuple(volumes),
        problems=tuple(problems),
        generated_at=0.0,
        datasets=tuple(datasets),
    )


def unsafe_file(path: str | Path, size: int, candidate_date: float, missing: str) -> UnsafeFile:
    """One file of the status report not backed up yet (a finished file, checked)."""
    return UnsafeFile(
        path=Path(path),
        size=size,
        session_id=1,
        state=FileState.COMPLETE,
        verdict="native-ok",
        candidate_date=candidate_date,
        warn_date=candidate_date,
        missing=missing,
    )


def file_record(
    path: Path,
    size: int = 1,
    state: FileState = FileState.COMPLETE,
    verdict: str | None = "tiff-uncompressed-ok",
) -> FileRecord:
    """A file of this session as the catalog lists it (no copy yet)."""
    return FileRecord(
        id=0,
        path=path,
        size=size,
        mtime_ns=0,
        owner="me",
        first_seen=0.0,
        born=0.0,
        session_id=1,
        state=state,
        verdict=verdict,
        verdict_reasons=(),
        safe=False,
    )


def today_summary(files: int, size: int) -> Summary:
    return Summary(files, size, time.time())


# ---------------------------------------------------------------------------- transfer
# The core's own values (core.inspect's FileCheck, core.transfer.events), made briefly
# with the positional calls the tests were written with.


def Check(
    path: str | Path,
    verdict: str,
    size: int | None = 0,
    reasons: tuple[str, ...] = (),
    next_step: str = "",
) -> FileCheck:
    """The check's answer for one file (as in its ``CheckReport``)."""
    return FileCheck(Path(path), Verdict(verdict), "", size, reasons, next_step)


def Dest(name: str, path: Path, kind: str = "other", origin: str = "user") -> Destination:
    """A real destination, briefly (the tests' older stand-in's call)."""
    return Destination(name, path, DestinationKind(kind), origin)


@dataclass
class FakeJob:
    job_id: str
    actions: list[str] = field(default_factory=list)

    def pause(self) -> None:
        self.actions.append("pause")

    def resume(self) -> None:
        self.actions.append("resume")

    def cancel(self) -> None:
        self.actions.append("cancel")


@dataclass
class TransferService(FakeService):
    dests: list[Destination] = field(default_factory=list)
    checked: list[list[str]] = field(default_factory=list)
    jobs: list[tuple[list[Path], list[Destination | Path], FakeJob]] = field(default_factory=list)

    def destinations(self) -> list[Destination]:
        return list(self.dests)

    def check(self, paths: Sequence[Path]) -> object:
        self.checked.append([str(p) for p in paths])
        return Future()

    def start_copy(
        self,
        files: Sequence[Path],
        destinations: Sequence[Destination | Path],
        workers: int | None = None,
        *,
        keep_tree: bool = False,
    ) -> FakeJob:
        assert keep_tree  # every GUI copy keeps the acquisition tree (core.layout)
        job = FakeJob(f"job-{len(self.jobs) + 1}")
        self.jobs.append((list(files), list(destinations), job))
        return job


def _by_position(cls: Callable[..., T], args: Sequence[Any], kwargs: dict[str, Any]) -> T:
    """``cls`` (a keyword-only dataclass of the core) made from its fields in order."""
    names = [f.name for f in fields(cls) if f.name != "at"]  # type: ignore[arg-type]
    return cls(**dict(zip(names, args, strict=False)), **kwargs)


def Snapshot(*args: Any) -> JobSnapshot:
    """(job_id, state, bytes_done, bytes_total, files_done, files_total, rate, eta)"""
    return _by_position(JobSnapshot, args, {})


def Progressed(snapshot: JobSnapshot) -> JobProgressed:
    return JobProgressed(snapshot=snapshot)


def copy_verified(job_id: str, source: Path, destination_root: Path) -> CopyVerified:
    """The engine's event for a verified copy of ``source`` at ``destination_root``."""
    copy = CopyRecord(
        source=source,
        destination_root=destination_root,
        path=destination_root / source.name,
        size=0,
        mtime_ns=0,
        blake3="0" * 64,
        verified_at=0.0,
    )
    return CopyVerified(job_id=job_id, copy=copy)


def Failed(*args: Any, **kwargs: Any) -> CopyFailed:
    """(job_id, source, destination_root, title, detail, next_step[, retryable])"""
    retry = {"retryable": False} if len(args) < 7 else {}
    return _by_position(CopyFailed, args, {**retry, **kwargs})


def JobSummary(*args: Any, **kwargs: Any) -> EngineJobSummary:
    """(job_id, state, files_total, bytes_total, verified, skipped, failed), and nothing
    of sources skipped, no bytes copied, no seconds unless given."""
    counts = {"sources_skipped": 0, "bytes_copied": 0, "seconds": 0.0, **kwargs}
    return _by_position(EngineJobSummary, args, counts)


def Finished(job_id: str, summary: EngineJobSummary) -> JobFinished:
    return JobFinished(job_id=job_id, summary=summary)


def engine_summary(job_id: str, state: str, **counts: Any) -> EngineJobSummary:
    """The copy engine's real ``JobSummary``: one file of 100 bytes, nothing done unless
    said (``verified=1``, ``error_title=...``)."""
    fields: dict[str, Any] = {
        "files_total": 1,
        "bytes_total": 100,
        "verified": 0,
        "skipped": 0,
        "failed": 0,
        "sources_skipped": 0,
        "bytes_copied": 0,
        "seconds": 1.0,
    }
    return EngineJobSummary(job_id=job_id, state=state, **{**fields, **counts})

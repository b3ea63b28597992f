"""The service's copying part: verified copies (``core.transfer``), recorded in the catalog.

Thread contract: any thread. :meth:`Copying.start_copy` returns at once with the running
job (the copy engine's pool does the work and publishes its events); each verified copy
is queued for the catalog writer (a worker's group of copies as one write).
:meth:`Copying.preflight` returns a request id at once and publishes
``PreflightFinished`` from a worker; :meth:`Copying.preflight_now`,
:meth:`Copying.plan_safety`, :meth:`Copying.import_receipts` and
:meth:`Copying.verify_destination` block (they stat or read storage: the CLI, or a worker).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from almc_assistant.core import service_events as ev
from almc_assistant.core.catalog import Catalog
from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.destinations import Destination
from almc_assistant.core.errors import ServiceStopped
from almc_assistant.core.events import Event, EventSink, FanOutSink
from almc_assistant.core.plan_safety import PlanSafety, plan_safety
from almc_assistant.core.preflight import PreflightResult, plan_files, preflight
from almc_assistant.core.receipts import read_receipt, remote_receipts
from almc_assistant.core.service_runtime import Runtime
from almc_assistant.core.session import file_owner
from almc_assistant.core.transfer.events import CopyVerified, JobFinished

if TYPE_CHECKING:
    from almc_assistant.core.remote.session import RemoteSession
    from almc_assistant.core.transfer import CopyJob, OnConflict, VerifyReport


class Copying:
    """Copies, their records, the receipts at the destinations, and preflights."""

    def __init__(
        self,
        runtime: Runtime,
        user: str,
        *,
        root_of: Callable[[Path], Path | None],
        publish_status: Callable[[], None],
    ) -> None:
        self._rt = runtime
        self._user = user
        self._root_of = root_of
        self._publish_status = publish_status
        self._jobs: list[CopyJob] = []
        self._preflights = 0
        self._last_copied: tuple[Path, bool, str] | None = None  # see _copy_source
        self._remote: RemoteSession | None = None  # one rclone daemon for every job
        self._stopped = False

    def start_copy(
        self,
        files: Sequence[Path],
        destinations: Sequence[Destination | Path | str],
        workers: int | None = None,
        *,
        on_conflict: OnConflict | None = None,
        record: bool = True,
        keep_tree: bool = False,
        create_missing: bool = False,
        job_id: str = "",
    ) -> CopyJob:
        """See :meth:`almc_assistant.core.service.Service.start_copy`."""
        from almc_assistant.core.inspect import UnitFinder
        from almc_assistant.core.transfer import CopyRequest, OnConflict, start_copy

        roots, remotes = _split_destinations(destinations)
        # Absolute sources: the catalog and the receipts name files by absolute path.
        sources = [Path(os.path.normpath(Path(f).absolute())) for f in files]
        request = CopyRequest(
            sources=sources,
            destinations=roots,
            workers=workers,
            on_conflict=on_conflict or OnConflict.KEEP_BOTH,
            relative_to=tuple(self._rt.settings.config.acquisition_folders) if keep_tree else (),
            create_missing=create_missing,
            remotes=remotes,
            remote_session=self.remote_session() if remotes else None,
            dataset_of=UnitFinder().key,  # the receipts list each dataset's files together
        )
        sink = self.recording(self._rt.sink) if record else self._rt.sink
        job = start_copy(request, sink, job_id)
        with self._rt.lock:
            self._jobs = [j for j in self._jobs if j.wait(0) is None] + [job]
        return job

    def stop(self, timeout: float) -> None:
        """Cancel the running copies and wait for them."""
        with self._rt.lock:
            jobs, self._jobs = self._jobs, []
        for job in jobs:
            job.cancel()
        for job in jobs:
            job.wait(timeout)
        with self._rt.lock:
            remote, self._remote = self._remote, None
            self._stopped = True  # no daemon is started again that nobody would stop
        if remote is not None:
            remote.stop()

    def remote_session(self) -> RemoteSession:
        """The service's one rclone daemon (started when a remote is first opened), for
        every copy job, verify, receipts import and cleanup; stopped by :meth:`stop`."""
        from almc_assistant.core.remote.session import RemoteSession

        with self._rt.lock:
            if self._stopped:
                raise ServiceStopped(
                    "almc-assistant is shutting down and reaches no remote destination now.",
                    next_step="Start almc-assistant again to go on.",
                )
            if self._remote is None:
                self._remote = RemoteSession()
            return self._remote

    def recording(self, sink: EventSink) -> EventSink:
        """A copy job's sink: each verified copy is recorded in the catalog (a worker's
        group of them in one queued write), then every event goes on to ``sink``."""
        _ = self._rt.catalog  # open it (and its writer) before events arrive
        return FanOutSink(_Recording(self._on_copy, self._on_copies), sink)

    def _on_copy(self, event: Event) -> None:
        """Copy workers: record verified copies (queued, batched)."""
        if isinstance(event, CopyVerified):
            copy = event.copy
            # Files from outside the acquisition folders (a USB stick) are not tracked.
            track, owner = self._copy_source(copy.source)
            self._rt.recorder.submit(lambda c: c.record_copy(copy, owner=owner, create=track))
        elif isinstance(event, JobFinished):
            self._rt.recorder.submit_after(self._publish_status)

    def _on_copies(self, events: Sequence[Event]) -> None:
        """Copy workers: a group's outcomes at once; its verified copies are recorded
        by one queued write (one transaction), the rest as :meth:`_on_copy` does."""
        copies: list[tuple[CopyRecord, str, bool]] = []
        for event in events:
            if isinstance(event, CopyVerified):
                copy = event.copy
                track, owner = self._copy_source(copy.source)
                copies.append((copy, owner, track))
            elif isinstance(event, JobFinished):
                self._on_copy(event)
        if copies:
            self._rt.recorder.submit(lambda c: c.record_copies(copies))

    def _copy_source(self, source: Path) -> tuple[bool, str]:
        """Whether a copied source is tracked, and its owner (unused when it is not): once
        per source, not per destination (the verified copies of one file come in a row)."""
        last = self._last_copied
        if last is not None and last[0] is source:  # the job's one path object per file
            return last[1], last[2]
        track = self._root_of(source) is not None
        owner = file_owner(source, self._user) if track else self._user
        self._last_copied = (source, track, owner)
        return track, owner

    # ------------------------------------------------------------------ receipts
    def import_receipts(self) -> int:
        """See :meth:`almc_assistant.core.service.Service.import_receipts`."""
        from almc_assistant.core.transfer import RECEIPTS_DIR

        count = 0
        sources: dict[Path, None] = {}
        for dest in self._rt.settings.config.destinations:
            try:
                receipts = sorted((Path(dest.path) / RECEIPTS_DIR).glob("*.json"))
            except OSError:
                continue  # not reachable now: next time
            for receipt in receipts:
                key = f"receipt:{receipt}"
                if self._rt.catalog.noted(key):
                    continue
                found = read_receipt(receipt, Path(dest.path))
                self._rt.recorder.submit(self._receipt_writer(key, found))
                sources.update(dict.fromkeys(copy.source for copy in found))
                count += 1
        remotes = [d.remote for d in self._rt.settings.config.remote_destinations]
        session = self.remote_session() if remotes else None
        for key, found in remote_receipts(remotes, self._rt.catalog.noted, session=session):
            self._rt.recorder.submit(self._receipt_writer(key, found))
            sources.update(dict.fromkeys(copy.source for copy in found))
            count += 1
        self._rt.recorder.flush()
        if sources:  # a receipt does not say which version of a file was copied
            self._rt.submit("check", lambda: self._revalidate(list(sources)))
        return count

    def _revalidate(self, sources: Sequence[Path]) -> None:
        """Copies whose source identity is not known (from receipts) count once the
        file, re-read from storage, hashes as they do."""
        from almc_assistant.core.catalog.revalidate import revalidate

        for source in sources:
            revalidate(self._rt.catalog, source)

    def _receipt_writer(self, key: str, copies: list[CopyRecord]) -> Callable[[Catalog], None]:
        def write(catalog: Catalog) -> None:
            for copy in copies:
                catalog.record_copy(copy, owner=self._user, create=False)
            catalog.note(key)

        return write

    # ------------------------------------------------------------------ preflight
    def preflight_now(
        self, files: Sequence[Path | str], destinations: Sequence[Destination]
    ) -> list[PreflightResult]:
        """Blocking preflight of each destination for these files (does I/O: the CLI)."""
        config = self._rt.settings.config
        planned = plan_files([Path(f) for f in files], config.acquisition_folders)
        return [preflight(d, planned) for d in destinations]

    def plan_safety(
        self, files: Sequence[Path | str], destinations: Sequence[Destination]
    ) -> PlanSafety:
        """Blocking (it stats files and destinations): what copies of ``files`` to
        ``destinations`` would count for under the facility's policy, once verified."""
        return plan_safety(self._rt.settings.policy, [Path(f) for f in files], destinations)

    def preflight(
        self,
        files: Sequence[Path | str],
        destinations: Sequence[Destination],
        *,
        request_id: int | None = None,
    ) -> int:
        """Returns a request id at once (``request_id``, or one of its own: a caller
        names all its requests or none); a worker publishes ``PreflightFinished``, also
        when the preflight failed (then with ``error_title``: no window waits forever)."""
        with self._rt.lock:
            self._preflights += 1
            request = self._preflights if request_id is None else request_id
        files, destinations = list(files), list(destinations)

        def run() -> None:
            try:
                results = self.preflight_now(files, destinations)
                safety = self.plan_safety(files, destinations)
            except Exception as exc:  # ServiceFailed tells the rest (the log)
                self._rt.sink.publish(ev.preflight_failed(request, exc))
                raise
            self._rt.sink.publish(
                ev.PreflightFinished(request_id=request, results=tuple(results), safety=safety)
            )

        self._rt.submit("preflight", run)
        return request

    # ------------------------------------------------------------------ verify
    def verify_destination(self, destination: Path | str) -> VerifyReport:
        """Blocking: re-read every file ``destination``'s manifest lists and compare
        BLAKE3; ``EntryChecked`` events go to the service's sink as it goes. A remote
        (``research:lab/me``) proves each listed copy again (issue 13)."""
        from almc_assistant.core.remote.session import looks_remote
        from almc_assistant.core.transfer import verify_destination
        from almc_assistant.core.transfer.remote_verify import verify_remote

        if isinstance(destination, str) and looks_remote(destination):
            return verify_remote(destination, self._rt.sink, session=self.remote_session())
        return verify_destination(Path(destination), self._rt.sink)

    @staticmethod
    def manifest_entries(destination: Path | str) -> int:
        """How many files a local ``destination``'s manifest lists: 0 for a remote or a
        missing folder (raises :class:`AlmcError` when it cannot be read)."""
        from almc_assistant.core.remote.session import looks_remote
        from almc_assistant.core.transfer.manifest import read_manifest

        if isinstance(destination, str) and looks_remote(destination):
            return 0
        if not Path(destination).is_dir():
            return 0
        return len(read_manifest(Path(destination)))


class _Recording:
    """The catalog's sink for a job's events: one event (``publish``) or a worker's group
    of them (``publish_many``, see :func:`core.events.publish_all`). Thread-safe as its
    callbacks are."""

    def __init__(
        self,
        one: Callable[[Event], None],
        many: Callable[[Sequence[Event]], None],
    ) -> None:
        self._one = one
        self._many = many

    def publish(self, event: Event) -> None:
        self._one(event)

    def publish_many(self, events: Sequence[Event]) -> None:
        self._many(events)


def _split_destinations(
    destinations: Sequence[Destination | Path | str],
) -> tuple[list[Path], tuple[str, ...]]:
    """(local folders, remote specs) of a copy's destinations (issue 13: remotes)."""
    from almc_assistant.core.remote.session import looks_remote

    roots: list[Path] = []
    remotes: list[str] = []
    for d in destinations:
        if isinstance(d, Destination):
            if d.is_remote:
                remotes.append(d.remote)
            else:
                roots.append(Path(d.path))
        elif isinstance(d, str) and looks_remote(d):
            remotes.append(d)
        else:
            roots.append(Path(d))
    return roots, tuple(remotes)

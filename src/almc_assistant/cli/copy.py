"""`almc-assistant copy SRC... --to DEST [--to DEST ...] [--workers N] [--json]`.

Thread contract: main thread. Starts the copy through the core service, which records
every verified copy in the catalog as it is made, and consumes the events from a queue:
a rich progress bar on stderr (when stderr is a terminal), a human summary, or one JSON
document with ``--json``. Ctrl-C cancels the job cleanly (no partial is left under a
final name) and exits with 130.

Before copying, a selection holding only part of a multi-file dataset (some TIFFs of an
Opera Phenix export) is warned about (``warnings`` in the JSON document). When the
catalog cannot be opened (locked, its folder unwritable), the copy still runs: the data's
safety comes first; the output says the catalog was not updated (``catalog_updated``).

A destination that is a caching mount (``rclone mount``, a cloud drive: see
``core.cachingfs``) gets copies that are **pending upload**, never "verified": they are
listed apart (``pending_upload`` in the JSON, with the reason) and not recorded in the
catalog as copies.

Exit status: 0 every file verified (or already verified) at every destination; 1 some
file failed, was refused, was skipped (symlink, special file), or is only pending upload
at a caching mount; 2 usage error (including a copy onto itself). Warnings (part of a
dataset, catalog not updated) do not change it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from almc_assistant.cli import _common
from almc_assistant.cli._progress import ProgressView
from almc_assistant.cli._service import open_service
from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.errors import AlmcError, UsageError
from almc_assistant.core.events import Event, QueueSink
from almc_assistant.core.remote.session import looks_remote
from almc_assistant.core.service import Service
from almc_assistant.core.service_events import CatalogBacklog
from almc_assistant.core.transfer import (
    CopyFailed,
    CopyJob,
    CopyPendingUpload,
    CopySkipped,
    CopyVerified,
    DestinationRefused,
    JobFinished,
    JobProgressed,
    JobResult,
    OnConflict,
    SourceSkipped,
)
from almc_assistant.core.units import human_size, plural

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "copy",
        help="copy files and folders to one or more destinations, verified",
        description=(
            "Copy SRC files and folders to every DEST. Each source byte is read once and "
            "written to every destination; each copy is read back from the storage and "
            "compared (BLAKE3) before it gets its final name. Folders keep their structure "
            "(copying folder run1 to DEST gives DEST/run1/...). Rerunning copies only what "
            "is missing. An existing different file is never overwritten."
        ),
    )
    p.add_argument("sources", nargs="+", metavar="SRC", type=Path, help="file or folder")
    p.add_argument(
        "--to",
        dest="destinations",
        action="append",
        required=True,
        metavar="DEST",
        help="destination folder, or a remote as NAME:path (an rclone remote in your "
        "private rclone.conf, e.g. research:lab/me); repeat for several destinations",
    )
    p.add_argument("--workers", type=int, default=None, metavar="N", help="parallel files")
    p.add_argument(
        "--on-conflict",
        choices=[c.value for c in OnConflict],
        default=OnConflict.KEEP_BOTH.value,
        help="when a different file exists at the destination: keep both (default; the new "
        "copy is named 'name (almc copy 2).ext'), skip the file, or fail it",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1.", next_step="For example --workers 4.")
    sink = QueueSink()
    collected = _Collected()
    with open_service(sink, show_problems=not args.json) as service:
        for part in service.partial_datasets(args.sources):
            collected.partial(part.message(), part.kind, part.anchor, part.selected, part.left_out)
        collected.catalog_error = _catalog_error(service)
        if collected.catalog_error is None and service.catalog.recovery is not None:
            collected.recovered = service.catalog.recovery.message()
        if not args.json:
            collected.print_warnings()
        missing = [Path(d) for d in args.destinations if not Path(d).exists()]
        missing = [d for d in missing if not looks_remote(str(d))]
        job = service.start_copy(
            list(args.sources),
            list(args.destinations),
            args.workers,
            on_conflict=OnConflict(args.on_conflict),
            record=collected.catalog_error is None,
            create_missing=True,
        )
        result = _follow(job, sink, collected, enabled=not args.json and sys.stderr.isatty())
    while (event := sink.get(timeout=0)) is not None:  # what the service said as it stopped
        collected.add(event)
    collected.created = [d for d in missing if d.is_dir()]
    if result.error is not None:
        raise result.error
    if args.json:
        _common.print_json(collected.document(result))
    else:
        collected.print_human(result)
    return _common.EXIT_OK if result.summary.ok else _common.EXIT_FAILED


def _catalog_error(service: Service) -> AlmcError | None:
    """Open the catalog; if it cannot be opened, why (the copy runs anyway)."""
    try:
        _ = service.catalog
    except AlmcError as err:
        return err
    except Exception as exc:  # a bug must not stop the copy: say it, copy anyway
        log.debug("catalog could not be opened", exc_info=True)
        return AlmcError(
            f"The catalog could not be opened: {type(exc).__name__}: {exc}",
            title="Catalog problem",
            next_step="Run again with -vv and send the output to the facility staff.",
        )
    return None


_BATCH_WAIT = 0.05  # seconds the events of a running job gather between two reads


def _follow(job: CopyJob, sink: QueueSink, collected: _Collected, *, enabled: bool) -> JobResult:
    """Consume the job's events until it finishes (progress bar on stderr if enabled)."""
    view = ProgressView(enabled=enabled, label="Copying")
    try:
        with view:
            finished = False
            while not finished:
                first = sink.get(timeout=0.2)
                if first is None:
                    continue
                for event in [first, *sink.drain()]:
                    collected.add(event)
                    if isinstance(event, JobProgressed):
                        view.update(event.snapshot)
                    elif isinstance(event, JobFinished):
                        finished = True
                        break  # as before: what comes after the end is not this job's
                if not finished:  # let events gather: one wake-up per batch, not per copy
                    job.wait(_BATCH_WAIT)  # (returns at once when the job ends)
    except KeyboardInterrupt:
        job.cancel()
        job.wait()
        raise
    result = job.wait()
    assert result is not None
    return result


_NOT_RECORDED = (
    "Each destination's copy receipt lists the verified copies: a later scan "
    "(almc-assistant watch --once, or the tray app) records them for your configured "
    "destinations."
)


def _verified_row(c: CopyRecord) -> _common.JsonText:
    """A verified copy's row of the JSON document: the text the encoder writes for
    ``{"source": ..., "destination": ..., "size": ..., "mtime_ns": ..., "blake3": ...,
    "read_back": ..., "proof": ..., "adopted": ...}``, in one f-string (a job of 10^5
    copies prints 10^5 rows while the user waits)."""
    q = _common.QUOTE
    return _common.JsonText(
        f'{{"source": {q(str(c.source))}, "destination": {q(str(c.path))}, '
        f'"size": {int(c.size)}, "mtime_ns": {int(c.mtime_ns)}, "blake3": {q(c.blake3)}, '
        f'"read_back": {q(c.read_back)}, "proof": {q(c.proof_kind or "read-back")}, '
        f'"adopted": {"true" if c.adopted else "false"}}}'
    )


class _Collected:
    def __init__(self) -> None:
        self.verified: list[CopyRecord] = []
        self.skipped: list[CopySkipped] = []
        self.failed: list[CopyFailed] = []
        self.pending: list[CopyPendingUpload] = []
        self.sources_skipped: list[SourceSkipped] = []
        self.refused: list[DestinationRefused] = []
        self.partials: list[dict[str, Any]] = []
        self.catalog_error: AlmcError | None = None  # the catalog could not be opened
        self.backlog: CatalogBacklog | None = None  # the last word on catalog writes
        self.recovered = ""  # the catalog was damaged, moved aside and rebuilt
        self.created: list[Path] = []  # destination folders this copy created

    def partial(
        self,
        message: str,
        kind: str,
        anchor: Path,
        selected: tuple[Path, ...],
        left_out: tuple[Path, ...],
    ) -> None:
        """The selection holds only part of a multi-file dataset."""
        self.partials.append(
            {
                "kind": "partial-dataset",
                "message": message,
                "dataset": str(anchor),
                "dataset_kind": kind,
                "selected_files": len(selected),
                "left_out": [str(p) for p in left_out],
            }
        )

    @property
    def catalog_updated(self) -> bool:
        return self.catalog_error is None and (self.backlog is None or not self.backlog.waiting)

    def warnings(self) -> list[dict[str, Any]]:
        out = list(self.partials)
        if self.recovered:
            out.append({"kind": "catalog-rebuilt", "message": self.recovered})
        problem: AlmcError | CatalogBacklog | None = self.catalog_error
        if problem is None and not self.catalog_updated:
            problem = self.backlog
        if problem is not None:
            out.append(
                {
                    "kind": "catalog-not-updated",
                    "message": f"The catalog was not updated ({problem.title}); the copies "
                    f"were verified all the same. {_NOT_RECORDED}",
                    "title": problem.title,
                    "detail": problem.detail,
                    "next_step": problem.next_step,
                }
            )
        return out

    def print_warnings(self, limit: int = 5) -> None:
        """On stderr, before copying (Ctrl-C is still possible)."""
        out = sys.stderr
        for w in self.partials:
            out.write(f"warning: {w['message']}\n  Dataset: {w['dataset']}\n  Left out:\n")
            for path in w["left_out"][:limit]:
                out.write(f"    {path}\n")
            if len(w["left_out"]) > limit:
                out.write(f"    ... and {len(w['left_out']) - limit} more (see --json)\n")
        if self.recovered:
            out.write(f"warning: {self.recovered}\n")
        if self.catalog_error is not None:
            err = self.catalog_error
            out.write(
                f"warning: the catalog cannot be updated: {err.title}\n  {err.detail}\n"
                f"  The copy runs all the same. {_NOT_RECORDED}\n"
            )
            if err.next_step:
                out.write(f"  What to do: {err.next_step}\n")
        out.flush()

    def add(self, event: Event) -> None:
        if isinstance(event, CopyVerified):  # the most frequent first
            self.verified.append(event.copy)
        elif isinstance(event, CatalogBacklog):
            self.backlog = event
        elif isinstance(event, CopySkipped):
            self.skipped.append(event)
        elif isinstance(event, CopyFailed):
            self.failed.append(event)
        elif isinstance(event, CopyPendingUpload):
            self.pending.append(event)
        elif isinstance(event, SourceSkipped):
            self.sources_skipped.append(event)
        elif isinstance(event, DestinationRefused):
            self.refused.append(event)

    def document(self, result: JobResult) -> dict[str, Any]:
        s = result.summary
        return {
            "ok": s.ok,
            "job_id": s.job_id,
            "state": s.state,
            "created": [str(p) for p in self.created],
            "summary": {
                "files": s.files_total,
                "bytes": s.bytes_total,
                "verified": s.verified,
                "already_verified": s.skipped,
                "failed": s.failed,
                "pending_upload": s.pending_upload,
                "sources_skipped": s.sources_skipped,
                "bytes_written": s.bytes_copied,
                "seconds": round(s.seconds, 3),
                "workers": s.workers,
            },
            "manifests": [str(p) for p in s.manifests],
            "receipts": [str(p) for p in s.receipts],
            "verified": [_verified_row(c) for c in self.verified],
            "skipped": [
                {"source": str(e.source), "destination": str(e.destination), "reason": e.reason}
                for e in self.skipped
            ],
            "pending_upload": [
                {
                    "source": str(e.source),
                    "destination": str(e.destination),
                    "size": e.size,
                    "blake3": e.blake3,
                    "reason": e.reason,
                }
                for e in self.pending
            ],
            "failed": [
                {
                    "source": str(e.source),
                    "destination_root": str(e.destination_root),
                    "title": e.title,
                    "detail": e.detail,
                    "next_step": e.next_step,
                    "retryable": e.retryable,
                }
                for e in self.failed
            ],
            "sources_not_copied": [
                {"source": str(e.source), "reason": e.reason} for e in self.sources_skipped
            ],
            "refused_destinations": [
                {
                    "destination": str(e.destination_root),
                    "detail": e.detail,
                    "next_step": e.next_step,
                }
                for e in self.refused
            ],
            "catalog_updated": self.catalog_updated,
            "warnings": self.warnings(),
        }

    def print_human(self, result: JobResult, limit: int = 20) -> None:
        out = sys.stderr
        for folder in self.created:
            out.write(f"created the destination folder {folder}\n")
        for ref in self.refused:
            out.write(f"error: {ref.title}\n  {ref.detail}\n  What to do: {ref.next_step}\n")
        for i, f in enumerate(self.failed):
            if i == limit:
                out.write(f"... and {len(self.failed) - limit} more failures (see --json)\n")
                break
            out.write(f"FAILED {f.source} -> {f.destination_root}\n  {f.detail}\n")
            if f.next_step:
                out.write(f"  What to do: {f.next_step}\n")
        for root in sorted({str(p.destination_root) for p in self.pending}):
            mine = [p for p in self.pending if str(p.destination_root) == root]
            out.write(
                f"PENDING UPLOAD (not verified, not safe yet): {len(mine)} copies at {root}\n"
                f"  Why: {mine[0].reason}.\n"
                "  What to do: keep the source until the copy is verified on the remote "
                "storage itself (almc-assistant verify on the server, or rclone check "
                "--download).\n"
            )
        for i, sk in enumerate(self.sources_skipped):
            if i == limit:
                out.write(f"... and {len(self.sources_skipped) - limit} more not copied\n")
                break
            out.write(f"NOT COPIED {sk.source}: {sk.reason}\n")
        s = result.summary
        line = (
            f"{plural(s.verified, 'copy', 'copies')} verified "
            f"({human_size(s.bytes_copied)} written), "
            f"{s.skipped} already verified, {s.failed} failed"
        )
        if s.pending_upload:
            line += f", {s.pending_upload} pending upload (not verified)"
        if s.sources_skipped:
            line += f", {s.sources_skipped} not copied"
        print(f"{s.state}: {line} in {s.seconds:.1f} s.")
        for m in s.manifests:
            print(f"  manifest: {m}")
        for r in s.receipts:
            print(f"  receipt:  {r}")
        for root, words in sorted(
            {(str(c.destination_root), c.read_back) for c in self.verified if c.proof}
        ):
            print(f"  proof at {root}: {words}")
        if self.catalog_updated:
            print("  catalog:  updated")
        else:
            print("  catalog:  NOT updated (see the warning)")
            if self.catalog_error is None and self.backlog is not None:
                b = self.backlog
                out.write(f"warning: {b.title}\n  {b.detail}\n  {_NOT_RECORDED}\n")

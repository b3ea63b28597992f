"""`almc-assistant copy SRC... --to DEST [--to DEST ...] [--workers N] [--json]`.

Thread contract: main thread. Starts a core copy job and consumes its events from a
queue: a rich progress bar on stderr (when stderr is a terminal), a human summary, or
one JSON document with ``--json``. Ctrl-C cancels the job cleanly (no partial is left
under a final name) and exits with 130.

Exit status: 0 every file verified (or already verified) at every destination; 1 some
file failed, was refused, or was skipped (symlink, special file); 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from almc_assistant.cli import _common
from almc_assistant.cli._progress import ProgressView
from almc_assistant.core.errors import UsageError
from almc_assistant.core.events import Event, QueueSink
from almc_assistant.core.transfer import (
    CopyFailed,
    CopyRequest,
    CopySkipped,
    CopyVerified,
    DestinationRefused,
    JobFinished,
    JobProgressed,
    JobResult,
    OnConflict,
    SourceSkipped,
    start_copy,
)


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
        type=Path,
        help="destination folder (repeat for several destinations)",
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
    request = CopyRequest(
        sources=list(args.sources),
        destinations=list(args.destinations),
        workers=args.workers,
        on_conflict=OnConflict(args.on_conflict),
    )
    sink = QueueSink()
    job = start_copy(request, sink)
    collected = _Collected()
    view = ProgressView(enabled=not args.json and sys.stderr.isatty(), label="Copying")
    try:
        with view:
            while True:
                event = sink.get(timeout=0.2)
                if event is None:
                    continue
                collected.add(event)
                if isinstance(event, JobProgressed):
                    view.update(event.snapshot)
                elif isinstance(event, JobFinished):
                    break
    except KeyboardInterrupt:
        job.cancel()
        job.wait()
        raise
    result = job.wait()
    assert result is not None
    if result.error is not None:
        raise result.error
    if args.json:
        _common.print_json(collected.document(result))
    else:
        collected.print_human(result)
    return _common.EXIT_OK if result.summary.ok else _common.EXIT_FAILED


class _Collected:
    def __init__(self) -> None:
        self.verified: list[CopyVerified] = []
        self.skipped: list[CopySkipped] = []
        self.failed: list[CopyFailed] = []
        self.sources_skipped: list[SourceSkipped] = []
        self.refused: list[DestinationRefused] = []

    def add(self, event: Event) -> None:
        if isinstance(event, CopyVerified):
            self.verified.append(event)
        elif isinstance(event, CopySkipped):
            self.skipped.append(event)
        elif isinstance(event, CopyFailed):
            self.failed.append(event)
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
            "summary": {
                "files": s.files_total,
                "bytes": s.bytes_total,
                "verified": s.verified,
                "already_verified": s.skipped,
                "failed": s.failed,
                "sources_skipped": s.sources_skipped,
                "bytes_written": s.bytes_copied,
                "seconds": round(s.seconds, 3),
            },
            "manifests": [str(p) for p in s.manifests],
            "receipts": [str(p) for p in s.receipts],
            "verified": [
                {
                    "source": str(e.source),
                    "destination": str(e.destination),
                    "size": e.size,
                    "mtime_ns": e.mtime_ns,
                    "blake3": e.blake3,
                    "read_back": e.read_back,
                    "adopted": e.adopted,
                }
                for e in self.verified
            ],
            "skipped": [
                {"source": str(e.source), "destination": str(e.destination), "reason": e.reason}
                for e in self.skipped
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
        }

    def print_human(self, result: JobResult, limit: int = 20) -> None:
        out = sys.stderr
        for ref in self.refused:
            out.write(f"error: {ref.title}\n  {ref.detail}\n  What to do: {ref.next_step}\n")
        for i, f in enumerate(self.failed):
            if i == limit:
                out.write(f"... and {len(self.failed) - limit} more failures (see --json)\n")
                break
            out.write(f"FAILED {f.source} -> {f.destination_root}\n  {f.detail}\n")
            if f.next_step:
                out.write(f"  What to do: {f.next_step}\n")
        for i, sk in enumerate(self.sources_skipped):
            if i == limit:
                out.write(f"... and {len(self.sources_skipped) - limit} more not copied\n")
                break
            out.write(f"NOT COPIED {sk.source}: {sk.reason}\n")
        s = result.summary
        gib = s.bytes_copied / 2**30
        line = (
            f"{s.verified} copies verified ({gib:.2f} GiB written), "
            f"{s.skipped} already verified, {s.failed} failed"
        )
        if s.sources_skipped:
            line += f", {s.sources_skipped} not copied"
        print(f"{s.state}: {line} in {s.seconds:.1f} s.")
        for m in s.manifests:
            print(f"  manifest: {m}")
        for r in s.receipts:
            print(f"  receipt:  {r}")

"""`almc-assistant verify DEST [--json]`: re-read what DEST's manifest lists.

Thread contract: main thread; the core verifier runs reader threads and publishes
``EntryChecked`` events to a queue drained here for the progress bar.

Exit status: 0 every listed file is present and matches; 1 something is missing,
differs or cannot be read, the manifest has lines set aside (torn, foreign, or naming a
path outside DEST), lists nothing, lacks copies a receipt records, or cannot be used at
all (a link, FIFO or folder at its name, too large), or DEST is a caching mount whose reads
prove only a local cache (``rclone mount``, a cloud drive); extra files are reported but do not
fail the check; 2 usage error (DEST does not exist, is not a folder, has no manifest).
"""

from __future__ import annotations

import argparse
import sys
import threading

from almc_assistant.cli import _common
from almc_assistant.cli._progress import ProgressView
from almc_assistant.cli._service import open_service
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.events import QueueSink
from almc_assistant.core.service import Service
from almc_assistant.core.transfer import EntryChecked, VerifyReport
from almc_assistant.core.units import human_size, plural


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "verify",
        help="re-read every file DEST's manifest lists and compare BLAKE3",
        description=(
            "Re-read every file listed in DEST/almc-manifest.b3sum from the storage and "
            "compare its BLAKE3; report missing, differing and extra files."
        ),
    )
    p.add_argument(
        "destination",
        metavar="DEST",
        help="a destination root: a folder, or a remote as NAME:path (research:lab/me)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    sink = QueueSink()
    with open_service(sink, show_problems=False) as service:  # verify opens no catalog
        return _verify(args, service, sink)


def _verify(args: argparse.Namespace, service: Service, sink: QueueSink) -> int:
    outcome: dict[str, VerifyReport | BaseException] = {}

    def work() -> None:
        try:
            outcome["report"] = service.verify_destination(args.destination)
        except BaseException as exc:  # handed to the main thread below
            outcome["error"] = exc

    try:
        total = service.manifest_entries(args.destination)
    except AlmcError:
        total = 0  # the verifier says why
    thread = threading.Thread(target=work, name="almc-verify")
    thread.start()
    done = done_bytes = 0
    with ProgressView(enabled=not args.json and sys.stderr.isatty(), label="Verifying") as view:
        while thread.is_alive() or done < total:
            event = sink.get(timeout=0.2)
            if event is None:
                if not thread.is_alive():
                    break
                continue
            if isinstance(event, EntryChecked) and event.outcome != "extra":
                done += 1
                done_bytes += event.size
                view.count(done, total, done_bytes, 0)
    thread.join()
    error = outcome.get("error")
    if isinstance(error, BaseException):
        raise error
    report = outcome["report"]
    assert isinstance(report, VerifyReport)
    if args.json:
        _common.print_json(
            {
                "ok": report.ok,
                "destination": str(report.root),
                "checked": len(report.matched)
                + len(report.differing)
                + len(report.missing)
                + len(report.errors),
                "matched": len(report.matched),
                "differing": report.differing,
                "missing": report.missing,
                "errors": [{"path": p, "detail": d} for p, d in report.errors],
                "extra": report.extra,
                "listed": report.listed,
                "cache_only": report.cache_only,
                "not_in_manifest": report.unlisted,
                "manifest_lines_set_aside": [
                    {"line": n, "reason": why} for n, why in report.set_aside
                ],
                "bytes_read": report.bytes_read,
                "proofs": report.proofs,
            }
        )
    else:
        _print_human(report)
    return _common.EXIT_OK if report.ok else _common.EXIT_FAILED


def _print_human(report: VerifyReport, limit: int = 50) -> None:
    for label, items in (
        ("DIFFERS", report.differing),
        ("MISSING", report.missing),
        ("EXTRA (not in the manifest)", report.extra),
    ):
        for i, rel in enumerate(items):
            if i == limit:
                print(f"  ... and {len(items) - limit} more")
                break
            print(f"{label}: {report.root / rel}")
    for rel, detail in report.errors:
        print(f"UNREADABLE: {report.root / rel}: {detail}")
    for rel in report.unlisted[:limit]:
        print(f"NOT IN THE MANIFEST (a receipt records it): {report.root / rel}")
    for n, why in report.set_aside[:limit]:
        print(f"MANIFEST LINE {n} SET ASIDE: {why}")
    if report.cache_only:
        print(f"NOT PROOF: {report.cache_only}.")
    if report.listed == 0:
        print(
            "The manifest lists no file"
            + (f"; the receipts record {len(report.unlisted)} copies." if report.unlisted else ".")
        )
    for words, n in sorted(report.proofs.items()):
        print(f"proof: {words} ({plural(n, 'copy', 'copies')})")
    verdict = "all good" if report.ok else "PROBLEMS FOUND"
    print(
        f"{verdict}: {len(report.matched)} match, {len(report.differing)} differ, "
        f"{len(report.missing)} missing, {len(report.errors)} unreadable, "
        f"{len(report.extra)} extra ({human_size(report.bytes_read)} read)."
    )
    if report.differing or report.missing or report.errors:
        print(
            "What to do: the destination storage may be failing. Move the damaged copies "
            "listed above aside, then copy again from the source "
            "(almc-assistant copy SRC --to DEST).",
            file=sys.stderr,
        )
    elif not report.ok:
        print(
            "What to do: the manifest is damaged or incomplete. Copy again from the source "
            "(almc-assistant copy SRC --to DEST): every copy is re-read and listed anew.",
            file=sys.stderr,
        )

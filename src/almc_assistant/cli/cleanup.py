"""`almc-assistant cleanup [--apply] [--json]`: staff's cleanup of the acquisition disks.

Thread contract: main thread. The plan comes from the catalog and the facility's
retention rules; ``--apply`` deletes only files whose evidence it proves right before
deleting each one (the source and every counted copy re-read from storage, same BLAKE3,
copies on independent devices in trusted destinations: see ``core.cleanup.apply``), and
logs every deletion (path, device and inode) to the audit log before it. Files never
deleted (still acquiring, damaged, not safe) are listed with the reason.

Exit status: 0 when the plan was listed or fully applied; 1 when ``--apply`` kept a
file it had planned to delete (its evidence no longer held, or it could not be deleted).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from almc_assistant.cli import _common
from almc_assistant.cli._service import open_service, when
from almc_assistant.core.cleanup import CleanupPlan, CleanupResult
from almc_assistant.core.units import human_size, plural


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "cleanup",
        help="staff: what may be deleted from the acquisition disks; --apply deletes it",
        description="List the files the facility's retention rules make cleanup "
        "candidates, which of them are safe to delete and which are kept (and why). "
        "With --apply, delete the safe ones, each only after re-reading it and its copies "
        "from storage and finding the same BLAKE3 on independent devices.",
    )
    p.add_argument("--apply", action="store_true", help="delete the files listed as safe")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    with open_service(show_problems=not args.json) as service:
        plan = service.plan_cleanup()
        problems = service.cleanup_problems()  # users' catalogs not read (root's cleanup)
        result = service.apply_cleanup(plan) if args.apply else None
    if args.json:
        config = [str(p) for p in service.config.problems]
        _common.print_json({**_document(plan, result), "problems": config + problems})
    else:
        for problem in problems:
            sys.stderr.write(f"warning: {problem}\n")
        _render(plan, result)
    if result is not None and len(result.deleted) < len(plan.delete):
        return _common.EXIT_FAILED
    return _common.EXIT_OK


def _document(plan: CleanupPlan, result: CleanupResult | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "ok": result is None or len(result.deleted) == len(plan.delete),
        "applied": result is not None,
        "plan": [
            {
                "path": str(i.file.path),
                "owner": i.file.owner,
                "size": i.file.size,
                "action": i.action.value,
                "reason": i.reason,
                "candidate_since": i.candidate_date,
            }
            for i in plan.items
        ],
        "bytes_to_free": plan.bytes_to_free,
    }
    if result is not None:
        doc["outcomes"] = [
            {
                "path": str(o.path),
                "owner": o.owner,
                "size": o.size,
                "deleted": o.deleted,
                "reason": o.reason,
                "dev": o.dev,
                "ino": o.ino,
            }
            for o in result.outcomes
        ]
        doc["bytes_freed"] = result.bytes_freed
        doc["audit_log"] = str(result.audit_log)
    return doc


def _render(plan: CleanupPlan, result: CleanupResult | None) -> None:

    console = _common.console()
    if not plan.items:
        console.print("Nothing is due for cleanup.")
        return
    if result is None:
        console.print(
            f"{plural(len(plan.delete), 'file')} ({human_size(plan.bytes_to_free)}) may be "
            "deleted (verified copies exist); run with --apply to delete them."
        )
        for i in plan.delete:
            console.print(f"  delete {i.file.path} ({human_size(i.file.size)}, {i.file.owner})")
        if plan.keep:
            console.print(f"{plural(len(plan.keep), 'file')} due for cleanup are kept:")
        for i in plan.keep:
            console.print(
                f"  keep   {i.file.path} ({i.file.owner}, due {when(i.candidate_date)}): {i.reason}"
            )
        return
    console.print(
        f"Deleted {plural(len(result.deleted), 'file')} ({human_size(result.bytes_freed)}); "
        f"every deletion is logged in {result.audit_log}."
    )
    for o in result.deleted:
        console.print(f"  deleted {o.path}: {o.reason}")
    if result.kept:
        console.print(f"Kept {plural(len(result.kept), 'file')}:")
    for o in result.kept:
        console.print(f"  kept    {o.path}: {o.reason}")

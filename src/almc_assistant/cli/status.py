"""`almc-assistant status [--json]`: this user's files that are not safe yet.

Thread contract: main thread. Reads the catalog through the core service.

Exit status: 0 when everything is safe; 1 when files are at risk or there is a problem
(files lost, a disk past the cleanup threshold, a configuration problem: each named in
``problems`` with its next step); 2 when nothing is set up yet (no acquisition folders:
the same words as ``watch`` and the tray, from :mod:`almc_assistant.core.setup_state`).
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from almc_assistant.cli import _common
from almc_assistant.cli._service import open_service, when
from almc_assistant.core.status import OverallState, StatusReport
from almc_assistant.core.units import human_size, percent_full, plural


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "status",
        help="what is not yet safe, by session and dataset, with cleanup dates and disk usage",
        description="List your files that do not yet have the verified copies the "
        "facility's policy asks for, by session and dataset (an Opera Phenix plate with "
        "its metadata, an ND2 series, an OIF with its folder: one heading each, its files "
        "below), with the date each may be cleaned up, "
        "and the disk usage of the acquisition folders. Exit status 0 when all is safe.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--user", default=None, help="another user's files (staff)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    with open_service(show_problems=not args.json) as service:
        report = service.status(args.user)
    if args.json:
        _common.print_json(
            {
                "ok": report.state is OverallState.ALL_SAFE,
                "headline": report.headline,
                **asdict(report),
            }
        )
    else:
        render(report)
    if report.state is OverallState.NOT_SET_UP:
        return _common.EXIT_USAGE
    return _common.EXIT_OK if report.state is OverallState.ALL_SAFE else _common.EXIT_FAILED


# Below this width, each file is listed on its own lines (path, then its facts), so that a
# path is never folded into a column a dozen characters wide.
TABLE_MIN_WIDTH = 120


def render(report: StatusReport) -> None:
    from rich.markup import escape as esc  # names and paths may hold [brackets]

    console = _common.console()
    if report.setup is not None:
        console.print(
            f"[bold]{esc(report.setup.title)}.[/bold] {esc(report.setup.detail)}", highlight=False
        )
        console.print(report.setup.next_step, highlight=False, markup=False)
        if report.setup.facility_example:
            console.print(report.setup.facility_example, highlight=False, markup=False)
    elif report.state is OverallState.ALL_SAFE and not report.lost:
        console.print(f"All of {report.user}'s files have verified backups.", markup=False)
    elif report.total_files:
        console.print(
            f"[bold]{plural(report.total_files, 'file')} ({human_size(report.total_bytes)}) "
            f"of {esc(report.user)} {'is' if report.total_files == 1 else 'are'} not backed up "
            "safely yet.[/bold]"
        )
    for problem in report.problems:  # each cause of the "problem" state, first
        console.print(  # whole lines: the terminal wraps them, paths stay searchable
            f"[yellow]Problem:[/yellow] {esc(problem.title)}. {esc(problem.detail)}",
            highlight=False,
            soft_wrap=True,
        )
        console.print(
            f"  What to do: {problem.next_step}", highlight=False, soft_wrap=True, markup=False
        )
    for s in report.sessions:
        state = "open" if s.ended_at is None else f"ended {when(s.ended_at)}"
        console.print(
            f"\nSession {s.session_id} (started {when(s.started_at)}, {state}): "
            f"{plural(s.files, 'file')}, {human_size(s.bytes)}; "
            f"cleanup from {when(s.earliest_candidate_date)}",
            markup=False,
        )
        mine = [f for f in report.files if f.session_id == s.session_id]
        for reason in dict.fromkeys(f.missing for f in mine):
            console.print(f"  Not safe: {reason}.", markup=False)
        _by_dataset(console, report, s.session_id, mine)
    if report.lost:
        console.print(f"\n[red]{plural(len(report.lost), 'file')} deleted without a backup:[/red]")
        for rec in report.lost:
            console.print(f"  {rec.path} ({human_size(rec.size)})", highlight=False, markup=False)
    if report.volumes:
        console.print("\nAcquisition disks:")
        for v in report.volumes:
            if v.reachable:
                console.print(
                    f"  {v.folder}: {percent_full(v.percent)}, {human_size(v.free)} free",
                    highlight=False,
                    markup=False,
                )
            else:
                console.print(f"  {esc(str(v.folder))}: [red]not available[/red]", highlight=False)


# Files listed under a dataset's heading; the others are counted (--json lists them all),
# so a 300-tile plate does not push the session's other files off the screen.
LISTED_PER_DATASET = 10


def _by_dataset(console: Any, report: StatusReport, session: int | None, files: list[Any]) -> None:
    """The session's files: the loose ones first, then each dataset (a plate, an ND2
    series) under a heading of its own with its first files."""
    by_path = {f.path: f for f in files}
    units = [u for u in report.datasets if u.session_id == session]
    loose = [by_path[u.files[0]] for u in units if not u.kind and u.files[0] in by_path]
    if loose:
        _files(console, loose)
    for unit in units:
        if not unit.kind:
            continue
        console.print(
            f"  Dataset {unit.name} ({unit.kind}): {plural(len(unit.files), 'file')}, "
            f"{human_size(unit.bytes)}, in {unit.folder}; cleanup from "
            f"{when(unit.earliest_candidate_date)}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        members = sorted((by_path[p] for p in unit.files if p in by_path), key=lambda f: f.path)
        _files(console, members[:LISTED_PER_DATASET], indent="    ")
        if len(members) > LISTED_PER_DATASET:
            console.print(
                f"    … and {plural(len(members) - LISTED_PER_DATASET, 'more file')} of this "
                "dataset (almc-assistant status --json lists every one)",
                highlight=False,
                markup=False,
            )


def _files(console: Any, files: list[Any], indent: str = "  ") -> None:
    if console.width < TABLE_MIN_WIDTH:
        for f in files:
            console.print(
                f"{indent}{f.path}", highlight=False, overflow="fold", soft_wrap=False, markup=False
            )
            console.print(
                f"{indent}    {human_size(f.size)}, {f.state.value}, {f.verdict or 'not checked'}, "
                f"cleanup from {when(f.candidate_date)}",
                highlight=False,
                markup=False,
            )
        return
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    table = Table(show_edge=False, pad_edge=False)
    table.add_column("file", overflow="fold", ratio=1)
    for column in ("size", "state", "verdict", "cleanup from"):
        table.add_column(column, no_wrap=True)
    for f in files:
        table.add_row(
            Text(str(f.path)),
            human_size(f.size),
            f.state.value,
            f.verdict or "-",
            when(f.candidate_date),
        )
    console.print(Padding(table, (0, 0, 0, len(indent)), expand=False))

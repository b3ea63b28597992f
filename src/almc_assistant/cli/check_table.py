"""Human output of `almc-assistant check`: rich tables of files and datasets on stdout.

Thread contract: main thread only.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from almc_assistant.cli import _common
from almc_assistant.core import units
from almc_assistant.core.inspect import CheckReport, Flag
from almc_assistant.core.verdicts import ORDER, Tone

# How a verdict's tone shows in a terminal (verdicts and their order: core.verdicts).
STYLES = {Tone.OK: "green", Tone.NOTE: "yellow", Tone.BAD: "red", Tone.DAMAGED: "bold red"}


def shown(path: Path) -> str:
    """A path relative to the current folder when it lies inside it (shorter tables)."""
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def render(report: CheckReport, console: Console | None = None) -> None:
    console = console or _common.console()
    if not console.is_terminal:
        console.width = max(console.width, 160)
    files = Table(title="Files", show_lines=True, expand=True)
    files.add_column("Verdict", no_wrap=True, min_width=20)
    files.add_column("File", overflow="fold", ratio=2)
    files.add_column("Size", justify="right", no_wrap=True, min_width=8)
    files.add_column("Why", ratio=3)
    for check in report.files:
        style = STYLES[check.verdict.tone]
        flags = sorted(str(f) for f in check.flags if f is not Flag.DATASET_MEMBER)
        why = "\n".join(r for r in check.reasons if not r.startswith("It is part of a multi-file"))
        if flags:
            why += f"\nFlags: {', '.join(flags)}"
        if not check.is_ok or flags:
            why += f"\nNext: {check.next_step}"
        files.add_row(  # names and reasons as plain text: '[A01]' in a name is not markup
            f"[{style}]{check.verdict}[/]",
            Text(shown(check.path)),
            "-" if check.size is None else units.human_size(check.size),
            Text(why),
        )
    console.print(files)
    if report.datasets:
        sets = Table(title="Datasets (judged as a whole)", show_lines=True, expand=True)
        sets.add_column("Verdict", no_wrap=True, min_width=20)
        sets.add_column("Dataset", overflow="fold", ratio=2)
        sets.add_column("Files", justify="right")
        sets.add_column("Why", ratio=3)
        for d in report.datasets:
            why = "\n".join(d.reasons)
            if not d.is_ok or d.flags:
                why += f"\nNext: {d.next_step}"
            style = STYLES[d.verdict.tone]
            sets.add_row(
                f"[{style}]{d.verdict}[/]",
                Text(f"{d.kind}\n{shown(d.anchor)}"),
                str(len(d.members)),
                Text(why),
            )
        console.print(sets)
    found = report.counts()
    counts = ", ".join(f"{found[v]} {v}" for v in ORDER if v in found)
    verdict = "[green]all good[/]" if report.all_ok else "[red]needs attention[/]"
    console.print(
        f"{units.plural(len(report.files), 'file')} ({counts}); "
        f"{units.plural(len(report.datasets), 'dataset')}: {verdict}"
    )

"""Every verdict has a look in the GUI and a style in the CLI (a verdict added in
core.verdicts needs nothing more in either: a KeyError came from a forgotten copy)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from almc_assistant.cli import check_table
from almc_assistant.core.inspect import CheckReport, FileCheck
from almc_assistant.core.verdicts import ORDER, Tone, Verdict
from almc_assistant.qt import verdicts
from almc_assistant.qt.icons import Badge


@pytest.mark.parametrize("verdict", list(Verdict))
def test_every_verdict_has_its_label_in_the_gui(verdict: Verdict) -> None:
    look = verdicts.look(str(verdict))
    assert look.label == verdict.label
    assert look.badge is verdicts.BADGES[verdict.tone]
    assert (look.badge is Badge.OK) is verdict.is_ok


def test_every_tone_has_a_badge_and_a_terminal_style() -> None:
    assert set(verdicts.BADGES) == set(Tone) == set(check_table.STYLES)


def test_a_verdict_of_a_newer_version_shows_its_own_words() -> None:
    assert verdicts.look("from-a-newer-version").label == "from-a-newer-version"
    assert verdicts.look(None).label == "Not checked"
    assert verdicts.look("native-ok", state="acquiring").badge is Badge.WAITING


def test_the_cli_table_shows_every_verdict_in_the_core_order(tmp_path: Path) -> None:
    files = [
        FileCheck(
            path=tmp_path / f"{v}.tif",
            verdict=v,
            format="TIFF",
            size=1,
            reasons=("x",),
            next_step="y",
        )
        for v in reversed(ORDER)
    ]
    console = Console(record=True, width=300)
    check_table.render(CheckReport(files=tuple(files)), console)
    summary = console.export_text().strip().splitlines()[-1]
    counts = summary[summary.index("(") + 1 : summary.index(")")]
    assert counts.split(", ") == [f"1 {v}" for v in ORDER]

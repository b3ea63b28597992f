"""What the session-end wizard's pages share: the files, the plan, the job, the results.

Thread contract: GUI thread only; filled by the pages from service answers and from
events the pump delivers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from almc_assistant.core.catalog import FileRecord
from almc_assistant.core.destinations import Destination
from almc_assistant.core.inspect.units import DatasetUnit
from almc_assistant.core.plan_safety import PlanSafety
from almc_assistant.core.preflight import PreflightResult
from almc_assistant.core.remotepaths import recorded_path
from almc_assistant.core.transfer.events import (
    CopyFailed,
    CopySkipped,
    CopyVerified,
    DestinationRefused,
    JobSummary,
    SourceSkipped,
)
from almc_assistant.core.units import human_size
from almc_assistant.core.verdicts import NEEDS_FIXING
from almc_assistant.qt import humanize
from almc_assistant.qt.service_port import CopyHandle

# (destination root, size, read-back mode, source, new name or "") of one copy: what the
# receipt tells. The new name is the path under the root when the copy got another name
# than the source's (``name (almc copy 2).ext``: a different file had the name).
CopyNote = tuple[str, int, str, str, str]
# What the receipt lists as not copied: a failure, a refused destination, a link or
# special file among the sources, or a copy left alone (a different file had the name).
CopyProblem = CopyFailed | DestinationRefused | SourceSkipped | CopySkipped


def copy_note(event: CopyVerified | CopySkipped, roots: Sequence[str | PurePath] = ()) -> CopyNote:
    """What the receipt needs of a ``CopyVerified`` or ``CopySkipped`` event, as a plain
    tuple of strings and numbers, which Python's garbage collector stops tracking. Kept
    as events (each with three ``Path`` objects), the 10,000 copies of a session made
    every full collection during the copy walk 70,000 objects more, and a collection
    holds up every thread, the GUI's too (``bench/bench_ui_latency.py --trace``).

    A ``CopySkipped`` names only the file at the destination: its root is the one of
    ``roots`` (the chosen destinations, absolute and normalised as the engine names them:
    :func:`engine_roots`) that holds it."""
    if isinstance(event, CopyVerified):
        copy = event.copy
        return _note(copy.source, copy.path, copy.destination_root, copy.size, copy.read_back)
    dest = recorded_path(str(event.destination))  # on a remote: "/" on every system
    holding = [r for r in map(recorded_path, map(str, roots)) if r in dest.parents]
    root = max(holding, key=lambda r: len(r.parts)) if holding else dest.parent
    return _note(Path(event.source), dest, root, 0, "")


def _note(source: Path, dest: PurePath, root: PurePath, size: int, read_back: str) -> CopyNote:
    renamed = ""
    if dest.name and dest.name != source.name and root in dest.parents:
        renamed = dest.relative_to(root).as_posix()
    return (str(root), size, read_back, str(source), renamed)


def engine_roots(destinations: Sequence[Destination]) -> list[str]:
    """The destinations' roots as the copy engine names them (absolute, normalised; a
    remote by its ``name:folder``)."""
    return [d.remote or os.path.normpath(Path(d.path).absolute()) for d in destinations]


@dataclass
class WizardState:
    files: list[FileRecord] = field(default_factory=list)
    # str(path) -> the dataset each file belongs to (files page's worker)
    datasets: dict[str, DatasetUnit] = field(default_factory=dict)
    destinations: list[Destination] = field(default_factory=list)
    preflight: dict[str, PreflightResult] = field(default_factory=dict)  # by place
    job: CopyHandle | None = None  # the running copy
    job_id: str = ""
    verified: list[CopyNote] = field(default_factory=list)  # of each CopyVerified
    skipped: list[CopyNote] = field(default_factory=list)  # of each CopySkipped
    # CopyFailed, DestinationRefused, and CopySkipped for anything but "already verified"
    failed: list[CopyProblem] = field(default_factory=list)
    summary: JobSummary | None = None
    safety: PlanSafety | None = None  # the policy's answer for the chosen destinations

    def complete_files(self) -> list[FileRecord]:
        return [f for f in self.files if str(f.state) == "complete"]

    def acquiring_files(self) -> list[FileRecord]:
        return [f for f in self.files if str(f.state) == "acquiring"]

    def to_fix(self) -> list[FileRecord]:
        return [f for f in self.complete_files() if (f.verdict or "") in NEEDS_FIXING]

    def sources(self) -> list[Path]:
        return [Path(f.path) for f in self.complete_files()]

    def describe_files(self) -> str:
        files = self.complete_files()
        total = sum(f.size for f in files)
        text = f"{humanize.count(len(files), 'file')} ({human_size(total)}) to back up"
        acquiring = self.acquiring_files()
        if acquiring:
            text += (
                f". {humanize.count(len(acquiring), 'file')} still being written by the "
                "acquisition software: not in this backup. Such a file is added here when "
                "it has been quiet for a while; if acquisition goes on, back it up in a "
                "later session once it has finished."
            )
        return text

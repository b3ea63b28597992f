"""``check_paths``: check files and folders (recursively) in worker threads, group datasets.

Thread contract: call from any thread; it blocks until done. Files are checked in a
thread pool (``workers``, default up to 4), in batches; ``FileChecked`` events are
published from the worker threads as each file is done (``CheckStarted`` and
``CheckFinished`` from the calling thread), so ``sink`` must be thread-safe, as every
EventSink is. The pool is shut down before returning.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from almc_assistant.core.events import EventSink, NullSink
from almc_assistant.core.inspect import datasets, walk, wording
from almc_assistant.core.inspect.checker import check_one
from almc_assistant.core.inspect.dataset_verdict import judge
from almc_assistant.core.inspect.events import CheckFinished, CheckStarted, FileChecked
from almc_assistant.core.inspect.model import CheckReport, FileCheck, PartialDataset
from almc_assistant.core.verdicts import Verdict


def check_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    sink: EventSink | None = None,
    workers: int | None = None,
) -> CheckReport:
    """Check every file under ``paths`` and judge the datasets they belong to.

    Members of a dataset that were not among ``paths`` are checked too, so the dataset
    is judged as a whole.
    """
    sink = sink or NullSink()
    expanded = walk.expand(paths)
    disk = datasets.Disk()
    layouts = datasets.find_layouts(expanded.files, disk)
    member_of: dict[Path, str] = {}
    for layout in layouts.values():
        for member in layout.members:
            member_of.setdefault(member, layout.id)
    files = list(expanded.files)
    known = set(files)
    files += [m for m in member_of if m not in known]
    total = len(files)
    sink.publish(CheckStarted(total=total))
    results: list[FileCheck | None] = [None] * total
    progress = _Progress(sink, total)
    workers = workers or min(4, os.cpu_count() or 1)
    # batches keep the per-task cost of the pool small next to a ~0.2 ms header check
    size = max(1, min(64, total // (workers * 8)))
    jobs = [
        [(i, path, member_of.get(path)) for i, path in enumerate(files[at : at + size], at)]
        for at in range(0, total, size)
    ]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="almc-check") as pool:
        for batch in pool.map(progress.check_batch, jobs):
            for i, result in batch:
                results[i] = result
    checks = [r for r in results if r is not None]
    checks += [_walk_problem(path, text) for path, text in expanded.problems]
    by_path = {str(c.path): c for c in checks}
    report = CheckReport(
        files=tuple(checks),
        datasets=tuple(judge(layout, by_path) for layout in layouts.values()),
    )
    sink.publish(CheckFinished(files=len(checks), datasets=len(report.datasets), ok=report.all_ok))
    return report


class _Progress:
    """Checks batches in worker threads and publishes one FileChecked per file."""

    def __init__(self, sink: EventSink, total: int) -> None:
        self._sink, self._total = sink, total
        self._lock = threading.Lock()
        self._done = 0

    def check_batch(self, batch: list[tuple[int, Path, str | None]]) -> list[tuple[int, FileCheck]]:
        out = []
        for i, path, dataset in batch:
            result = check_one(path, lookup_dataset=False, dataset=dataset)  # never raises
            out.append((i, result))
            with self._lock:
                self._done += 1
                done = self._done
            self._sink.publish(
                FileChecked(
                    path=str(result.path),
                    verdict=result.verdict,
                    size=result.size,
                    done=done,
                    total=self._total,
                    dataset=result.dataset,
                )
            )
        return out


def _walk_problem(path: Path, text: str) -> FileCheck:
    return FileCheck(
        path=path,
        verdict=Verdict.UNREADABLE,
        format="folder",
        size=None,
        reasons=(text,),
        next_step=wording.NEXT_STEP[Verdict.UNREADABLE],
    )


def dataset_of(path: str | os.PathLike[str]) -> str | None:
    """The id of the dataset ``path`` belongs to (by folder layout), or None."""
    found = datasets.anchor_of(Path(path), datasets.Disk(cached=False))
    return str(found[1]) if found else None


def partial_datasets(selected: Iterable[str | os.PathLike[str]]) -> list[PartialDataset]:
    """Datasets of which ``selected`` (files and folders) holds some files but not all.

    The copy and cleanup code call this to warn that a selection would copy or delete
    only part of a dataset.
    """
    expanded = walk.expand(Path(p).absolute() for p in selected)
    chosen = set(expanded.files)
    out: list[PartialDataset] = []
    for layout in datasets.find_layouts(expanded.files, datasets.Disk()).values():
        members = set(layout.members)
        left_out = members - chosen
        if left_out:
            out.append(
                PartialDataset(
                    dataset=layout.id,
                    kind=layout.kind,
                    anchor=layout.anchor,
                    selected=tuple(sorted(members & chosen)),
                    left_out=tuple(sorted(left_out)),
                )
            )
    return out

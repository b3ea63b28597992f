"""Issue 17: while copy jobs run, full garbage collections are rarer; the process's own
thresholds come back when the last job ends (also a failed or overlapping one)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.transfer import CopyHooks, CopyRequest, CopyVerified, start_copy
from almc_assistant.core.transfer.job import FULL_COLLECTION_PACE
from almc_assistant.core.transfer.scan import FileTask
from tests.core.transfer.conftest import write


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 7)  # the test's own, to see them come back
    yield (700, 10, 7)
    gc.set_threshold(*before)


def test_two_overlapping_jobs_pace_full_collections_and_restore_them(
    tmp_path: Path, thresholds: tuple[int, int, int]
) -> None:
    seen: list[tuple[int, int, int]] = []
    both_running = threading.Barrier(2, timeout=60)

    def hook(task: FileTask) -> None:
        if task.source.name == "a.tif":  # each job's first file: wait for the other job
            both_running.wait()
        seen.append(gc.get_threshold())

    jobs = []
    for name in ("one", "two"):
        write(tmp_path / name / "a.tif", b"x" * 100)
        write(tmp_path / name / "b.tif", b"y" * 100)
        request = CopyRequest(
            sources=[tmp_path / name],
            destinations=[tmp_path / f"dest-{name}"],
            workers=1,
            create_missing=True,
            hooks=CopyHooks(before_file=hook),
        )
        jobs.append((start_copy(request, sink := ListSink()), sink))
    for job, sink in jobs:
        result = job.wait(60)
        assert result is not None and result.summary.ok
        assert len(sink.of_type(CopyVerified)) == 2
    assert seen and set(seen) == {(700, 10, 7 * FULL_COLLECTION_PACE)}
    assert gc.get_threshold() == thresholds


def test_a_refused_job_restores_the_thresholds(
    tmp_path: Path, thresholds: tuple[int, int, int]
) -> None:
    write(tmp_path / "src" / "a.tif", b"x")
    request = CopyRequest(sources=[tmp_path / "src"], destinations=[tmp_path / "missing"])
    result = start_copy(request, ListSink()).wait(60)
    assert result is not None and result.error is not None
    assert gc.get_threshold() == thresholds

"""Pause, resume and cancel a running job (real threads; gates instead of timing)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from almc_assistant.core.events import ListSink
from almc_assistant.core.transfer import (
    CopyHooks,
    CopyJob,
    CopyRequest,
    CopyVerified,
    JobFinished,
    JobProgressed,
    start_copy,
)
from almc_assistant.core.transfer.manifest import read_manifest
from almc_assistant.core.transfer.progress import Progress
from almc_assistant.core.transfer.scan import FileTask
from tests.core.transfer.conftest import partials, tree_files, write


def files(root: Path) -> Path:
    run = root / "run1"
    write(run / "1-small.tif", b"s" * 1000)
    write(run / "2-big.nd2", os.urandom(1024 * 1024))
    write(run / "3-after.tif", b"t" * 1000)
    return run


class Gate:
    """Blocks the copy of ``2-big.nd2`` at its first chunk until released."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()
        self.chunks_after_release = 0

    def on_chunk(self, task: FileTask, total: int) -> None:
        if task.source.name != "2-big.nd2":
            return
        if not self.reached.is_set():
            self.reached.set()
            assert self.release.wait(30)
        else:
            self.chunks_after_release += 1


def start(tmp_path: Path, gate: Gate) -> tuple[CopyJob, ListSink, Path]:
    run = files(tmp_path / "src")
    sink = ListSink()
    job = start_copy(
        CopyRequest(
            sources=[run],
            destinations=[tmp_path / "dest"],
            workers=1,
            create_missing=True,  # as the CLI copy --to NEW
            chunk_size=64 * 1024,
            hooks=CopyHooks(on_chunk=gate.on_chunk),
        ),
        sink,
    )
    assert gate.reached.wait(30)
    return job, sink, run


def test_cancel_leaves_no_partial_and_keeps_what_was_verified(tmp_path: Path) -> None:
    gate = Gate()
    job, sink, run = start(tmp_path, gate)
    job.cancel()
    gate.release.set()
    result = job.wait(30)
    assert result is not None and result.summary.state == "cancelled"
    dest = tmp_path / "dest"
    assert partials(dest) == []
    assert tree_files(dest) == {"run1/1-small.tif": b"s" * 1000}  # finished before the cancel
    assert read_manifest(dest) == {
        "run1/1-small.tif": next(e.copy.blake3 for e in sink.of_type(CopyVerified))
    }
    assert isinstance(sink.events[-1], JobFinished)
    assert (run / "2-big.nd2").stat().st_size == 1024 * 1024
    assert gate.chunks_after_release == 0  # stopped at the next chunk


def test_pause_holds_the_copy_and_resume_finishes_it(tmp_path: Path) -> None:
    gate = Gate()
    job, _sink, _ = start(tmp_path, gate)
    job.pause()
    assert job.snapshot().state == "paused"
    gate.release.set()
    # paused: the worker stops at its next checkpoint and the job does not finish
    assert job.wait(timeout=0.5) is None
    assert gate.chunks_after_release == 0
    assert not (tmp_path / "dest" / "run1" / "2-big.nd2").exists()
    job.resume()
    result = job.wait(30)
    assert result is not None and result.summary.ok
    assert len(tree_files(tmp_path / "dest")) == 3


def test_cancel_while_paused_stops(tmp_path: Path) -> None:
    gate = Gate()
    job, _, _ = start(tmp_path, gate)
    job.pause()
    gate.release.set()
    job.cancel()
    result = job.wait(30)
    assert result is not None and result.summary.state == "cancelled"
    assert partials(tmp_path / "dest") == []


def test_pause_and_resume_are_published_at_once(tmp_path: Path) -> None:
    """Every front end hears of a pause from whoever asked it (the tray, the window, the
    CLI): paused workers add no bytes, so without a snapshot of its own nothing would
    say so (the transfer window's rows went on saying "Copying…")."""
    gate = Gate()
    job, sink, _ = start(tmp_path, gate)
    job.pause()
    assert [e.snapshot.state for e in sink.of_type(JobProgressed)][-1] == "paused"
    job.resume()
    assert [e.snapshot.state for e in sink.of_type(JobProgressed)][-1] == "running"
    gate.release.set()
    result = job.wait(30)
    assert result is not None and result.summary.ok


def test_a_pause_before_the_files_are_counted_stays_a_pause() -> None:
    """Paused while the job still scans: counting the files does not make it "running"."""
    progress = Progress("job", ListSink())
    progress.set_state("paused")
    progress.start(3, 3000)
    assert progress.snapshot().state == "paused"
    fresh = Progress("job", ListSink())
    fresh.start(3, 3000)
    assert fresh.snapshot().state == "running"

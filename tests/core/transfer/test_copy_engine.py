"""The engine end to end on real folders: structure, mtime, two destinations from one
read, manifests and receipts, idempotent reruns, events and progress."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.transfer import (
    MANIFEST_NAME,
    CopyHooks,
    CopyRequest,
    CopySkipped,
    CopyVerified,
    JobFinished,
    JobProgressed,
    JobStarted,
    start_copy,
)
from almc_assistant.core.transfer.scan import FileTask
from tests.core.transfer.conftest import copy, digest, partials, tree_files, write
from tests.portable import READ_BACK_HERE

MTIME = 1_700_000_000_123_456_789


def make_run(root: Path) -> Path:
    run = root / "run1"
    write(run / "a.nd2", os.urandom(300_000), MTIME)
    write(run / "plate" / "r01c01.tif", os.urandom(70_000), MTIME + 1)
    write(run / "plate" / "r01c02.tif", b"", MTIME + 2)  # empty files are files too
    write(run / "plate" / "deep" / "x.tif", os.urandom(5), MTIME + 3)
    return run


@pytest.mark.parametrize(("workers", "grouped"), [(1, True), (4, True), (1, False), (4, False)])
def test_copies_a_folder_to_two_destinations_reading_each_byte_once(
    tmp_path: Path, workers: int, grouped: bool
) -> None:
    run = make_run(tmp_path / "src")
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    d1.mkdir()
    read: dict[Path, int] = {}
    lock = threading.Lock()

    def on_chunk(task: FileTask, total: int) -> None:
        with lock:
            read[task.source] = total  # bytes read so far from this source

    result, sink = copy(
        [run],
        [d1, d2],
        workers=workers,
        group_small_files=grouped,  # False: the one-file path macOS and Windows use
        hooks=CopyHooks(on_chunk=on_chunk),
    )
    assert result.summary.ok, sink.events
    source_files = tree_files(tmp_path / "src")
    for d in (d1, d2):  # d2 did not exist: created, as its parent exists
        assert tree_files(d) == source_files
        for rel in source_files:
            assert (d / rel).stat().st_mtime_ns == (tmp_path / "src" / rel).stat().st_mtime_ns
        assert partials(d) == []
    # one read per source byte, whatever the number of destinations
    assert read == {p: p.stat().st_size for p in run.rglob("*") if p.is_file() and p.stat().st_size}
    verified = sink.of_type(CopyVerified)
    assert len(verified) == 2 * len(source_files)
    for c in (e.copy for e in verified):
        assert c.blake3 == digest(c.source) == digest(Path(c.path))
        assert c.read_back == READ_BACK_HERE
        assert c.path.is_relative_to(c.destination_root)
    assert isinstance(sink.events[-1], JobFinished)


def test_manifest_passes_b3sum_check_and_receipt_lists_every_copy(tmp_path: Path) -> None:
    run = make_run(tmp_path / "src")
    dest = tmp_path / "dest"
    result, _ = copy([run], [dest])
    assert result.summary.ok
    if shutil.which("b3sum"):
        check = subprocess.run(
            ["b3sum", "--check", MANIFEST_NAME], cwd=dest, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr
        assert check.stdout.count(": OK") == 4
    (receipt,) = result.summary.receipts
    doc = json.loads(Path(receipt).read_text())
    assert doc["job_id"] == result.summary.job_id
    rows = {r["relative_path"]: r for r in doc["verified"]}
    assert set(rows) == set(tree_files(dest))
    row = rows["run1/a.nd2"]
    assert row["size"] == 300_000 and row["mtime_ns"] == (run / "a.nd2").stat().st_mtime_ns
    assert row["blake3"] == digest(run / "a.nd2")
    assert row["source"] == str(run / "a.nd2")
    assert row["read_back"] == READ_BACK_HERE and row["verified_at"]


def test_rerun_after_success_copies_nothing_but_reads_to_prove_it(tmp_path: Path) -> None:
    """ "Already verified" rests on a hash read of source and copy, never on the manifest
    line plus size and mtime (issue 10): each source is read, nothing is written."""
    run = make_run(tmp_path / "src")
    dest = tmp_path / "dest"
    first, _ = copy([run], [dest])
    assert first.summary.verified == 4
    before = {p: p.stat().st_ino for p in dest.rglob("*")}
    read: list[Path] = []
    again, sink = copy([run], [dest], hooks=CopyHooks(on_chunk=lambda t, n: read.append(t.source)))
    assert again.summary.ok and again.summary.verified == 0 and again.summary.skipped == 4
    assert sorted(set(read)) == sorted(
        p for p in run.rglob("*") if p.is_file() and p.stat().st_size
    )
    assert {e.reason for e in sink.of_type(CopySkipped)} == {"already verified at this destination"}
    assert {p: p.stat().st_ino for p in dest.rglob("*")} == before
    assert again.summary.receipts == ()  # nothing happened: no new receipt


def test_new_files_are_added_on_rerun(tmp_path: Path) -> None:
    run = make_run(tmp_path / "src")
    dest = tmp_path / "dest"
    copy([run], [dest])
    write(run / "plate" / "r02c01.tif", b"new" * 1000)
    again, _ = copy([run], [dest])
    assert again.summary.verified == 1 and again.summary.skipped == 4
    assert (dest / "run1/plate/r02c01.tif").read_bytes() == b"new" * 1000


def test_single_file_source_lands_at_the_root(tmp_path: Path) -> None:
    f = write(tmp_path / "src" / "one.nd2", b"x" * 10, MTIME)
    result, _ = copy([f], [tmp_path / "dest"])
    assert result.summary.ok
    assert (tmp_path / "dest" / "one.nd2").read_bytes() == b"x" * 10


def test_large_file_uses_trailing_read_back_windows(tmp_path: Path) -> None:
    data = os.urandom(5 * 1024 * 1024 + 123)
    src = write(tmp_path / "src" / "big.nd2", data)
    windows: list[tuple[int, int]] = []

    def after_flush(partial: Path, start: int, end: int) -> None:
        windows.append((start, end))

    result, _ = copy(
        [src],
        [tmp_path / "d1", tmp_path / "d2"],
        chunk_size=256 * 1024,
        window=1024 * 1024,
        hooks=CopyHooks(after_flush=after_flush),
    )
    assert result.summary.ok
    for d in ("d1", "d2"):
        assert (tmp_path / d / "big.nd2").read_bytes() == data
    # each destination was verified window by window, covering every byte
    spans = sorted(windows)
    assert spans[0][0] == 0 and max(e for _, e in spans) == len(data)
    assert len(spans) >= 2 * 5


def test_progress_snapshots_and_events(tmp_path: Path) -> None:
    run = make_run(tmp_path / "src")
    _result, sink = copy([run], [tmp_path / "d"], progress_interval=0.0)
    (started,) = sink.of_type(JobStarted)
    assert started.total_files == 4 and started.total_bytes == 370_005
    snaps = [e.snapshot for e in sink.of_type(JobProgressed)]
    assert snaps, "no progress published"
    done = [s.bytes_done for s in snaps]
    assert done == sorted(done)
    assert snaps[-1].bytes_done == snaps[-1].bytes_total == 370_005
    assert snaps[-1].files_done == 4 and snaps[-1].state == "finished"
    assert all(s.bytes_done <= s.bytes_total for s in snaps)


def test_start_copy_returns_at_once_and_wait_gives_the_result(tmp_path: Path) -> None:
    run = make_run(tmp_path / "src")
    sink = ListSink()
    gate = threading.Event()

    def held(_task: object, _done: int) -> None:
        gate.wait(10)

    job = start_copy(
        CopyRequest(
            sources=[run],
            destinations=[tmp_path / "d"],
            create_missing=True,
            hooks=CopyHooks(on_chunk=held),
        ),
        sink,
    )
    assert job.wait(timeout=0.05) is None  # still blocked on the gate
    gate.set()
    result = job.wait(timeout=30)
    assert result is not None and result.summary.ok
    assert job.snapshot().files_done == 4


def test_destination_inside_the_source_is_refused(tmp_path: Path) -> None:
    run = make_run(tmp_path / "src")
    result, _ = copy([run], [run / "backup"])
    assert result.error is not None and result.error.title == "Destination inside the source"
    assert str(run / "backup") in result.error.detail
    assert not (run / "backup").exists()

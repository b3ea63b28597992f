"""The one per-file pipeline (issue 17): a single file and a group of small files go
through the same driver and the same steps, in one call if need be.

Real files on a real file system; the driver is driven directly, as a worker does.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.transfer.control import JobControl
from almc_assistant.core.transfer.destination import JobDestination
from almc_assistant.core.transfer.faults import CopyError
from almc_assistant.core.transfer.grouped import batchable
from almc_assistant.core.transfer.hooks import CopyHooks
from almc_assistant.core.transfer.landing import Differs, Verified
from almc_assistant.core.transfer.manifest import read_manifest
from almc_assistant.core.transfer.pipeline import FilePipeline
from almc_assistant.core.transfer.progress import Progress
from almc_assistant.core.transfer.scan import FileTask, scan_sources
from almc_assistant.core.transfer.targets import OnConflict, Target, plan_target
from tests.core.transfer.conftest import digest, partials, write
from tests.portable import WINDOWS

CHUNK = 64 * 1024  # small files fit in one read; the large one is streamed in windows


def _tasks(src: Path) -> list[FileTask]:
    return sorted(scan_sources([src]).files, key=lambda t: t.relpath)


def _pipeline(hooks: CopyHooks | None = None) -> FilePipeline:
    return FilePipeline(
        JobControl(), Progress("job", ListSink()), hooks, chunk=CHUNK, window=2 * CHUNK
    )


def _targets(task: FileTask, dest: JobDestination) -> list[Target]:
    planned = plan_target(task, dest, OnConflict.KEEP_BOTH)
    assert isinstance(planned, Target)
    return [planned]


def test_small_and_large_files_in_one_call_are_verified_and_listed(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "a-small.tif", b"a" * 1000)
    write(src / "b-large.nd2", bytes(range(256)) * 1500)  # 384,000 bytes: streamed
    write(src / "c-small.tif", b"c" * 5000)
    (tmp_path / "dest").mkdir()
    dest = JobDestination(tmp_path / "dest")
    pipeline = _pipeline()
    tasks = _tasks(src)
    grouped = [pipeline.groupable(t, _targets(t, dest)) for t in tasks]
    # the same call takes both kinds (on Linux: elsewhere every file is streamed)
    assert grouped == ([True, False, True] if batchable(dest) else [False, False, False])

    results = pipeline.copy([(t, _targets(t, dest)) for t in tasks])

    assert all(isinstance(r, Verified) and not r.adopted for r in results.values())
    dest.manifest.close()
    copied = {t.relpath: digest(tmp_path / "dest" / t.relpath) for t in tasks}
    assert copied == {t.relpath: digest(t.source) for t in tasks}
    assert read_manifest(tmp_path / "dest") == copied
    assert partials(tmp_path / "dest") == []


@pytest.mark.skipif(WINDOWS, reason="editing a source the copy holds open blocks under Wine")
def test_a_source_changed_in_a_mixed_call_fails_only_its_own_copy(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "a-small.tif", b"a" * 1000)
    write(src / "b-large.nd2", b"b" * 300_000)
    write(src / "c-small.tif", b"c" * 5000)
    (tmp_path / "dest").mkdir()
    dest = JobDestination(tmp_path / "dest")

    def touch_after_read(task: FileTask, done: int) -> None:
        if task.source.name == "c-small.tif":  # read and written, not yet published
            with open(task.source, "ab") as f:
                f.write(b"!")

    tasks = _tasks(src)
    results = _pipeline(CopyHooks(on_chunk=touch_after_read)).copy(
        [(t, _targets(t, dest)) for t in tasks]
    )

    by_name = {task.source.name: r for (task, _), r in results.items()}
    assert isinstance(by_name["a-small.tif"], Verified)
    assert isinstance(by_name["b-large.nd2"], Verified)
    assert isinstance(by_name["c-small.tif"], CopyError)
    assert not (tmp_path / "dest" / "src" / "c-small.tif").exists()  # never under a final name
    assert partials(tmp_path / "dest") == []


def test_a_file_already_there_is_adopted_by_its_bytes_in_either_mover(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "a-small.tif", b"a" * 1000)
    write(src / "b-large.nd2", b"b" * 300_000)
    write(tmp_path / "dest" / "src" / "a-small.tif", b"a" * 1000)
    write(tmp_path / "dest" / "src" / "b-large.nd2", b"b" * 299_999 + b"X")  # other bytes
    dest = JobDestination(tmp_path / "dest")
    tasks = _tasks(src)
    items = [(t, _targets(t, dest)) for t in tasks]
    assert all(ts[0].adopt for _, ts in items)

    results = _pipeline().copy(items)

    by_name = {task.source.name: r for (task, _), r in results.items()}
    small = by_name["a-small.tif"]
    assert isinstance(small, Verified) and small.adopted
    assert isinstance(by_name["b-large.nd2"], Differs)  # never taken by its size
    assert (tmp_path / "dest" / "src" / "b-large.nd2").read_bytes().endswith(b"X")  # untouched


@pytest.mark.skipif(WINDOWS, reason="editing a source the copy holds open blocks under Wine")
def test_a_streamed_partial_that_failed_is_removed_once_and_never_by_path_again(
    tmp_path: Path, monkeypatch
) -> None:
    # after its first removal its folder is closed: a second one would go by path
    from almc_assistant.core.transfer import partial as partial_mod

    calls: list[int] = []
    real = partial_mod.PartialFile.discard

    def counting(self: partial_mod.PartialFile) -> None:
        calls.append(id(self))
        real(self)

    monkeypatch.setattr(partial_mod.PartialFile, "discard", counting)

    def change_source(task: FileTask, done: int) -> None:  # read whole, then touched
        if done == task.size:
            os.utime(task.source, ns=(1, 1))

    src = tmp_path / "src"
    write(src / "large.nd2", b"x" * 300_000)
    (tmp_path / "dest").mkdir()
    dest = JobDestination(tmp_path / "dest")
    tasks = _tasks(src)

    results = _pipeline(CopyHooks(on_chunk=change_source)).copy(
        [(t, _targets(t, dest)) for t in tasks], group=False
    )

    assert all(isinstance(r, CopyError) for r in results.values())
    assert len(calls) == len(set(calls)) == 1
    assert partials(tmp_path / "dest") == []
    assert not (tmp_path / "dest" / "src" / "large.nd2").exists()

"""Issue 17: a worker whose group of small files fails unexpectedly fails that group's
files clearly, without stopping; the grouped read-back stops at the stored size."""

from __future__ import annotations

import os
from pathlib import Path

import blake3
import pytest

from almc_assistant.core.transfer import CopyFailed, CopyHooks, CopyVerified
from almc_assistant.core.transfer.folder import Folder
from almc_assistant.core.transfer.hashing import hash_fd, open_from_storage
from almc_assistant.core.transfer.scan import FileTask
from tests.core.transfer.conftest import copy, partials, tree_files, write


def test_a_group_that_dies_mid_file_fails_its_files_and_the_job_goes_on(
    tmp_path: Path,
) -> None:
    """An unexpected error in one worker's group (here from a hook, mid-group): that
    group's files fail with a clear error at every destination, nothing unverified or
    partial is left, and the other workers copy everything else."""
    run = tmp_path / "src" / "run1"
    for i in range(100):
        write(run / f"f{i:03d}.tif", os.urandom(3000))
    dests = [tmp_path / "d1", tmp_path / "d2"]

    def dies(task: FileTask) -> None:
        if task.source.name == "f050.tif":
            raise RuntimeError("the worker died here")

    result, sink = copy([run], dests, workers=3, group_files=16, hooks=CopyHooks(before_file=dies))
    failed = sink.of_type(CopyFailed)
    dead = {f.source.name for f in failed}
    assert "f050.tif" in dead and len(dead) <= 16
    assert len(failed) == 2 * len(dead)  # at both destinations
    assert all(f.title == "Internal error" and "the worker died here" in f.detail for f in failed)
    assert all(f.next_step for f in failed)
    assert not result.summary.ok and result.summary.failed == len(failed)
    verified = sink.of_type(CopyVerified)
    assert len(verified) == 2 * (100 - len(dead))
    for dest in dests:
        assert partials(dest) == []
        copied = tree_files(dest / "run1")
        assert set(copied) == {f"f{i:03d}.tif" for i in range(100)} - dead
        for name, data in copied.items():  # what is there is the source's bytes
            assert blake3.blake3(data).digest() == blake3.blake3((run / name).read_bytes()).digest()


def test_many_workers_and_two_destinations_copy_every_small_file(tmp_path: Path) -> None:
    run = tmp_path / "src" / "run1"
    for i in range(400):
        write(run / f"w{i % 7}" / f"f{i:03d}.tif", os.urandom(1000 + i))
    dests = [tmp_path / "d1", tmp_path / "d2"]
    result, sink = copy([run], dests, workers=8, group_files=8)
    assert result.summary.ok and len(sink.of_type(CopyVerified)) == 800
    for dest in dests:
        assert tree_files(dest / "run1") == tree_files(run)
        manifest = (dest / "almc-manifest.b3sum").read_text().splitlines()
        assert len(manifest) == 400


@pytest.mark.skipif(not hasattr(os, "readv"), reason="grouped read-back: POSIX only (os.readv)")
def test_a_read_back_that_stops_at_the_stored_size_still_sees_a_file_that_grew(
    tmp_path: Path,
) -> None:
    """``hash_fd(..., stored)`` skips the read that meets the end of the file; a partial
    that grew after its ``fstat`` still hashes differently (and one that shrank)."""
    folder_path = tmp_path / "d"
    data = os.urandom(5000)
    write(folder_path / "p", data)
    buf = bytearray(1 << 16)
    with Folder.walk(folder_path, folder_path.stat().st_dev, []) as folder:
        fd, size = open_from_storage(folder, "p")
        try:
            assert (size, hash_fd(fd, buf, size)) == (5000, (blake3.blake3(data).hexdigest(), 5000))
        finally:
            os.close(fd)
        fd, size = open_from_storage(folder, "p")
        try:
            with (folder_path / "p").open("ab") as f:  # grows after the fstat
                f.write(b"x")
            got = hash_fd(fd, buf, size)
        finally:
            os.close(fd)
        assert got == (blake3.blake3(data + b"x").hexdigest(), 5001)
        fd, size = open_from_storage(folder, "p")
        try:
            os.truncate(folder_path / "p", 10)  # shrinks after the fstat
            got = hash_fd(fd, buf, size)
        finally:
            os.close(fd)
        assert got == (blake3.blake3(data[:10]).hexdigest(), 10)

"""Issue 9: faults that are final are reported at once, never retried file by file."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from almc_assistant.core.transfer import CopyFailed, CopyHooks, CopyRetried, CopyVerified
from almc_assistant.core.transfer.scan import FileTask
from tests.core.transfer.conftest import copy, partials, write


def _many(root: Path, n: int) -> Path:
    for i in range(n):
        write(root / "run1" / f"f{i:03d}.tif", b"%03d" % i * 100)
    return root / "run1"


@pytest.mark.parametrize("grouped", [True, False])
def test_sources_deleted_or_swapped_for_links_mid_copy_are_not_retried(
    tmp_path: Path, grouped: bool
) -> None:
    run = _many(tmp_path / "src", 60)
    done: list[bool] = []

    def vandal(task: FileTask) -> None:
        if done:
            return
        done.append(True)
        for i in range(1, 60):
            f = run / f"f{i:03d}.tif"
            f.unlink()
            if i % 2:
                f.symlink_to(run / "f000.tif")

    result, sink = copy(
        [run], [tmp_path / "dest"], hooks=CopyHooks(before_file=vandal), group_small_files=grouped
    )
    assert sink.of_type(CopyRetried) == []
    failed = sink.of_type(CopyFailed)
    assert len(failed) == 59 and not result.summary.ok
    assert all("changed while it was being copied" in f.detail for f in failed)
    assert any("deleted" in f.detail for f in failed)
    assert any("symbolic link" in f.detail for f in failed)
    assert partials(tmp_path / "dest") == []


@pytest.mark.parametrize("grouped", [True, False])
def test_lazily_unmounted_destination_is_gone_for_the_job_not_retried(
    tmp_path: Path, tmpfs: Callable[[str], Path], grouped: bool
) -> None:
    dest = tmpfs("16m")
    run = _many(tmp_path / "src", 200)
    unmounted: list[bool] = []

    def unplug(task: FileTask) -> None:
        if task.source.name == "f010.tif" and not unmounted:
            subprocess.run(["umount", "-l", str(dest)], check=True)
            unmounted.append(True)

    result, sink = copy(
        [run],
        [dest],
        workers=1,
        hooks=CopyHooks(before_file=unplug),
        group_small_files=grouped,
        group_files=8,
    )
    assert unmounted and sink.of_type(CopyRetried) == []
    failed = sink.of_type(CopyFailed)
    assert len(failed) + len(sink.of_type(CopyVerified)) == 200
    assert all("no longer available" in f.detail for f in failed)
    assert list(dest.iterdir()) == []  # nothing written to the bare mount point
    assert not result.summary.ok

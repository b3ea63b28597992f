"""A copy on a file system held in memory says so: its read-back reads the copy itself.

tmpfs has no storage under its page cache (the pages *are* the file), so there is nothing
to evict; the receipts and events must not claim "evicted from cache and re-read" there.
Real files, a real tmpfs mount (root only: skipped otherwise) beside a folder on the
test's disk, the real engine on threads (grouped small files, a streamed large file) and
in worker processes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from almc_assistant.core import smallcopy
from almc_assistant.core.events import ListSink
from almc_assistant.core.statfs import linux_fs_type
from almc_assistant.core.transfer import (
    READ_BACK_EVICTED,
    READ_BACK_FROM_STORAGE,
    READ_BACK_IN_MEMORY,
    READ_BACK_UNBUFFERED,
    CopyRequest,
    CopyVerified,
    direct,
    run_copy,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="tmpfs is Linux's")


def _direct_io(folder: Path) -> bool:
    fd = os.open(folder, os.O_RDONLY)
    try:
        return direct.suits(fd)
    finally:
        os.close(fd)


def _how(sink: ListSink) -> dict[Path, set[str]]:
    how: dict[Path, set[str]] = {}
    for e in sink.of_type(CopyVerified):
        how.setdefault(Path(e.copy.destination_root), set()).add(e.copy.read_back)
    return how


@pytest.mark.parametrize("processes", [0, 2], ids=["threads", "worker processes"])
def test_copies_on_a_tmpfs_say_they_were_re_read_from_its_memory(
    tmp_path: Path, other_disk: Callable[..., Path], processes: int
) -> None:
    if processes and not smallcopy.available():
        pytest.skip("worker processes for small files: Linux with spawn")
    src = tmp_path / "acq"
    src.mkdir()
    for i in range(40):
        (src / f"f{i:03}.tif").write_bytes(os.urandom(4096 + i))
    (src / "big.nd2").write_bytes(os.urandom(9 << 20))  # streamed, read back by windows
    disk = tmp_path / "disk"
    disk.mkdir()
    memory = other_disk(tmp_path / "tmpfs")
    assert linux_fs_type(memory) == "tmpfs"
    sink = ListSink()
    result = run_copy(
        CopyRequest(
            sources=[src],
            destinations=[disk, memory],
            processes=processes,
            window=1 << 20,
            group_files=8,
        ),
        sink,
    )
    assert result.summary.ok and result.summary.verified == 2 * 41
    how = _how(sink)
    # on the disk the large file was read back direct from the device where it can be
    # (test_direct_io), the small ones after eviction; never "in memory" there
    big = READ_BACK_UNBUFFERED if _direct_io(disk) else READ_BACK_EVICTED
    assert how == {disk: {READ_BACK_EVICTED, big}, memory: {READ_BACK_IN_MEMORY}}
    assert READ_BACK_IN_MEMORY in READ_BACK_FROM_STORAGE  # its storage: a verified copy

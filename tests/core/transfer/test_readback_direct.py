"""Issue 17: the direct read-back (``O_DIRECT``, used on network shares) where the file
system wants aligned reads: it falls back to the cache-evicting read and says so.

On a share (sshfs in ``tests/integration/test_copy_sshfs.py``) a direct read takes any
buffer and size. A block file system (ext4, xfs) refuses an unaligned direct read with
``EINVAL``; the read-back must then read the same bytes through the cache (evicted
first), never fail the copy or hash a short read.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import blake3
import pytest

from almc_assistant.core.fslimits import detect_filesystem
from almc_assistant.core.transfer import READ_BACK_EVICTED, READ_BACK_UNBUFFERED
from almc_assistant.core.transfer.readback import ReadBack

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="O_DIRECT through fcntl is Linux's"
)


@pytest.mark.parametrize("threaded", [False, True])
def test_an_unaligned_direct_read_back_falls_back_to_the_cache_and_says_so(
    tmp_path: Path, threaded: bool
) -> None:
    fs = detect_filesystem(tmp_path).type
    if fs not in ("ext4", "xfs", "btrfs", "ext3", "ext2"):
        pytest.skip(f"needs a block file system that refuses unaligned direct reads ({fs})")
    data = os.urandom(1_000_001)  # no block size divides it
    path = tmp_path / "partial"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
        buffer = bytearray(4096 * 64 + 1)  # neither aligned in size nor (likely) in memory
        rb = ReadBack(path, fd, buffer, threaded=threaded, direct=True)
        try:
            assert rb.method == READ_BACK_UNBUFFERED  # asked, and the flag was taken
            rb.submit(len(data) // 2)
            digest = rb.finish(len(data))
        finally:
            rb.close()
    finally:
        os.close(fd)
    assert digest == blake3.blake3(data).hexdigest()
    assert rb.method == READ_BACK_EVICTED  # read through the (evicted) cache after all


def test_a_direct_read_back_sees_bytes_appended_beyond_the_copy(tmp_path: Path) -> None:
    """The one byte asked for past the end (someone else wrote there) is still seen."""
    data = os.urandom(8192)
    path = tmp_path / "partial"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data + b"x")  # one byte more than the copy's size
        rb = ReadBack(path, fd, bytearray(1 << 16), threaded=False, direct=True)
        try:
            digest = rb.finish(len(data))
        finally:
            rb.close()
    finally:
        os.close(fd)
    assert digest == blake3.blake3(data + b"x").hexdigest() != blake3.blake3(data).hexdigest()

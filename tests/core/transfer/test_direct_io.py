"""Large files go between the device and our buffers (``O_DIRECT``), not the page cache.

Real files on the test's disk (ext4 here) and on a real ext4 loop image, the real engine
on threads. What the kernel did is read from the kernel: the flags of each open
descriptor in ``/proc/self/fdinfo`` while the copy runs. A byte changed on the device
under the copy is caught; sizes that are not whole blocks (the tail goes through the
cache), a refusal by the kernel (a misaligned buffer: ``EINVAL``) and file systems
without direct I/O (tmpfs) copy the same bytes, each read back the way its label says.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.transfer import (
    READ_BACK_EVICTED,
    READ_BACK_IN_MEMORY,
    READ_BACK_UNBUFFERED,
    CopyHooks,
    CopyRequest,
    CopyVerified,
    direct,
    run_copy,
)
from almc_assistant.core.transfer.readback import ReadBack
from tests.core.transfer.conftest import copy, partials, write
from tests.disks import (
    ext4,  # noqa: F401  (a fixture)
    physical_offset,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="O_DIRECT is Linux's")

MiB = 1 << 20
O_DIRECT = getattr(os, "O_DIRECT", 0)


def _suits(folder: Path) -> bool:
    fd = os.open(folder, os.O_RDONLY)
    try:
        return direct.suits(fd)
    finally:
        os.close(fd)


def _need_direct(folder: Path) -> None:
    if not _suits(folder):
        pytest.skip(f"{folder} is not on a file system with direct I/O (ext4, xfs, ...)")


def _labels(sink: ListSink) -> dict[str, str]:
    return {e.copy.path.name: e.copy.read_back for e in sink.of_type(CopyVerified)}


def _open_flags(name_part: str) -> list[int]:
    """The ``flags`` of every descriptor of this process open on a file whose path
    contains ``name_part`` (from ``/proc/self/fdinfo``: what the kernel holds)."""
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = str(fd.readlink())
            info = Path(f"/proc/self/fdinfo/{fd.name}").read_text()
        except OSError:
            continue  # closed meanwhile
        if name_part in target:
            flags = next(line for line in info.splitlines() if line.startswith("flags:"))
            found.append(int(flags.split()[1], 8))
    return found


SIZES = {
    "whole chunks": 8 * MiB,
    "a tail of one byte": 4 * MiB + 1,
    "a tail under a block": 9 * MiB + 123,
    "one byte short of a block": 12 * MiB - 1,
}


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("window", [MiB, 32 * MiB], ids=["many windows", "one window"])
def test_large_files_are_copied_and_read_back_from_the_device(
    tmp_path: Path, size: int, window: int
) -> None:
    _need_direct(tmp_path)
    data = os.urandom(size)
    src = write(tmp_path / "src" / "big.nd2", data)
    seen: list[tuple[list[int], list[int]]] = []

    def look(partial: Path, start: int, end: int) -> None:
        # after each flush: the flags of the source's and the partial's descriptors (the
        # writer and the source lose O_DIRECT for a tail of less than a block, which the
        # writer may already have written: the threads race)
        seen.append((_open_flags(str(src)), _open_flags(partial.name)))

    result, sink = copy(
        [src.parent], [tmp_path / "dest"], window=window, hooks=CopyHooks(after_flush=look)
    )
    assert result.summary.ok and result.summary.verified == 1
    assert (tmp_path / "dest" / "src" / "big.nd2").read_bytes() == data
    assert _labels(sink) == {"big.nd2": READ_BACK_UNBUFFERED}
    assert partials(tmp_path / "dest") == []
    assert seen
    for src_flags, partial_flags in seen:
        assert len(partial_flags) == 2  # the partial's writer and its reader
        assert any(f & O_DIRECT for f in partial_flags)  # the reader: from the device
        if size % direct.ALIGN == 0:  # no tail: the writer and the source stay direct
            assert all(f & O_DIRECT for f in partial_flags)
            assert src_flags and all(f & O_DIRECT for f in src_flags)


def test_switched_off_the_copy_goes_through_the_cache_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _need_direct(tmp_path)
    monkeypatch.setenv("ALMC_DIRECT_IO", "0")
    data = os.urandom(9 * MiB + 5)
    src = write(tmp_path / "src" / "big.nd2", data)
    flags: list[int] = []
    hooks = CopyHooks(after_flush=lambda p, s, e: flags.extend(_open_flags(p.name)))
    result, sink = copy([src.parent], [tmp_path / "dest"], window=MiB, hooks=hooks)
    assert result.summary.ok
    assert (tmp_path / "dest" / "src" / "big.nd2").read_bytes() == data
    assert _labels(sink) == {"big.nd2": READ_BACK_EVICTED}
    assert flags and not any(f & O_DIRECT for f in flags)


@pytest.mark.root
def test_a_byte_changed_on_the_device_is_caught(
    tmp_path: Path,
    ext4: tuple[Path, Path],  # noqa: F811
) -> None:
    """A byte of the copy changed on the device itself (in the loop image, behind the
    file system's back) after the window was written and flushed: the read-back, from
    the device, sees it; no final name is created."""
    mnt, image = ext4
    data = os.urandom(6 * MiB + 7)
    src = write(tmp_path / "src" / "big.nd2", data)
    changed: list[int] = []

    def change_on_device(partial: Path, start: int, end: int) -> None:
        if start == 0:
            where = physical_offset(partial) + 1000
            fd = os.open(image, os.O_RDWR | O_DIRECT)  # past the loop device's cache too
            try:
                block = direct.buffer(direct.ALIGN)
                base = where - where % direct.ALIGN
                os.preadv(fd, [block], base)
                block[where - base] ^= 0x01
                os.pwritev(fd, [block], base)
                os.fsync(fd)
            finally:
                os.close(fd)
            changed.append(where)

    result, _ = copy(
        [src.parent], [mnt / "dest"], window=MiB, hooks=CopyHooks(after_flush=change_on_device)
    )
    assert len(changed) >= 1
    assert not result.summary.ok
    assert not (mnt / "dest" / "src" / "big.nd2").exists()
    assert partials(mnt / "dest") == []


def test_tmpfs_is_never_opened_for_direct_io(
    tmp_path: Path, other_disk: Callable[..., Path]
) -> None:
    memory = other_disk(tmp_path / "tmpfs")
    data = os.urandom(9 * MiB + 1)
    src = write(memory / "src" / "big.nd2", data)
    flags: list[int] = []
    hooks = CopyHooks(after_flush=lambda p, s, e: flags.extend(_open_flags(p.name)))
    sink = ListSink()
    result = run_copy(
        CopyRequest(
            sources=[src.parent],
            destinations=[memory / "dest"],
            window=MiB,
            hooks=hooks,
            create_missing=True,
        ),
        sink,
    )
    assert result.summary.ok
    assert (memory / "dest" / "src" / "big.nd2").read_bytes() == data
    assert _labels(sink) == {"big.nd2": READ_BACK_IN_MEMORY}
    assert flags and not any(f & O_DIRECT for f in flags)


def test_a_chunk_size_of_no_whole_blocks_goes_through_the_cache(tmp_path: Path) -> None:
    """Chunks of 10,000 bytes: the kernel would refuse them direct; every read and write
    falls back to the cache and the copy is still exact (and read back from storage)."""
    _need_direct(tmp_path)
    data = os.urandom(3 * MiB + 17)
    src = write(tmp_path / "src" / "big.nd2", data)
    result, sink = copy([src.parent], [tmp_path / "dest"], chunk_size=10_000, window=MiB)
    assert result.summary.ok
    assert (tmp_path / "dest" / "src" / "big.nd2").read_bytes() == data
    assert _labels(sink)["big.nd2"] in {READ_BACK_EVICTED, READ_BACK_UNBUFFERED}


def test_a_read_back_refused_by_the_kernel_goes_on_through_the_evicted_cache(
    tmp_path: Path,
) -> None:
    """A read-back buffer the kernel refuses for O_DIRECT (misaligned: a bytearray's data
    starts 16 or 32 bytes into its page): the read gets ``EINVAL``, the reader drops the
    flag, reads on from where it was, and the label says evicted, not bypassed."""
    _need_direct(tmp_path)
    data = os.urandom(2 * MiB + 3)
    path = tmp_path / "copy.bin"
    path.write_bytes(data)
    wfd = os.open(path, os.O_WRONLY)
    misaligned = bytearray(MiB + 1)  # its data starts 16 or 32 bytes into a page
    rb = ReadBack(path, wfd, misaligned, threaded=False, direct=True)
    try:
        assert rb.method == READ_BACK_UNBUFFERED  # the flag was taken
        digest = rb.finish(len(data))
        assert rb.method == READ_BACK_EVICTED  # and given up at the first read
    finally:
        rb.close()
        os.close(wfd)
    import blake3

    assert digest == blake3.blake3(data).hexdigest()


def test_a_write_refused_by_the_kernel_goes_on_through_the_cache(tmp_path: Path) -> None:
    """A chunk the kernel refuses to write direct (its memory misaligned): the partial
    drops the flag and writes it, and the rest, through the cache; nothing is lost.
    (The partial's writing alone, on a real descriptor: the engine's own buffers are
    aligned, so the engine never hands it such a chunk.)"""
    from almc_assistant.core.transfer.partial import PartialFile

    _need_direct(tmp_path)
    path = tmp_path / "f.bin"
    part = PartialFile.__new__(PartialFile)
    part.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        part._direct = direct.enable(part.fd)
        assert part._direct and _open_flags(path.name)[0] & O_DIRECT
        first, second = os.urandom(MiB), os.urandom(MiB)
        aligned = direct.buffer(MiB)
        aligned[:] = first
        part.write(memoryview(aligned))  # whole blocks from aligned memory: direct
        assert part._direct and _open_flags(path.name)[0] & O_DIRECT
        raw = direct.buffer(MiB + direct.ALIGN)
        raw[1 : 1 + MiB] = second
        part.write(memoryview(raw)[1 : 1 + MiB])  # misaligned memory: EINVAL, then cached
        assert not part._direct and not _open_flags(path.name)[0] & O_DIRECT
        os.fsync(part.fd)
    finally:
        os.close(part.fd)
    assert path.read_bytes() == first + second

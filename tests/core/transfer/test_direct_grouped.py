"""Direct I/O (``O_DIRECT``) for grouped files of 1 MiB and more, on threads
(:mod:`transfer.grouped`) and in worker processes (:mod:`core.smallcopy`): copies of
unaligned sizes are byte-identical and say how they were read back; a byte changed on
the device is caught; tmpfs targets are never opened with ``O_DIRECT``; a refused
direct transfer (``EINVAL``: a misaligned buffer) goes through the cache and the copy
says so. Real files on the test's ext4 disk, a real ext4 loop image, a real tmpfs."""

from __future__ import annotations

import ctypes
import mmap
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blake3
import pytest

from almc_assistant.core import rawio, smallcopy
from almc_assistant.core.events import ListSink
from almc_assistant.core.rawio import fill_direct, load_syncfs, set_direct, write_direct
from almc_assistant.core.statfs import linux_fs_type
from almc_assistant.core.transfer import (
    READ_BACK_EVICTED,
    READ_BACK_IN_MEMORY,
    READ_BACK_UNBUFFERED,
    CopyHooks,
    CopyVerified,
    direct,
    grouped,
)
from tests.core.transfer.conftest import copy, flip_on_device, partials, tree_files, write
from tests.disks import ext4  # noqa: F401  (a fixture)

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or not direct.available(), reason="O_DIRECT is Linux's"
)

MiB = 1 << 20
SIZES = [0, 1, 4095, 4096, 4097, MiB - 1, MiB, 2 * MiB + 123, 4 * MiB]  # 4 MiB: CHUNK


def _on_direct_fs(path: Path) -> Path:
    if linux_fs_type(path) not in direct.DIRECT_FS:
        pytest.skip(f"{path} is on {linux_fs_type(path)}, not a file system for O_DIRECT")
    return path


def _sources(root: Path) -> Path:
    for size in SIZES:
        write(root / "run" / f"f{size}.tif", os.urandom(size))
    return root / "run"


def _how(sink: ListSink) -> dict[tuple[Path, str], str]:
    """How each copy was read back: (destination root, file name) -> words."""
    return {
        (Path(e.copy.destination_root), e.copy.source.name): e.copy.read_back
        for e in sink.of_type(CopyVerified)
    }


def _address(buf: bytearray) -> int:
    return ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))


@pytest.mark.parametrize("processes", [0, 1], ids=["threads", "worker process"])
def test_unaligned_sizes_are_copied_exactly_and_say_how_they_were_read_back(
    tmp_path: Path, processes: int
) -> None:
    """Files of 1 MiB and more were read back with O_DIRECT (every byte, the tail too)
    and say so; smaller ones were evicted and re-read through the cache."""
    if processes and not smallcopy.available():
        pytest.skip("worker processes for small files: Linux with spawn")
    dest = tmp_path / "d"
    dest.mkdir()
    _on_direct_fs(dest)
    run = _sources(tmp_path / "src")
    result, sink = copy([run], [dest], processes=processes, group_files=4)
    assert result.summary.ok and result.summary.verified == len(SIZES)
    assert tree_files(dest / "run") == tree_files(run)
    assert partials(dest) == []
    expected = {
        (dest, f"f{size}.tif"): READ_BACK_UNBUFFERED if size >= MiB else READ_BACK_EVICTED
        for size in SIZES
    }
    assert _how(sink) == expected


@pytest.mark.parametrize("processes", [0, 1], ids=["threads", "worker process"])
def test_with_direct_io_switched_off_every_copy_is_evicted_and_re_read(
    tmp_path: Path, processes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ALMC_DIRECT_IO=0`` (the comparison switch): no copy claims O_DIRECT."""
    if processes and not smallcopy.available():
        pytest.skip("worker processes for small files: Linux with spawn")
    monkeypatch.setenv("ALMC_DIRECT_IO", "0")
    dest = tmp_path / "d"
    dest.mkdir()
    _on_direct_fs(dest)
    run = _sources(tmp_path / "src")
    result, sink = copy([run], [dest], processes=processes, group_files=4)
    assert result.summary.ok and tree_files(dest / "run") == tree_files(run)
    assert set(_how(sink).values()) == {READ_BACK_EVICTED}


@pytest.mark.root
def test_threads_catch_a_byte_changed_on_the_device_under_a_clean_cache(
    tmp_path: Path,
    ext4: tuple[Path, Path],  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 2 MiB partial whose byte is changed on the device after ``syncfs``, while its
    clean cached pages still show the old byte, is a mismatch (the copy is retried and
    then verified); its sibling is verified, read back with O_DIRECT."""
    mnt, image = ext4
    run = tmp_path / "src" / "run"
    bad, good = (write(run / name, os.urandom(2 * MiB + 123)) for name in ("a.tif", "b.tif"))
    cached: list[bytes] = []

    def corrupt(partial: Path, start: int, end: int) -> None:
        if cached or "a.tif" not in partial.name:
            return
        with open(partial, "rb") as f:  # its pages cached (clean, as written)
            f.read()
        flip_on_device(image, partial, 100)
        cached.append(partial.read_bytes()[100:101])  # the page cache: unchanged

    result, sink = copy([run], [mnt], processes=0, hooks=CopyHooks(after_flush=corrupt))
    assert cached == [bad.read_bytes()[100:101]]  # only a read from storage sees it
    retried = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retried) == 1 and "a.tif" in retried[0] and "does not match" in retried[0]
    assert result.summary.ok and partials(mnt) == []
    assert tree_files(mnt / "run") == tree_files(run)
    assert _how(sink)[(mnt, "b.tif")] == READ_BACK_UNBUFFERED
    assert good.read_bytes() == (mnt / "run" / "b.tif").read_bytes()


@pytest.mark.root
def test_the_child_catches_a_byte_changed_on_the_device_and_lists_only_good_copies(
    tmp_path: Path,
    ext4: tuple[Path, Path],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker process's steps, in this process, with direct I/O on ext4: a byte
    changed on the device under clean cached pages is a mismatch; only the matching copy
    is listed as read back by O_DIRECT."""
    mnt, image = ext4
    src = [write(tmp_path / "src" / f"f{i}.tif", os.urandom(2 * MiB + 123)) for i in range(2)]
    real = smallcopy._Group._read_back
    cached: list[bytes] = []

    def corrupt_storage_then_read_back(self: Any, *args: Any) -> None:
        (mnt / ".p0").read_bytes()  # its pages cached
        flip_on_device(image, mnt / ".p0", 100)
        cached.append((mnt / ".p0").read_bytes()[100:101])
        real(self, *args)

    monkeypatch.setattr(smallcopy._Group, "_read_back", corrupt_storage_then_read_back)
    st = mnt.stat()
    files: list[smallcopy.FileSpec] = [
        (str(p), p.stat().st_size, p.stat().st_mtime_ns, None, [(0, f".p{i}")])
        for i, p in enumerate(src)
    ]
    group = smallcopy._Group(mmap.mmap(-1, MiB), load_syncfs(), frozenset({"ext4"}))
    answer = group.run(([(str(mnt), st.st_dev, st.st_ino)], files, None))
    assert cached == [src[0].read_bytes()[100:101]]
    faults0 = answer.files[0][2]
    assert faults0[0] is not None and faults0[0][0] == "mismatch"
    assert answer.files[1][1:] == (None, [None])
    assert answer.unbuffered == ((1, 0),)
    assert (mnt / ".p1").read_bytes() == src[1].read_bytes()


@pytest.mark.root
def test_a_tmpfs_target_is_never_opened_direct_and_says_in_memory(
    tmp_path: Path, tmpfs: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Threads and the child's steps, a disk and a tmpfs target: O_DIRECT is asked for
    on the disk's descriptors only; the tmpfs's copies say they were re-read from its
    memory, the disk's large ones that they were read back bypassing the cache."""
    disk = tmp_path / "disk"
    disk.mkdir()
    _on_direct_fs(disk)
    memory = tmpfs("64m")
    run = _sources(tmp_path / "src")
    asked: list[str | None] = []

    def spy(fd: int, on: bool) -> bool:
        if on:
            asked.append(linux_fs_type(fd))
        return set_direct(fd, on)

    monkeypatch.setattr(grouped, "set_direct", spy)
    monkeypatch.setattr(smallcopy, "set_direct", spy)
    result, sink = copy([run], [disk, memory], processes=0, group_files=4)
    assert result.summary.ok and result.summary.verified == 2 * len(SIZES)
    assert tree_files(memory / "run") == tree_files(disk / "run") == tree_files(run)
    how = _how(sink)
    for size in SIZES:
        name = f"f{size}.tif"
        assert how[(memory, name)] == READ_BACK_IN_MEMORY
        assert how[(disk, name)] == (READ_BACK_UNBUFFERED if size >= MiB else READ_BACK_EVICTED)
    assert asked and "tmpfs" not in asked

    asked.clear()  # the worker process's steps, run here so the spy sees them
    sources = [run / f"f{size}.tif" for size in SIZES]
    folders = [(str(f), f.stat().st_dev, f.stat().st_ino) for f in (disk, memory)]
    files: list[smallcopy.FileSpec] = [
        (str(p), p.stat().st_size, p.stat().st_mtime_ns, None, [(0, f".q{i}"), (1, f".q{i}")])
        for i, p in enumerate(sources)
    ]
    group = smallcopy._Group(mmap.mmap(-1, MiB), load_syncfs(), direct.DIRECT_FS)
    answer = group.run((folders, files, None))
    assert answer.read_back == [smallcopy.STORAGE, smallcopy.MEMORY]
    assert all(fault is None and faults == [None, None] for _, fault, faults in answer.files)
    big = [k for k, size in enumerate(SIZES) if size >= MiB]
    assert answer.unbuffered == tuple((k, 0) for k in big)  # the disk's copies only
    assert asked and "tmpfs" not in asked
    for i, p in enumerate(sources):
        assert (memory / f".q{i}").read_bytes() == (disk / f".q{i}").read_bytes() == p.read_bytes()


def test_a_refused_direct_read_or_write_goes_through_the_cache(tmp_path: Path) -> None:
    """A misaligned buffer: the kernel refuses the direct transfer (EINVAL); the bytes
    are read and written through the cache instead, all of them, and the helpers say
    they were not direct."""
    folder = _on_direct_fs(tmp_path)
    data = os.urandom(2 * MiB + 123)
    raw = bytearray(len(data) + 4096 + 1)
    off = 1 if _address(raw) % 512 == 0 else 0  # a start no device accepts for O_DIRECT
    assert (_address(raw) + off) % 512
    view = memoryview(raw)[off : off + direct.round_up(len(data) + 1)]
    view[: len(data)] = data
    fd = os.open(folder / "out", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        assert set_direct(fd, True)
        assert write_direct(fd, view[: len(data)]) is False
    finally:
        os.close(fd)
    assert (folder / "out").read_bytes() == data
    fd = os.open(folder / "out", os.O_RDONLY)
    try:
        assert set_direct(fd, True)
        view[:] = bytes(len(view))
        assert fill_direct(fd, view) == (len(data), False)
    finally:
        os.close(fd)
    assert bytes(view[: len(data)]) == data
    aligned = mmap.mmap(-1, len(view))  # the same read, aligned: direct throughout
    fd = os.open(folder / "out", os.O_RDONLY)
    try:
        assert set_direct(fd, True)
        total, unbuffered = fill_direct(fd, memoryview(aligned), stop=len(data))
    finally:
        os.close(fd)
    assert (total, unbuffered) == (len(data), True) and aligned[: len(data)] == data


@pytest.mark.parametrize("where", ["threads", "worker process steps"])
def test_a_misaligned_buffer_still_copies_and_says_evicted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The copier's buffer misaligned (so every direct transfer is refused): the copies
    are still exact and verified, and none claims to have bypassed the cache."""
    dest = tmp_path / "d"
    dest.mkdir()
    _on_direct_fs(dest)
    run = _sources(tmp_path / "src")
    refused: list[int] = []
    real_fill = rawio.fill_direct

    def counting_fill(fd: int, view: memoryview, stop: int | None = None) -> tuple[int, bool]:
        got = real_fill(fd, view, stop)
        refused.append(not got[1])
        return got

    if where == "threads":

        def misaligned(size: int) -> memoryview:
            raw = bytearray(size + 1)
            off = 1 if _address(raw) % 512 == 0 else 0
            return memoryview(raw)[off : off + size]

        monkeypatch.setattr(direct, "buffer", misaligned)
        monkeypatch.setattr(grouped, "fill_direct", counting_fill)
        result, sink = copy([run], [dest], processes=0, group_files=4)
        assert result.summary.ok and result.summary.verified == len(SIZES)
        assert tree_files(dest / "run") == tree_files(run)
        assert set(_how(sink).values()) == {READ_BACK_EVICTED}
    else:
        monkeypatch.setattr(smallcopy, "fill_direct", counting_fill)
        buf = bytearray(5 * MiB)
        assert _address(buf) % 512  # malloc's header: no direct transfer accepts it
        st = dest.stat()
        sources = [run / f"f{size}.tif" for size in SIZES]
        files: list[smallcopy.FileSpec] = [
            (str(p), p.stat().st_size, p.stat().st_mtime_ns, None, [(0, f".p{i}")])
            for i, p in enumerate(sources)
        ]
        group = smallcopy._Group(buf, load_syncfs(), frozenset({"ext4", "xfs", "btrfs"}))
        answer = group.run(([(str(dest), st.st_dev, st.st_ino)], files, None))
        assert all(f is None and faults == [None] for _, f, faults in answer.files)
        assert answer.unbuffered == ()
        for i, p in enumerate(sources):
            digest = blake3.blake3(p.read_bytes()).hexdigest()
            assert answer.files[i][0] == digest
            assert (dest / f".p{i}").read_bytes() == p.read_bytes()
    assert refused and all(refused)  # direct reads were tried, and refused

"""Windows read-back bypassing the cache (``FILE_FLAG_NO_BUFFERING``), on real files.

Run by the Windows lane (.ci/windows-lane, Windows Python under Wine). Wine accepts the
flag but neither bypasses Linux's cache nor enforces the alignment rules, so every
``ReadFile`` here goes through a checker that fails the test on an unaligned offset,
length or buffer address, as real Windows would refuse them.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Any

import blake3
import pytest

from almc_assistant.core.transfer import READ_BACK_CACHED, CopyVerified, unbuffered
from almc_assistant.core.transfer.hashing import hash_existing
from tests.core.transfer.conftest import copy, write
from tests.portable import READ_BACK_HERE, UNDER_WINE, WINDOWS

pytestmark = pytest.mark.skipif(
    not WINDOWS, reason="FILE_FLAG_NO_BUFFERING is Windows'; the Windows lane runs these"
)


class _Checked:
    """kernel32 whose ReadFile enforces the NO_BUFFERING rules (and may refuse reads)."""

    def __init__(self, k: Any, align: int, refuse: bool = False) -> None:
        self._k, self.align, self.refuse, self.reads = k, align, refuse, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._k, name)

    def ReadFile(self, handle: Any, addr: int, length: int, got: Any, ov: Any) -> int:
        o = ov._obj
        offset = o.Offset | o.OffsetHigh << 32
        assert addr % self.align == 0, f"buffer address {addr:#x} not aligned"
        assert length % self.align == 0, f"length {length} not a whole number of sectors"
        assert offset % self.align == 0, f"offset {offset} not sector-aligned"
        self.reads += 1
        if self.refuse:
            # ERROR_INVALID_PARAMETER, as some volumes answer (Windows only, as this fake)
            ctypes.set_last_error(87)  # type: ignore[attr-defined,unused-ignore]
            return 0
        return int(self._k.ReadFile(handle, addr, length, got, ov))


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[_Checked]:
    """Every reader opened from now on checks alignment; the checkers, to look at."""
    made: list[_Checked] = []
    real = unbuffered.open_unbuffered

    def open_checked(path: str | os.PathLike[str]) -> unbuffered.UnbufferedReader | None:
        r = real(path)
        if r is not None:
            r._k = _Checked(r._k, r.align, refuse=getattr(open_checked, "refuse", False))
            made.append(r._k)
        return r

    monkeypatch.setattr(unbuffered, "open_unbuffered", open_checked)
    return made


@pytest.mark.parametrize("size", [0, 1, 511, 4095, 4096, 4097, 1 << 20, 3 * (1 << 20) + 1234])
def test_whole_files_of_every_tail_size_read_back_exactly(
    tmp_path: Path, checked: list[_Checked], size: int
) -> None:
    data = os.urandom(size)
    path = write(tmp_path / "f.bin", data)
    buf = bytearray((256 << 10) + 7)  # an odd size at an arbitrary address
    assert hash_existing(path, buf) == blake3.blake3(data).hexdigest()
    assert checked and checked[0].reads >= 1


def test_windows_starting_and_ending_mid_sector_pass_exactly_their_bytes(
    tmp_path: Path, checked: list[_Checked]
) -> None:
    data = os.urandom(200_000)
    path = write(tmp_path / "f.bin", data)
    reader = unbuffered.open_unbuffered(path)
    assert reader is not None
    got: list[bytes] = []
    try:
        buf = bytearray(64 << 10)
        assert reader.read_range(5000, 70_001, buf, lambda v: got.append(bytes(v))) == 70_001
        assert b"".join(got) == data[5000:70_001]
        got.clear()
        end = reader.read_range(70_001, len(data) + 1, buf, lambda v: got.append(bytes(v)))
        assert end == len(data) and b"".join(got) == data[70_001:]
    finally:
        reader.close()


def test_one_byte_more_sees_what_someone_wrote_beyond_the_copy(
    tmp_path: Path, checked: list[_Checked]
) -> None:
    path = write(tmp_path / "f.bin", b"a" * 8192)
    reader = unbuffered.open_unbuffered(path)
    assert reader is not None
    try:
        buf = bytearray(64 << 10)
        assert reader.read_range(8192, 8193, buf, lambda v: None) == 8192
        with path.open("ab") as f:
            f.write(b"!")
        seen: list[bytes] = []
        assert reader.read_range(8192, 8193, buf, lambda v: seen.append(bytes(v))) == 8193
        assert seen == [b"!"]
    finally:
        reader.close()


def test_copy_reads_back_window_by_window_and_the_receipt_says_how(
    tmp_path: Path, checked: list[_Checked]
) -> None:
    data = os.urandom(3 * (1 << 20) + 777)
    src = write(tmp_path / "src" / "big.nd2", data)
    result, sink = copy(
        [src], [tmp_path / "d"], chunk_size=256 << 10, window=1 << 20, group_small_files=False
    )
    assert result.summary.ok, sink.events
    assert (tmp_path / "d" / "big.nd2").read_bytes() == data
    (event,) = sink.of_type(CopyVerified)
    # real Windows: "read back from the storage, bypassing the cache"; Wine ignores the
    # flag (no O_DIRECT below), so there the receipt must not claim it
    assert event.copy.read_back == READ_BACK_HERE
    assert sum(c.reads for c in checked) >= 4  # window by window, not once at the end


def test_a_volume_refusing_the_flag_still_verifies_and_says_the_cache_was_used(
    tmp_path: Path, checked: list[_Checked], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(unbuffered.open_unbuffered, "refuse", True, raising=False)
    data = os.urandom(2 * (1 << 20) + 5)
    src = write(tmp_path / "src" / "big.nd2", data)
    result, sink = copy(
        [src], [tmp_path / "d"], chunk_size=256 << 10, window=1 << 20, group_small_files=False
    )
    assert result.summary.ok, sink.events
    (event,) = sink.of_type(CopyVerified)
    assert event.copy.read_back == READ_BACK_CACHED
    assert (tmp_path / "d" / "big.nd2").read_bytes() == data


def test_wine_is_recognised_as_not_bypassing_the_cache() -> None:
    assert unbuffered.honoured() is (not UNDER_WINE)

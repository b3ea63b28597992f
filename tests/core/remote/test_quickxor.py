"""QuickXorHash computed in our read pass equals rclone's ``hashsum quickxor``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from almc_assistant.core.remote.quickxor import QuickXorHash
from almc_assistant.core.remote.rclonebin import RcloneMissing, rclone_binary

SIZES = [0, 1, 5, 19, 20, 21, 159, 160, 1759, 1760, 1761, 3520, 3523, 100_003, 4 * 1024 * 1024 + 7]


def test_quickxor_equals_rclone(tmp_path: Path) -> None:
    try:
        rclone = rclone_binary()
    except RcloneMissing as exc:
        pytest.skip(str(exc))
    ours = {}
    for size in SIZES:
        data = os.urandom(size)
        (tmp_path / f"f{size}").write_bytes(data)
        h = QuickXorHash()
        step = 1 + size // 7  # uneven chunks cross the 1760-byte period
        for i in range(0, size, step):
            h.update(memoryview(data)[i : i + step])
        ours[f"f{size}"] = h.hexdigest()
    out = subprocess.run(
        [str(rclone), "hashsum", "quickxor", str(tmp_path), "--config", "/dev/null"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    theirs = {name: digest for digest, name in (line.split("  ", 1) for line in out.splitlines())}
    assert theirs == ours


def test_known_vectors() -> None:
    """Values rclone gives for fixed inputs (also OneDrive's base64 form)."""
    empty = QuickXorHash()
    assert empty.hexdigest() == "00" * 20
    one = QuickXorHash()
    one.update(b"\xa8")
    assert one.hexdigest() == "a8" + "00" * 11 + "01" + "00" * 7
    assert one.b64digest() == "qAAAAAAAAAAAAAAAAQAAAAAAAAA="

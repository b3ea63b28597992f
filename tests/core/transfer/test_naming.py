"""Partial names, keep-both names, and the removal of stale partials after a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from almc_assistant.core.transfer import owner
from almc_assistant.core.transfer.naming import (
    PARTIAL_PREFIX,
    conflict_name,
    free_conflict_name,
    is_own_record,
    partial_name,
    release_partial,
    remove_stale_partials,
)
from tests.portable import WINDOWS


def test_partial_names_are_hidden_unique_and_short_enough() -> None:
    a, b = partial_name("x.tif"), partial_name("x.tif")
    assert a != b and a.startswith(PARTIAL_PREFIX) and a.endswith("x.tif")
    long = partial_name("é" * 127 + ".tif")
    assert len(os.fsencode(long)) <= 255


def test_conflict_names() -> None:
    assert conflict_name(Path("d/a.tif"), 2) == Path("d/a (almc copy 2).tif")
    assert conflict_name(Path("d/P1.ome.tif"), 3) == Path("d/P1 (almc copy 3).ome.tif")
    assert conflict_name(Path("d/README"), 2) == Path("d/README (almc copy 2)")
    assert conflict_name(Path("d/.hidden"), 2) == Path("d/.hidden (almc copy 2)")


def test_free_conflict_name_skips_taken_ones(tmp_path: Path) -> None:
    (tmp_path / "a (almc copy 2).tif").write_bytes(b"x")
    assert free_conflict_name(tmp_path / "a.tif") == tmp_path / "a (almc copy 3).tif"


def test_own_records() -> None:
    assert is_own_record("almc-manifest.b3sum")
    assert is_own_record("almc-receipts/20260101T000000Z-abc.json")
    assert is_own_record(f"run1/{PARTIAL_PREFIX}1-ab-x.tif")
    assert not is_own_record("run1/almc-manifest.b3sum.tif")


def test_stale_partials_of_dead_processes_are_removed_live_ones_kept(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(dead.stdout)
    stale = tmp_path / f"{PARTIAL_PREFIX}{owner.MACHINE}-{dead_pid}-12345-deadbeef0-a.tif"
    writing = tmp_path / partial_name("b.tif")  # this process is writing it
    abandoned = tmp_path / partial_name("c.tif")  # this process gave it up (read-only drive)
    release_partial(abandoned.name)
    user = tmp_path / "a.tif"
    for p in (stale, writing, abandoned, user):
        p.write_bytes(b"x")
    assert sorted(remove_stale_partials(tmp_path)) == sorted([stale, abandoned])
    assert writing.exists() and user.exists()
    release_partial(writing.name)


def _partial(folder: Path, who: str, name: str) -> Path:
    path = folder / f"{PARTIAL_PREFIX}{who}-cafe00001-{name}"
    path.write_bytes(b"x")
    return path


@pytest.mark.skipif(
    WINDOWS,
    reason="POSIX only: a process start time is read from /proc; on Windows it is unknown (0), so"
    " a partial of a live pid is kept, never removed (safe side)",
)
def test_a_reused_pid_does_not_keep_a_partial_forever(tmp_path: Path) -> None:
    """The pid is alive again, but it is another process (other start time)."""
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = owner.start_time(live.pid)
        reused = _partial(tmp_path, f"{owner.MACHINE}-{live.pid}-{start + 1}", "a.tif")
        running = _partial(tmp_path, f"{owner.MACHINE}-{live.pid}-{start}", "b.tif")
        assert remove_stale_partials(tmp_path) == [reused]
        assert running.exists()
    finally:
        live.kill()
        live.wait()


def test_another_machines_partial_is_left_unless_very_old(tmp_path: Path) -> None:
    """Shared storage: a local pid check says nothing about another PC's writer."""
    other = "abcdef" if owner.HOST != "abcdef" else "fedcba"
    fresh = _partial(tmp_path, f"{other}123456-1-1", "a.tif")
    legacy = _partial(tmp_path, "1", "b.tif")  # old format: machine unknown
    assert remove_stale_partials(tmp_path) == []
    assert fresh.exists() and legacy.exists()
    now = fresh.stat().st_ctime + owner.FOREIGN_AGE + 1
    assert owner.is_stale(f"{other}123456-1-1", fresh.stat().st_ctime, now)


def test_this_machines_partial_from_an_earlier_boot_is_removed(tmp_path: Path) -> None:
    earlier = "000000" if owner.MACHINE[6:] != "000000" else "111111"
    old = _partial(tmp_path, f"{owner.HOST}{earlier}-{os.getpid()}-1", "a.tif")
    assert remove_stale_partials(tmp_path) == [old]


def test_stale_partials_are_removed_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for i in range(50):
        _partial(tmp_path, f"{owner.HOST}000000-1-1", f"f{i}.tif")
    with caplog.at_level("INFO"):
        assert len(remove_stale_partials(tmp_path)) == 50
    assert len(caplog.records) == 1 and "50 stale" in caplog.records[0].getMessage()

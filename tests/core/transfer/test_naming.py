"""Partial names, keep-both names, and the removal of stale partials after a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from almc_assistant.core.transfer.naming import (
    PARTIAL_PREFIX,
    conflict_name,
    free_conflict_name,
    is_own_record,
    partial_name,
    release_partial,
    remove_stale_partials,
)


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
    stale = tmp_path / f"{PARTIAL_PREFIX}{dead_pid}-deadbeef-a.tif"
    writing = tmp_path / partial_name("b.tif")  # this process is writing it
    abandoned = tmp_path / partial_name("c.tif")  # this process gave it up (read-only drive)
    release_partial(abandoned)
    user = tmp_path / "a.tif"
    for p in (stale, writing, abandoned, user):
        p.write_bytes(b"x")
    assert sorted(remove_stale_partials(tmp_path)) == sorted([stale, abandoned])
    assert writing.exists() and user.exists()
    release_partial(writing)

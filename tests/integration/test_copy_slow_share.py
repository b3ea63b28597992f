"""Issue 17: the worker count on a real slow share, chosen by the job, not the user.

The share is the benchmark's stand-in (``bench/netshare.py``): an SFTP server in a
network namespace of its own, behind a delay forwarder that holds every packet 5 ms each
way, mounted with sshfs's default options. Needs root, /dev/net/tun, /dev/fuse, ``ip``,
``gcc``, ``sshd`` and ``sshfs``; skips cleanly otherwise. Nothing here is timed: the
round trip the job measured is only checked against the link's own floor (a packet
cannot come back before the forwarder let it through both ways).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.netshare import NetShare, NetShareError, missing_requirements

from almc_assistant.core.transfer import CopyVerified
from almc_assistant.core.transfer.concurrency import MAX_SHARE_WORKERS, default_workers
from almc_assistant.core.transfer.destination import JobDestination
from tests.core.transfer.conftest import copy

DELAY_MS = 5.0


@pytest.fixture(scope="module")
def slow_share(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(mount point, the server's folder behind it), 10 ms away."""
    if lacks := missing_requirements():
        pytest.skip("the slow share stand-in needs " + ", ".join(lacks))
    base = tmp_path_factory.mktemp("slow-share")
    store, mnt = base / "store", base / "mnt"
    store.mkdir()
    try:
        with NetShare(store, mnt, delay_ms=DELAY_MS):
            yield mnt, store
    except NetShareError as exc:
        pytest.skip(f"the slow share stand-in could not be built here: {exc}")


def _plate(root: Path, wells: int, files: int) -> Path:
    for w in range(wells):
        (root / f"well{w}").mkdir(parents=True)
        for i in range(files):
            (root / f"well{w}" / f"f{i}.tif").write_bytes(os.urandom(2000 + i))
    return root


def test_preflight_measures_the_share_round_trip(slow_share: tuple[Path, Path]) -> None:
    mnt, _ = slow_share
    (mnt / "probe-root").mkdir()
    dest = JobDestination(mnt / "probe-root")
    dest.manifest.close()
    assert dest.share
    assert dest.latency >= 2 * DELAY_MS / 1000  # the link's floor: there and back
    assert list((mnt / "probe-root").iterdir()) == []  # probes leave nothing


def test_the_job_picks_a_share_count_for_a_slow_share_and_fills_folders_at_once(
    tmp_path: Path, slow_share: tuple[Path, Path]
) -> None:
    mnt, store = slow_share
    plate = _plate(tmp_path / "src" / "plate", wells=5, files=3)
    (mnt / "auto").mkdir()
    result, sink = copy([plate], [mnt / "auto"])
    assert result.summary.ok and len(sink.of_type(CopyVerified)) == 15
    # small files in five folders, four filled at once: four folders' queues
    assert result.summary.workers == MAX_SHARE_WORKERS > default_workers(1)
    for f in plate.rglob("*.tif"):
        assert (store / "auto" / "plate" / f.relative_to(plate)).read_bytes() == f.read_bytes()


def test_one_folder_gets_one_folders_count(tmp_path: Path, slow_share: tuple[Path, Path]) -> None:
    mnt, store = slow_share
    run = _plate(tmp_path / "src" / "run", wells=1, files=6) / "well0"
    (mnt / "one").mkdir()
    result, _ = copy([run], [mnt / "one"])
    assert result.summary.ok
    assert default_workers(1) < result.summary.workers < MAX_SHARE_WORKERS
    assert sorted(p.name for p in (store / "one" / "well0").iterdir()) == [
        f"f{i}.tif" for i in range(6)
    ]


def test_the_users_worker_count_wins(tmp_path: Path, slow_share: tuple[Path, Path]) -> None:
    mnt, _ = slow_share
    plate = _plate(tmp_path / "src" / "plate", wells=2, files=2)
    (mnt / "mine").mkdir()
    result, sink = copy([plate], [mnt / "mine"], workers=3)
    assert result.summary.ok and len(sink.of_type(CopyVerified)) == 4
    assert result.summary.workers == 3

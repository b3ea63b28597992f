"""Per-file cost cuts keep their guarantees: group-committed manifest appends, the torn
line check after our own append, opening an existing folder, the adaptive worker count.

Real files and real threads; nothing here is timed (speed lives in bench/).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.transfer.concurrency import (
    MAX_SHARE_WORKERS,
    choose_workers,
    default_workers,
    lookup_latency,
    workers_for,
)
from almc_assistant.core.transfer.destination import JobDestination
from almc_assistant.core.transfer.faults import CopyError
from almc_assistant.core.transfer.folder import Folder, Planted
from almc_assistant.core.transfer.manifest import Manifest, load_manifest, read_manifest
from almc_assistant.core.transfer.naming import LOCK_NAME, MANIFEST_NAME

THREADS = 16
PER_THREAD = 50


def test_concurrent_records_all_land_once_each(tmp_path: Path) -> None:
    m = Manifest(tmp_path)
    start = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        start.wait()
        for i in range(PER_THREAD):
            m.record(f"w{n}/f{i}.tif", f"{n:02x}{i:02x}" * 16)
            # returned: the line is in the file already (a kill -9 now loses nothing)
            assert read_manifest(tmp_path)[f"w{n}/f{i}.tif"] == f"{n:02x}{i:02x}" * 16

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    loaded = load_manifest(tmp_path)
    assert not loaded.set_aside and not loaded.torn_tail
    assert len(loaded.entries) == THREADS * PER_THREAD
    lines = (tmp_path / MANIFEST_NAME).read_text().splitlines()
    assert len(lines) == THREADS * PER_THREAD  # each line written exactly once
    m.close()
    assert len(read_manifest(tmp_path)) == THREADS * PER_THREAD


def test_a_torn_line_written_by_another_after_our_append_is_fenced_off(tmp_path: Path) -> None:
    m = Manifest(tmp_path)
    m.record("a.tif", "11" * 32)
    with open(tmp_path / MANIFEST_NAME, "ab") as f:  # another job died mid-line
        f.write(b"22" * 20)
    m.record("b.tif", "33" * 32)
    loaded = load_manifest(tmp_path)
    assert loaded.entries == {"a.tif": "11" * 32, "b.tif": "33" * 32}
    assert [why for _, why in loaded.set_aside] == ["not a manifest line"]


def test_a_planted_manifest_fails_every_caller_of_the_shared_write(tmp_path: Path) -> None:
    m = Manifest(tmp_path)
    (tmp_path / "elsewhere").write_text("")
    (tmp_path / MANIFEST_NAME).symlink_to(tmp_path / "elsewhere")
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            m.record(f"f{n}.tif", f"{n:02x}" * 32)
        except AlmcError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 8
    assert (tmp_path / "elsewhere").read_text() == ""


def test_walk_opens_an_existing_folder_and_creates_a_missing_one(tmp_path: Path) -> None:
    (tmp_path / "run1").mkdir()
    device = tmp_path.stat().st_dev
    with Folder.walk(tmp_path, device, ["run1", "new"]) as folder:
        assert folder.path == tmp_path / "run1" / "new"
        assert folder.created == [tmp_path / "run1" / "new"]  # not run1: it was there
        assert folder.device == device
    (tmp_path / "file").write_text("x")
    with pytest.raises(Planted):
        Folder.walk(tmp_path, device, ["file"])
    (tmp_path / "link").symlink_to(tmp_path / "run1")
    with pytest.raises(Planted):
        Folder.walk(tmp_path, device, ["link"])


def test_worker_count_follows_the_round_trip_the_folders_and_the_sizes() -> None:
    small, large = 64 << 10, 2 << 20
    assert workers_for(0.00002) == default_workers(1)  # a local disk
    assert workers_for(0.00002, destinations=2) == default_workers(2)
    assert workers_for(float("inf")) == default_workers(1)  # no answer
    # one folder of small files: its lock's queue, whatever the round trip
    assert workers_for(0.0025, mean_size=small) == 12
    assert workers_for(0.020, mean_size=small) == 12
    # a share on a fast network is still a share (its folders' locks are the same)
    assert workers_for(0.0001, share=True, mean_size=small) >= 12
    # four folders filled at once: four queues
    assert workers_for(0.020, folders=4, mean_size=small) == MAX_SHARE_WORKERS
    assert workers_for(0.0025, folders=4, mean_size=small) > 12
    # large files on a near share: the link, not the round trips, sets the need; far
    # away the round trips again (one folder's queue)
    near, far = workers_for(0.0025, mean_size=large), workers_for(0.020, mean_size=large)
    assert default_workers(1) < near < far <= 13
    # one large file: nothing to overlap with, the local default
    assert workers_for(0.020, mean_size=2 << 30) == default_workers(1)
    # more destinations, more workers
    assert workers_for(0.020, destinations=2, mean_size=small) > 12


def test_choose_workers_takes_the_slowest_destination() -> None:
    assert choose_workers([], others=2) == default_workers(2)
    assert choose_workers([0.00001]) == default_workers(1)
    assert choose_workers([0.00001, 0.020], mean_size=1000) == workers_for(
        0.020, destinations=2, mean_size=1000
    )
    assert choose_workers([0.0001], shares=1, mean_size=1000) >= 12


def test_the_probe_leaves_nothing_and_answers_for_a_missing_root(tmp_path: Path) -> None:
    assert 0 <= lookup_latency(tmp_path) < float("inf")
    assert list(tmp_path.iterdir()) == []
    # a root that is not a folder: no look-up answers "absent", nothing measured
    (tmp_path / "file").write_bytes(b"x")
    if sys.platform != "win32":  # Windows answers "not found" below a file: measured, harmless
        assert lookup_latency(tmp_path / "file") == float("inf")


def test_a_planted_lock_file_is_still_refused_with_the_lookups_run_at_once(
    tmp_path: Path,
) -> None:
    (tmp_path / "elsewhere").write_bytes(b"")
    (tmp_path / LOCK_NAME).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(CopyError, match="not a regular file"):
        JobDestination(tmp_path)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    dest = JobDestination(fresh)  # a local disk: not a share, its look-up answered
    assert not dest.share and 0 <= dest.latency < float("inf")
    assert dest.manifest.path == fresh / MANIFEST_NAME


@pytest.mark.parametrize("when", ["between our appends", "after our last append", "replaced"])
def test_closing_keeps_every_other_jobs_line_however_it_got_there(
    tmp_path: Path, when: str
) -> None:
    # the end of a job rewrites the manifest from its own entries only when the file is
    # still the one whose every line it knows; anything another job did is read back
    (tmp_path / MANIFEST_NAME).write_bytes(f"{'44' * 32}  old.tif\n".encode())
    m = Manifest(tmp_path)
    m.record("a.tif", "11" * 32)
    other = f"{'22' * 32}  other.tif\n".encode()  # bytes: text mode writes CRLF on Windows
    if when == "between our appends":
        with open(tmp_path / MANIFEST_NAME, "ab") as f:
            f.write(other)
    m.record("b.tif", "33" * 32)
    if when == "after our last append":
        with open(tmp_path / MANIFEST_NAME, "ab") as f:
            f.write(other)
    if when == "replaced":  # another job's rewrite: a new file, same size as ours
        text = (tmp_path / MANIFEST_NAME).read_bytes().replace(b"old.tif", b"oth.tif")
        (tmp_path / "new").write_bytes(text)
        (tmp_path / "new").replace(tmp_path / MANIFEST_NAME)
    m.close()
    got = read_manifest(tmp_path)
    expected = {"a.tif": "11" * 32, "b.tif": "33" * 32}
    if when == "replaced":
        assert got == {**expected, "oth.tif": "44" * 32}
    else:
        assert got == {**expected, "old.tif": "44" * 32, "other.tif": "22" * 32}


def test_closing_a_manifest_only_this_job_wrote_lists_everything_sorted(tmp_path: Path) -> None:
    m = Manifest(tmp_path)
    for name in ["c.tif", "a.tif", "b.tif"]:
        m.record(name, "11" * 32)
    m.close()
    lines = (tmp_path / MANIFEST_NAME).read_bytes().decode().splitlines()
    assert [line.split("  ")[1] for line in lines] == ["a.tif", "b.tif", "c.tif"]

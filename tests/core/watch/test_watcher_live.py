"""The watcher with real watchdog observers (inotify and polling) on real folders.

Short quiet periods; every wait is on an event with a generous timeout, never on a
duration. The conftest fails a test that leaves any thread behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from almc_assistant.core.watch import (
    FileAppeared,
    FileDeleted,
    FileMoved,
    FileStabilised,
    FolderAvailable,
    FolderUnavailable,
    Watcher,
)
from tests.core.watch.helpers import CatalogStub, as_user, signature, wait_for, write_file
from tests.portable import IS_ROOT

QUIET = 0.3
KINDS = ["native", "polling"]

StartWatcher = Callable[..., Watcher]


@pytest.fixture(params=KINDS)
def start(request: pytest.FixtureRequest) -> Iterator[StartWatcher]:
    """Start a watcher with the parametrised observer kind; stopped after the test."""
    started: list[Watcher] = []

    def make(folders: list[Path], cat: CatalogStub, **kwargs: Any) -> Watcher:
        kwargs.setdefault("quiet_seconds", QUIET)
        kwargs.setdefault("retry_interval", 0.1)
        watcher = Watcher(
            folders, cat, polling=request.param == "polling", poll_interval=0.1, **kwargs
        )
        started.append(watcher)
        watcher.start()
        watcher.scan(cat.known)
        return watcher

    yield make
    for watcher in started:
        watcher.stop()
    assert not [t.name for t in threading.enumerate() if t.name.startswith("almc-watch")]


def settle(cat: CatalogStub, root: Path, name: str = "sentinel.txt") -> None:
    """Write one more file and wait until it is stabilised: what came before is done."""
    sentinel = write_file(root / name, 3)
    wait_for(lambda: cat.state(sentinel) == "complete", f"{name} stabilised")


def test_a_file_written_in_bursts_is_stabilised_exactly_once(
    start: StartWatcher, tmp_path: Path
) -> None:
    cat = CatalogStub()
    start([tmp_path], cat)
    f = tmp_path / "cells.nd2"
    with open(f, "wb") as out:
        for _ in range(5):
            out.write(b"\x00" * 4096)
            out.flush()
            wait_for(lambda: cat.state(f) == "acquiring", "acquiring")
    wait_for(lambda: cat.state(f) == "complete", "cells.nd2 stabilised")
    settle(cat, tmp_path)
    assert cat.count(FileStabilised, path=f) == 1
    assert cat.of_type(FileStabilised)[0].size == 5 * 4096
    assert cat.count(FileAppeared, path=f) == 1


def test_a_file_that_does_not_open_stays_acquiring(start: StartWatcher, tmp_path: Path) -> None:
    cat = CatalogStub()
    released = threading.Event()
    tries: list[Path] = []

    def can_open(path: Path) -> bool:
        if path.name == "locked.nd2":
            tries.append(path)
            return released.is_set()
        return True

    watcher = start([tmp_path], cat, can_open=can_open)
    f = write_file(tmp_path / "locked.nd2", 100)
    wait_for(lambda: len(tries) >= 3, "three open tests of locked.nd2")
    assert cat.state(f) == "acquiring"
    assert f in [p.path for p in watcher.pending()]
    assert cat.count(FileStabilised, path=f) == 0
    released.set()
    wait_for(lambda: cat.state(f) == "complete", "locked.nd2 stabilised once released")


def test_renames_and_moves_inside_the_folder_are_tracked(
    start: StartWatcher, tmp_path: Path
) -> None:
    cat = CatalogStub()
    start([tmp_path], cat)
    (tmp_path / "day1").mkdir()  # before: a move into a brand-new folder may race
    a = write_file(tmp_path / "a.tif", 10)  # inotify's new watch (delete + appear)
    wait_for(lambda: cat.state(a) == "complete", "a.tif stabilised")
    b = tmp_path / "day1" / "b.tif"
    a.rename(b)
    wait_for(lambda: cat.state(b) == "complete", "the move of a.tif reported")
    settle(cat, tmp_path)
    assert cat.state(a) is None
    assert cat.count(FileMoved, src=a, dest=b) == 1
    assert cat.count(FileDeleted, path=a) == 0


def test_moves_into_a_brand_new_folder_and_between_watched_folders_are_moves(
    start: StartWatcher, tmp_path: Path
) -> None:
    a_root, b_root = tmp_path / "a", tmp_path / "b"
    a_root.mkdir()
    b_root.mkdir()
    files = [write_file(a_root / f"img{i}.tif", 100 + i, old=True) for i in range(5)]
    cat = CatalogStub()
    start([a_root, b_root], cat)
    wait_for(lambda: len(cat.known(a_root)) == 5, "five complete files")
    fresh = a_root / "sorted"
    fresh.mkdir()  # created an instant before the moves: inotify may watch it too late
    moved = [f.rename(fresh / f.name) for f in files[:3]]
    across = [f.rename(b_root / f.name) for f in files[3:]]  # another observer's folder
    deep = [write_file(a_root / "day" / f"d{i}.tif", 200 + i, old=True) for i in range(3)]
    wait_for(lambda: all(cat.state(f) == "complete" for f in deep), "the day folder")
    (a_root / "day").rename(b_root / "day")  # a whole folder into another watched tree
    deep_moved = [b_root / "day" / f.name for f in deep]
    wait_for(
        lambda: (
            all(cat.state(f) == "complete" for f in moved + across + deep_moved)
            and not any(cat.state(f) for f in files + deep)
        ),
        "the catalog follows every move",
    )
    settle(cat, a_root)
    assert not cat.of_type(FileDeleted)  # never reported lost
    assert {(e.src, e.dest) for e in cat.of_type(FileMoved)} == set(
        zip(files + deep, moved + across + deep_moved, strict=True)
    )


def test_deletions_and_moves_out_of_and_into_the_tree(start: StartWatcher, tmp_path: Path) -> None:
    root, outside = tmp_path / "acq", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    cat = CatalogStub()
    start([root], cat)
    gone = write_file(root / "gone.tif", 10)
    leaving = write_file(root / "leaving.tif", 11)
    wait_for(lambda: cat.state(gone) == cat.state(leaving) == "complete", "both stabilised")
    gone.unlink()
    leaving.rename(outside / "leaving.tif")
    coming = write_file(outside / "coming.tif", 12)
    coming.rename(root / "coming.tif")
    wait_for(lambda: cat.state(root / "coming.tif") == "complete", "coming.tif stabilised")
    wait_for(lambda: cat.count(FileDeleted) == 2, "two deletions")
    assert {e.path for e in cat.of_type(FileDeleted)} == {gone, root / "leaving.tif"}
    assert set(cat.states()) == {root / "coming.tif"}


def test_a_deleted_or_moved_away_subfolder_reports_every_file_in_it(
    start: StartWatcher, tmp_path: Path
) -> None:
    root = tmp_path / "acq"
    cat = CatalogStub()
    doomed = [write_file(root / "doomed" / f"{i}.tif", 5) for i in range(20)]
    away = [write_file(root / "away" / "deep" / f"{i}.tif", 5) for i in range(20)]
    start([root], cat)
    wait_for(lambda: len(cat.states()) == 40, "40 files known")
    wait_for(lambda: all(s == "complete" for s in cat.states().values()), "all complete")
    as_user(lambda: shutil.rmtree(root / "doomed"))
    as_user(lambda: (root / "away").rename(tmp_path / "elsewhere"))
    wait_for(lambda: not cat.states(), "every file of both folders deleted")
    assert {e.path for e in cat.of_type(FileDeleted)} == set(doomed) | set(away)


def test_a_removed_watched_folder_is_reported_retried_and_rescanned(
    start: StartWatcher, tmp_path: Path
) -> None:
    root = tmp_path / "acq"
    cat = CatalogStub()
    kept = write_file(root / "kept.tif", 10, old=True)
    lost = write_file(root / "lost.tif", 10, old=True)
    start([root], cat)
    wait_for(lambda: cat.state(lost) == "complete", "initial scan")
    as_user(lambda: shutil.rmtree(root))
    wait_for(lambda: cat.count(FolderUnavailable, folder=root) == 1, "folder unavailable")

    root.mkdir()  # back, with one of the two files and a new one
    write_file(kept, 10, old=True)
    os.utime(kept, ns=(10**18, 10**18))
    new = write_file(root / "new.tif", 7)
    wait_for(lambda: cat.count(FolderAvailable, folder=root) == 1, "folder available again")
    wait_for(lambda: cat.state(new) == "complete", "new.tif stabilised after the re-scan")
    wait_for(lambda: cat.state(lost) is None, "lost.tif reported deleted")
    assert cat.state(kept) == "complete"
    settle(cat, root)
    assert cat.count(FolderUnavailable) == 1 and cat.count(FolderAvailable) == 1


def test_a_symbolic_link_loop_in_the_folder_is_harmless(
    start: StartWatcher, tmp_path: Path
) -> None:
    root = tmp_path / "acq"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "loop").symlink_to(root)
    (root / "up").symlink_to(tmp_path)
    cat = CatalogStub()
    start([root], cat)
    f = write_file(root / "sub" / "a.nd2", 9)
    wait_for(lambda: cat.state(f) == "complete", "a.nd2 stabilised")
    settle(cat, root)
    assert set(cat.states()) == {f, root / "sentinel.txt"}


@pytest.mark.slow
def test_twenty_thousand_files_at_once_all_end_stabilised_with_bounded_queues(
    start: StartWatcher, tmp_path: Path
) -> None:
    root = tmp_path / "storm"
    root.mkdir()
    cat = CatalogStub()
    watcher = start([root], cat, max_queued=2000)
    n = 20_000
    for i in range(n):
        (root / f"f{i:05d}.tif").write_bytes(b"x")
    wait_for(
        lambda: sum(1 for s in cat.states().values() if s == "complete") == n,
        "20,000 files stabilised",
        timeout=240,
        every=0.5,
    )
    stats = watcher.stats()
    assert stats.queued_high_water <= 2000  # the queue never held more than its bound
    assert stats.acquiring_high_water <= n
    wait_for(lambda: watcher.stats().acquiring == 0, "nothing left acquiring")
    stabilised = cat.of_type(FileStabilised)
    assert len(stabilised) == len({e.path for e in stabilised}) == n  # exactly once each
    assert not cat.of_type(FileDeleted)


# ---------------------------------------------------------------- unplugged drives
@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[Path], None]]:
    """``mount(point)`` mounts a small tmpfs there; everything is unmounted at the end."""
    if not IS_ROOT or shutil.which("mount") is None:
        pytest.skip("needs root to mount a tmpfs (an unpluggable drive)")
    mounted: list[Path] = []

    def mount(point: Path) -> None:
        point.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(point)], check=True)
        mounted.append(point)

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True)


def unplug(point: Path) -> None:
    subprocess.run(["umount", "-l", str(point)], check=True)


def fill(folder: Path, n: int) -> dict[Path, tuple[int, int]]:
    files = {}
    for i in range(n):
        f = write_file(folder / f"img{i:02d}.tif", 100 + i, old=True)
        files[f] = signature(f)
    return files


def refill(files: dict[Path, tuple[int, int]]) -> None:
    """The same files as before the drive was unplugged (same sizes and mtimes)."""
    for f, (size, mtime) in files.items():
        write_file(f, size)
        os.utime(f, ns=(mtime, mtime))


@pytest.mark.root
@pytest.mark.parametrize("watch_mount_point", [False, True], ids=["subfolder", "mount-point"])
def test_an_unplugged_drive_is_unavailable_never_a_mass_deletion(
    start: StartWatcher,
    tmp_path: Path,
    tmpfs: Callable[[Path], None],
    watch_mount_point: bool,
) -> None:
    drive = tmp_path / "drive"
    tmpfs(drive)
    folder = drive if watch_mount_point else drive / "acq"
    files = fill(folder, 30)
    cat = CatalogStub()
    start([folder], cat)
    wait_for(lambda: len(cat.known(folder)) == 30, "30 files complete")

    unplug(drive)  # a mount point left behind is an empty folder on another drive
    wait_for(lambda: cat.count(FolderUnavailable, folder=folder) >= 1, "folder unavailable")
    unavailable = cat.of_type(FolderUnavailable)[0]
    assert unavailable.reason

    tmpfs(drive)  # plugged in again (a new device number), same files
    refill(files)
    new = write_file(folder / "while_away.tif", 5, old=True)
    wait_for(lambda: cat.count(FolderAvailable, folder=folder) == 1, "folder available")
    wait_for(lambda: cat.state(new) == "complete", "the new file found by the re-scan")
    settle(cat, folder)
    assert not cat.of_type(FileDeleted)  # nothing was lost
    assert all(cat.state(f) == "complete" for f in files)


def test_a_scan_racing_the_live_watcher_does_not_report_a_settled_file_again(
    start: StartWatcher, tmp_path: Path
) -> None:
    """The first scan runs while the observer already works: a file written meanwhile can
    be stabilised live before the scan walks past it, with a catalog snapshot taken
    before it existed. The scan must not call it new again (it would be checked and
    stabilised twice, and the reminder cues would see an acquisition start anew)."""
    cat = CatalogStub()
    watcher = start([tmp_path], cat)
    f = write_file(tmp_path / "cells.nd2", 4096)
    wait_for(lambda: cat.state(f) == "complete", "cells.nd2 stabilised")
    watcher.scan({})  # a catalog snapshot from before the file was recorded
    settle(cat, tmp_path)
    assert cat.count(FileAppeared, path=f) == 1
    assert cat.count(FileStabilised, path=f) == 1

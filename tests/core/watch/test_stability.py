""" "Acquisition finished", driven deterministically: a manual clock, synthetic watchdog
events, real files, no threads (``check_stability`` called directly)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from watchdog.events import (
    FileAttribEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
)

from almc_assistant.core.watch import (
    FileAppeared,
    FileChanged,
    FileDeleted,
    FileMoved,
    FileStabilised,
    ManualClock,
    Watcher,
    WatchFailed,
)
from tests.core.watch.helpers import CatalogStub, write_file

QUIET = 60.0


class Opener:
    """An injected open test that can be told to refuse (a locked file) and counts calls."""

    def __init__(self) -> None:
        self.allow = True
        self.calls = 0

    def __call__(self, path: Path) -> bool:
        self.calls += 1
        return self.allow


@pytest.fixture
def rig(tmp_path: Path):
    clock, cat, opener = ManualClock(), CatalogStub(), Opener()
    watcher = Watcher([tmp_path], cat, quiet_seconds=QUIET, clock=clock, can_open=opener)
    return watcher, clock, cat, opener, tmp_path


def tick(watcher: Watcher, clock: ManualClock, seconds: float) -> None:
    clock.advance(seconds)
    watcher.check_stability()


def test_a_growing_file_is_stabilised_exactly_once_after_the_quiet_period(rig) -> None:
    watcher, clock, cat, _, root = rig
    f = write_file(root / "cells.nd2", 10)
    watcher.handler(root).dispatch(FileCreatedEvent(str(f)))
    watcher.check_stability()
    assert cat.count(FileAppeared, path=f, size=10) == 1
    assert [p.path for p in watcher.pending()] == [f]

    with open(f, "ab") as out:
        out.write(b"x" * 10)
    watcher.handler(root).dispatch(FileModifiedEvent(str(f)))
    tick(watcher, clock, 30)
    tick(watcher, clock, 50)  # 80 s after creation, 50 s after the last write
    assert not cat.of_type(FileStabilised)
    assert cat.state(f) == "acquiring"

    tick(watcher, clock, 11)
    assert cat.count(FileStabilised, path=f, size=20) == 1
    assert watcher.pending() == []
    for _ in range(5):
        tick(watcher, clock, QUIET)
    assert len(cat.of_type(FileStabilised)) == 1
    assert cat.state(f) == "complete"


def test_growth_reports_file_changed_at_most_every_ten_seconds(rig) -> None:
    watcher, clock, cat, _, root = rig
    f = write_file(root / "long.nd2", 1)
    watcher.handler(root).dispatch(FileCreatedEvent(str(f)))
    watcher.check_stability()
    for step in range(1, 61):  # a write every 2 s for two minutes: never quiet
        with open(f, "ab") as out:
            out.write(b"x")
        watcher.handler(root).dispatch(FileModifiedEvent(str(f)))
        tick(watcher, clock, 2)
        assert not cat.of_type(FileStabilised), f"stabilised while growing at step {step}"
    changed = cat.of_type(FileChanged)
    assert 1 <= len(changed) <= 120 / 10 + 1  # not one per write (60)
    assert changed[-1].size <= 61
    assert cat.state(f) == "acquiring"


def test_growth_seen_only_by_the_due_check_restarts_the_quiet_period(rig) -> None:
    watcher, clock, cat, _, root = rig
    f = write_file(root / "a.tif", 5)
    watcher.handler(root).dispatch(FileCreatedEvent(str(f)))
    watcher.check_stability()
    with open(f, "ab") as out:  # no event: e.g. a network share between two polls
        out.write(b"more")
    tick(watcher, clock, QUIET + 1)
    assert not cat.of_type(FileStabilised)
    tick(watcher, clock, QUIET + 1)
    assert cat.count(FileStabilised, path=f, size=9) == 1


def test_a_file_that_does_not_open_stays_acquiring_until_it_does(rig) -> None:
    watcher, clock, cat, opener, root = rig
    opener.allow = False  # the acquisition software holds it
    f = write_file(root / "locked.nd2", 100)
    watcher.handler(root).dispatch(FileCreatedEvent(str(f)))
    watcher.check_stability()
    for _ in range(100):
        tick(watcher, clock, 10)  # 1000 s, quiet all along
    assert not cat.of_type(FileStabilised)
    assert cat.state(f) == "acquiring" and [p.path for p in watcher.pending()] == [f]
    assert opener.calls <= 1000 / QUIET + 1  # tested once per quiet period, not per tick

    opener.allow = True
    tick(watcher, clock, QUIET + 1)
    assert cat.count(FileStabilised, path=f) == 1


def test_an_open_test_that_raises_is_reported_and_the_file_stays_acquiring(tmp_path: Path) -> None:
    clock, cat = ManualClock(), CatalogStub()

    def explode(path: Path) -> bool:
        raise RuntimeError(f"checker crashed on {path.name}")

    watcher = Watcher([tmp_path], cat, quiet_seconds=QUIET, clock=clock, can_open=explode)
    f = write_file(tmp_path / "odd.nd2")
    watcher.handler(tmp_path).dispatch(FileCreatedEvent(str(f)))
    watcher.check_stability()
    tick(watcher, clock, QUIET + 1)
    [failure] = cat.of_type(WatchFailed)
    assert "odd.nd2" in failure.title and "checker crashed" in failure.detail
    assert failure.next_step
    assert cat.state(f) == "acquiring"


def test_a_mtime_in_the_future_still_stabilises_on_monotonic_time(rig) -> None:
    # A share with a skewed clock, or the wall clock jumping back: quiet periods are
    # measured on the monotonic clock, never against the file's mtime.
    watcher, clock, cat, _, root = rig
    f = write_file(root / "skewed.nd2")
    future = 4_102_444_800 * 10**9  # 2100-01-01
    os.utime(f, ns=(future, future))
    watcher.handler(root).dispatch(FileCreatedEvent(str(f)))
    watcher.check_stability()
    tick(watcher, clock, QUIET + 1)
    assert cat.count(FileStabilised, path=f, mtime_ns=future) == 1


def test_a_rename_while_acquiring_keeps_the_quiet_period(rig) -> None:
    watcher, clock, cat, _, root = rig
    a = write_file(root / "capture.nd2")
    watcher.handler(root).dispatch(FileCreatedEvent(str(a)))
    watcher.check_stability()
    tick(watcher, clock, 30)
    b = root / "cells_001.nd2"
    a.rename(b)
    watcher.handler(root).dispatch(FileMovedEvent(str(a), str(b)))
    watcher.check_stability()
    assert cat.count(FileMoved, src=a, dest=b) == 1
    tick(watcher, clock, 31)
    assert cat.count(FileStabilised, path=b) == 1
    assert cat.states() == {b: "complete"}


def test_a_file_deleted_while_acquiring_is_reported_and_forgotten(rig) -> None:
    watcher, clock, cat, _, root = rig
    f = write_file(root / "aborted.nd2")
    watcher.handler(root).dispatch(FileCreatedEvent(str(f)))
    watcher.check_stability()
    f.unlink()
    watcher.handler(root).dispatch(FileDeletedEvent(str(f)))
    watcher.check_stability()
    assert watcher.pending() == []
    assert cat.count(FileDeleted, path=f) == 0  # held a moment: a move's other half?
    tick(watcher, clock, 5)
    assert cat.count(FileDeleted, path=f) == 1
    tick(watcher, clock, QUIET + 1)
    assert not cat.of_type(FileStabilised)


def test_a_file_created_and_deleted_between_two_ticks_says_nothing(rig) -> None:
    watcher, _, cat, _, root = rig
    f = write_file(root / "scratch.dat")
    watcher.handler(root).dispatch(FileCreatedEvent(str(f)))
    f.unlink()
    watcher.handler(root).dispatch(FileDeletedEvent(str(f)))
    watcher.check_stability()
    assert cat.events == []


def test_attribute_changes_on_an_old_file_say_nothing_but_touch_does(rig) -> None:
    watcher, _, cat, _, root = rig
    old = write_file(root / "old.tif", old=True)
    old.chmod(0o600)
    watcher.handler(root).dispatch(FileAttribEvent(str(old)))
    watcher.check_stability()
    assert cat.events == []
    os.utime(old)  # touch: the mtime is now
    watcher.handler(root).dispatch(FileAttribEvent(str(old)))
    watcher.check_stability()
    assert cat.count(FileChanged, path=old) == 1


def test_a_modified_complete_file_goes_back_to_acquiring(rig) -> None:
    watcher, clock, cat, _, root = rig
    f = write_file(root / "reused.tif", old=True)
    with open(f, "ab") as out:
        out.write(b"appended")
    watcher.handler(root).dispatch(FileModifiedEvent(str(f)))
    watcher.check_stability()
    assert cat.count(FileChanged, path=f) == 1 and cat.state(f) == "acquiring"
    tick(watcher, clock, QUIET + 1)
    assert cat.state(f) == "complete"


def test_a_zero_quiet_period_stabilises_on_the_next_tick(tmp_path: Path) -> None:
    cat = CatalogStub()
    watcher = Watcher([tmp_path], cat, quiet_seconds=0, clock=ManualClock())
    f = write_file(tmp_path / "now.tif")
    watcher.handler(tmp_path).dispatch(FileCreatedEvent(str(f)))
    watcher.check_stability()
    assert cat.state(f) == "complete"


@pytest.mark.parametrize("kwargs", [{"quiet_seconds": -1}, {"poll_interval": 0}, {"max_queued": 0}])
def test_invalid_settings_are_refused_with_a_clear_message(tmp_path: Path, kwargs) -> None:
    from almc_assistant.core.errors import UsageError

    with pytest.raises(UsageError, match="Invalid watch settings") as info:
        Watcher([tmp_path], CatalogStub(), **kwargs)
    assert info.value.next_step


def test_a_polling_move_onto_a_different_file_is_a_deletion_and_an_arrival(
    tmp_path: Path,
) -> None:
    # A polling diff pairs paths by inode; a deleted file's inode may be reused by a new
    # file. Its verified copies must never be handed to the newcomer.
    clock, cat = ManualClock(), CatalogStub()
    watcher = Watcher([tmp_path], cat, quiet_seconds=QUIET, clock=clock, polling=True)
    old = write_file(tmp_path / "old.tif", 10, old=True)
    watcher.scan(cat.known)
    assert cat.state(old) == "complete"
    old.unlink()
    new = write_file(tmp_path / "new.tif", 12)
    watcher.handler(tmp_path).dispatch(FileMovedEvent(str(old), str(new)))
    watcher.check_stability()
    assert not cat.of_type(FileMoved)
    assert cat.count(FileDeleted, path=old) == 1 and cat.count(FileAppeared, path=new) == 1


def test_a_real_rename_of_a_complete_file_is_a_move_for_either_observer(tmp_path: Path) -> None:
    for polling in (False, True):
        folder = tmp_path / f"polling-{polling}"
        clock, cat = ManualClock(), CatalogStub()
        watcher = Watcher([folder], cat, quiet_seconds=QUIET, clock=clock, polling=polling)
        a = write_file(folder / "a.tif", 10, old=True)
        watcher.scan(cat.known)
        b = folder / "b.tif"
        a.rename(b)
        watcher.handler(folder).dispatch(FileMovedEvent(str(a), str(b)))
        watcher.check_stability()
        assert cat.count(FileMoved, src=a, dest=b) == 1, f"polling={polling}"
        assert cat.states() == {b: "complete"}


def test_a_scan_never_calls_a_file_finished_on_a_stale_look(tmp_path: Path) -> None:
    # The walk's stat can be seconds old when the verdict comes (big folders): a file
    # that grew meanwhile stays acquiring with its new size.
    from almc_assistant.core.watch.reconcile import Reconciler
    from almc_assistant.core.watch.stability import RecentlySettled, Tracker

    cat = CatalogStub()
    tracker = Tracker(QUIET)
    rec = Reconciler(
        cat, tracker, lambda p: True, changed_every=10, settled=RecentlySettled(10, 60)
    )
    f = write_file(tmp_path / "grew.nd2", 10, old=True)
    stale = (5, f.stat().st_mtime_ns - 10**9)
    rec.settle(str(tmp_path), str(f), *stale, now=0.0)
    assert not cat.of_type(FileStabilised)
    [pending] = tracker.pending()
    assert pending.size == 10


def test_the_default_open_test(tmp_path: Path) -> None:
    from almc_assistant.core.watch import opens_for_reading

    assert opens_for_reading(write_file(tmp_path / "ok.tif"))
    assert not opens_for_reading(tmp_path / "missing.tif")
    assert not opens_for_reading(tmp_path)  # a folder does not open as a file


def test_a_move_seen_as_deleted_plus_appeared_is_reported_as_a_move(tmp_path: Path) -> None:
    # inotify watches a brand-new folder too late, and a move between two watched folders
    # crosses two observers: both arrive as a deletion and an unrelated creation. A
    # deletion would make the catalog call a complete file lost.
    a_root, b_root = tmp_path / "a", tmp_path / "b"
    clock, cat = ManualClock(), CatalogStub()
    watcher = Watcher([a_root, b_root], cat, quiet_seconds=QUIET, clock=clock)
    src = write_file(a_root / "cells.nd2", 1234, old=True)
    other = write_file(a_root / "other.nd2", 99, old=True)
    b_root.mkdir()
    watcher.scan(cat.known)
    dest = b_root / "new" / "cells.nd2"
    dest.parent.mkdir()
    src.rename(dest)
    other.unlink()
    watcher.handler(b_root).dispatch(FileCreatedEvent(str(dest)))  # b's observer
    watcher.check_stability()
    watcher.handler(a_root).dispatch(FileDeletedEvent(str(src)))  # a's, half a second later
    watcher.handler(a_root).dispatch(FileDeletedEvent(str(other)))
    tick(watcher, clock, 0.5)
    tick(watcher, clock, 5)
    assert cat.count(FileMoved, src=src, dest=dest) == 1
    assert cat.count(FileDeleted, path=src) == 0
    assert cat.count(FileDeleted, path=other) == 1  # a real deletion stays one
    tick(watcher, clock, QUIET + 1)
    assert cat.states() == {dest: "complete"}


def test_a_held_deletion_of_a_file_that_came_back_is_dropped(rig) -> None:
    watcher, clock, cat, _, root = rig
    f = write_file(root / "saved.tif", 10, old=True)
    watcher.scan(cat.known)
    f.unlink()
    watcher.handler(root).dispatch(FileDeletedEvent(str(f)))
    watcher.check_stability()
    write_file(f, 10, old=True)  # an editor's "save": delete, then write anew
    watcher.handler(root).dispatch(FileCreatedEvent(str(f)))
    tick(watcher, clock, 5)
    assert not cat.of_type(FileDeleted)
    # Another file (new inode and ctime) with the old size and mtime: not the settled one,
    # so its copies are judged again; it settles after a quiet period.
    assert cat.state(f) == "acquiring"
    tick(watcher, clock, QUIET + 1)
    assert cat.state(f) == "complete"


def test_stop_publishes_deletions_still_held(tmp_path: Path) -> None:
    cat = CatalogStub()
    watcher = Watcher([tmp_path], cat, quiet_seconds=QUIET, clock=ManualClock())
    f = write_file(tmp_path / "x.tif", old=True)
    watcher.scan(cat.known)
    f.unlink()
    watcher.handler(tmp_path).dispatch(FileDeletedEvent(str(f)))
    watcher.check_stability()
    watcher.stop()
    assert cat.count(FileDeleted, path=f) == 1


def test_a_polling_rename_of_an_old_file_is_confirmed_by_the_catalog(tmp_path: Path) -> None:
    # Nothing recent is remembered of an old file: the catalog's answer for its folder
    # (the real catalog answers folders, not single files) confirms the rename.
    clock, cat = ManualClock(), CatalogStub()
    old = write_file(tmp_path / "2019" / "a.tif", 10, old=True)
    Watcher([tmp_path], cat, quiet_seconds=QUIET, clock=clock).scan(cat.known)
    watcher = Watcher([tmp_path], cat, quiet_seconds=QUIET, clock=clock, polling=True)
    watcher.scan(cat.known)  # a restart: nothing recent remembered
    new = tmp_path / "2019" / "b.tif"
    old.rename(new)
    watcher.handler(tmp_path).dispatch(FileMovedEvent(str(old), str(new)))
    watcher.check_stability()
    assert cat.count(FileMoved, src=old, dest=new) == 1
    assert not cat.of_type(FileDeleted)

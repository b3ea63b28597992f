"""Starting, stopping, falling back to polling, lost events and periodic re-scans."""

from __future__ import annotations

import errno
import logging
import threading
from pathlib import Path

import pytest

from almc_assistant.core.errors import UsageError
from almc_assistant.core.watch import (
    FileAppeared,
    FolderAvailable,
    FolderUnavailable,
    ManualClock,
    Watcher,
    WatchFailed,
)
from almc_assistant.core.watch.observer import INOTIFY_LOGGER, OverflowSpy
from tests.core.watch.helpers import CatalogStub, wait_for, write_file


def _threads_of_watchers() -> list[str]:
    return [
        t.name for t in threading.enumerate() if t.name.startswith("almc-watch") and t.is_alive()
    ]


def test_stop_joins_every_thread_and_the_watcher_can_start_again(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    cat = CatalogStub()
    watcher = Watcher([tmp_path], cat, quiet_seconds=0.2, polling=False)
    watcher.start()
    assert "almc-watch-stabiliser" in _threads_of_watchers()
    with pytest.raises(UsageError, match="already running"):
        watcher.start()
    watcher.stop()
    assert set(threading.enumerate()) <= before  # daemon observer threads included
    watcher.start()  # again, e.g. after the settings changed
    f = write_file(tmp_path / "again.tif")
    wait_for(lambda: cat.state(f) == "complete", "a file seen after a restart")
    watcher.stop()
    watcher.stop()  # twice is harmless
    assert set(threading.enumerate()) <= before
    assert not cat.of_type(WatchFailed)


def test_stop_without_start_is_harmless(tmp_path: Path) -> None:
    Watcher([tmp_path], CatalogStub()).stop()


def test_a_folder_missing_at_start_is_reported_and_watched_once_it_appears(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "later"
    cat = CatalogStub()
    watcher = Watcher([folder], cat, quiet_seconds=0.2, retry_interval=0.1)
    watcher.start()
    try:
        assert cat.count(FolderUnavailable, folder=folder) == 1
        f = write_file(folder / "first.tif")
        wait_for(lambda: cat.count(FolderAvailable, folder=folder) == 1, "folder available")
        wait_for(lambda: cat.state(f) == "complete", "first.tif found and stabilised")
    finally:
        watcher.stop()


def test_the_inotify_watch_limit_falls_back_to_polling_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The system-wide inotify limits cannot be lowered on a shared machine: the failure
    # of setting up the native watch is injected; the polling observer is real.
    from almc_assistant.core.watch import folders

    real_start = folders.start_observer  # type: ignore[attr-defined]  # patched where used

    def limited(observer, handler, folder):
        if "Polling" not in type(observer).__name__:
            raise OSError(errno.ENOSPC, "inotify watch limit reached")
        real_start(observer, handler, folder)

    monkeypatch.setattr(folders, "start_observer", limited)
    cat = CatalogStub()
    watcher = Watcher([tmp_path], cat, quiet_seconds=0.2, polling=False, poll_interval=0.1)
    watcher.start()
    try:
        [warning] = cat.of_type(WatchFailed)
        assert "polling" in warning.title and "max_user_watches" in warning.next_step
        assert watcher.polls(tmp_path)
        assert not cat.of_type(FolderUnavailable)
        f = write_file(tmp_path / "polled.tif")
        wait_for(lambda: cat.state(f) == "complete", "a file seen by polling")
    finally:
        watcher.stop()


def test_the_overflow_spy_hears_watchdog_overflow_warnings() -> None:
    heard: list[int] = []
    spy = OverflowSpy(lambda: heard.append(1))
    spy.install()
    try:
        logging.getLogger(INOTIFY_LOGGER).warning("Inotify queue overflowed; events were lost")
        logging.getLogger(INOTIFY_LOGGER).warning("something else")
    finally:
        spy.remove()
    logging.getLogger(INOTIFY_LOGGER).warning("Inotify queue overflowed again")
    assert heard == [1]


def test_the_periodic_rescan_finds_changes_no_event_announced(tmp_path: Path) -> None:
    clock, cat = ManualClock(), CatalogStub()
    watcher = Watcher([tmp_path], cat, quiet_seconds=60, clock=clock, rescan_interval=600)
    write_file(tmp_path / "a.tif", old=True)
    watcher.scan(cat.known)
    silent = write_file(tmp_path / "silent.tif", old=True)  # no watchdog event for it
    clock.advance(300)
    watcher.check_stability()
    assert cat.count(FileAppeared, path=silent) == 0
    clock.advance(301)
    watcher.check_stability()
    assert cat.count(FileAppeared, path=silent) == 1
    assert cat.state(silent) == "complete"


def test_an_unknown_folder_name_is_a_usage_error(tmp_path: Path) -> None:
    watcher = Watcher([tmp_path / "a"], CatalogStub())
    with pytest.raises(UsageError, match="not a watched folder"):
        watcher.polls(tmp_path / "b")

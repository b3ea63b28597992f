"""The handler filters and enqueues (fed synthetic watchdog events, maestral's way)."""

from __future__ import annotations

from pathlib import Path

import pytest
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
)

from almc_assistant.core.events import ListSink
from almc_assistant.core.watch import WatchFailed
from almc_assistant.core.watch.changes import ChangeQueue
from almc_assistant.core.watch.handler import EnqueueHandler
from tests.portable import WINDOWS

ROOT = Path("/acq")
pytestmark = pytest.mark.skipif(
    WINDOWS, reason="synthetic events spelled with /; test_watcher_live feeds real Windows ones"
)


def make(ignore=None):
    q, sink = ChangeQueue(), ListSink()
    return EnqueueHandler(ROOT, q, sink, ignore), q, sink


def test_reads_and_folder_noise_are_dropped() -> None:
    h, q, _ = make()
    for event in (
        FileOpenedEvent("/acq/a.nd2"),
        FileClosedNoWriteEvent("/acq/a.nd2"),  # our own open test, the copy engine reading
        DirModifiedEvent("/acq"),
        DirCreatedEvent("/acq/sub"),
    ):
        h.dispatch(event)
    assert len(q) == 0


def test_writes_creations_and_deletions_become_hints() -> None:
    h, q, _ = make()
    h.dispatch(FileCreatedEvent("/acq/new.nd2"))
    h.dispatch(FileModifiedEvent("/acq/grow.nd2"))
    h.dispatch(FileClosedEvent("/acq/closed.tif"))
    h.dispatch(FileDeletedEvent("/acq/gone.tif"))
    h.dispatch(FileAttribEvent("/acq/chmod.tif"))
    hints = q.drain().hints
    assert hints["/acq/new.nd2"].born
    assert not hints["/acq/grow.nd2"].born and hints["/acq/grow.nd2"].content
    assert hints["/acq/closed.tif"].content
    assert hints["/acq/gone.tif"].gone
    assert not hints["/acq/chmod.tif"].content


def test_our_partial_files_and_clutter_are_ignored_anywhere_in_the_tree() -> None:
    h, q, _ = make()
    h.dispatch(FileCreatedEvent("/acq/.almc-partial-cells.nd2"))
    h.dispatch(FileModifiedEvent("/acq/sub/.DS_Store"))
    h.dispatch(FileCreatedEvent("/acq/$RECYCLE.BIN/S-1-5/x.nd2"))
    h.dispatch(FileCreatedEvent("/acq/~$notes.docx"))
    h.dispatch(FileCreatedEvent("/elsewhere/a.nd2"))  # outside the folder
    assert len(q) == 0


def test_an_extra_ignore_rule_applies() -> None:
    h, q, _ = make(ignore=lambda p: p.suffix == ".log")
    h.dispatch(FileCreatedEvent("/acq/run.log"))
    h.dispatch(FileCreatedEvent("/acq/run.nd2"))
    assert list(q.drain().hints) == ["/acq/run.nd2"]


def test_a_rename_from_a_temporary_name_is_an_arrival() -> None:
    h, q, _ = make()
    h.dispatch(FileMovedEvent("/acq/capture.tmp", "/acq/capture.nd2"))
    hints = q.drain().hints
    assert list(hints) == ["/acq/capture.nd2"]
    assert hints["/acq/capture.nd2"].born


def test_a_rename_to_an_ignored_name_is_a_departure() -> None:
    h, q, _ = make()
    h.dispatch(FileMovedEvent("/acq/a.nd2", "/acq/.almc-partial-a.nd2"))
    hints = q.drain().hints
    assert list(hints) == ["/acq/a.nd2"] and hints["/acq/a.nd2"].gone


def test_a_rename_inside_the_folder_is_a_move() -> None:
    h, q, _ = make()
    h.dispatch(FileMovedEvent("/acq/a.nd2", "/acq/day1/a.nd2"))
    hints = q.drain().hints
    assert hints["/acq/a.nd2"].moved_away
    assert hints["/acq/day1/a.nd2"].moved_from == "/acq/a.nd2"


def test_a_deleted_folder_asks_for_a_reconcile_of_what_was_in_it() -> None:
    h, q, _ = make()
    h.dispatch(DirDeletedEvent("/acq/day1"))
    h.dispatch(DirMovedEvent("/acq/day2", "/acq/day3"))  # files report their own moves
    h.dispatch(DirMovedEvent("/acq/day4", "/acq/$RECYCLE.BIN/day4"))
    assert q.drain().subtrees_gone == {"/acq/day1": "/acq", "/acq/day4": "/acq"}


def test_a_failure_in_the_handler_is_published_and_asks_for_a_rescan() -> None:
    def broken(_: Path) -> bool:
        raise RuntimeError("rule exploded")

    h, q, sink = make(ignore=broken)
    h.dispatch(FileCreatedEvent("/acq/a.nd2"))  # must not raise on the observer thread
    [failure] = sink.of_type(WatchFailed)
    assert failure.folder == ROOT and "rule exploded" in failure.detail
    assert q.drain().overflowed == {"/acq"}

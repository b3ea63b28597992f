"""The coalescing queue: latest hint per path, moves folded, bounded with overflow."""

from __future__ import annotations

import threading

import pytest

from almc_assistant.core.watch.changes import ChangeQueue

ROOT = "/acq"


def test_many_events_for_one_path_are_one_hint() -> None:
    q = ChangeQueue()
    q.touched(ROOT, "/acq/a", created=True)
    for _ in range(1000):
        q.touched(ROOT, "/acq/a")
    batch = q.drain()
    assert list(batch.hints) == ["/acq/a"]
    hint = batch.hints["/acq/a"]
    assert hint.born and not hint.gone and hint.content
    assert len(q) == 0 and not q.drain().hints


def test_created_then_deleted_in_one_batch_is_born_and_gone() -> None:
    q = ChangeQueue()
    q.touched(ROOT, "/acq/t", created=True)
    q.gone(ROOT, "/acq/t")
    hint = q.drain().hints["/acq/t"]
    assert hint.born and hint.gone


def test_deleted_then_recreated_is_not_born() -> None:
    q = ChangeQueue()
    q.gone(ROOT, "/acq/a")
    q.touched(ROOT, "/acq/a", created=True)
    hint = q.drain().hints["/acq/a"]
    assert not hint.born and not hint.gone


def test_attribute_only_changes_are_marked_as_such() -> None:
    q = ChangeQueue()
    q.touched(ROOT, "/acq/a", content=False)
    assert not q.drain().hints["/acq/a"].content


def test_a_chain_of_renames_reports_the_first_name() -> None:
    q = ChangeQueue()
    q.moved(ROOT, "/acq/a", "/acq/b")
    q.moved(ROOT, "/acq/b", "/acq/c")
    hints = q.drain().hints
    assert hints["/acq/a"].gone and hints["/acq/a"].moved_away
    assert "/acq/b" not in hints
    assert hints["/acq/c"].moved_from == "/acq/a" and not hints["/acq/c"].born


def test_a_file_created_and_renamed_in_one_batch_is_simply_new() -> None:
    q = ChangeQueue()
    q.touched(ROOT, "/acq/capture", created=True)
    q.moved(ROOT, "/acq/capture", "/acq/final.nd2")
    hints = q.drain().hints
    assert list(hints) == ["/acq/final.nd2"]
    assert hints["/acq/final.nd2"].born and hints["/acq/final.nd2"].moved_from is None


def test_the_queue_never_holds_more_than_its_bound_and_flags_the_folder() -> None:
    q = ChangeQueue(max_paths=100)
    for i in range(10_000):
        q.touched(ROOT, f"/acq/f{i}", created=True)
    q.touched("/other", "/other/x")
    q.subtree_gone(ROOT, "/acq/sub")
    assert len(q) == 100 and q.high_water == 100
    batch = q.drain()
    assert len(batch.hints) == 100
    assert batch.overflowed == {ROOT, "/other"}
    assert not batch.subtrees_gone  # the re-scan covers it
    q.touched(ROOT, "/acq/again")
    assert list(q.drain().hints) == ["/acq/again"]


def test_hints_already_held_are_still_updated_when_full() -> None:
    q = ChangeQueue(max_paths=1)
    q.touched(ROOT, "/acq/a", created=True)
    q.gone(ROOT, "/acq/a")
    batch = q.drain()
    assert batch.hints["/acq/a"].gone and not batch.overflowed


def test_many_threads_lose_no_path() -> None:
    q = ChangeQueue()

    def worker(n: int) -> None:
        for i in range(2000):
            q.touched(ROOT, f"/acq/{n}/{i}", created=True)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(q.drain().hints) == 8000


def test_a_bound_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_paths"):
        ChangeQueue(max_paths=0)


def test_move_pairing_pairs_one_to_one_and_never_a_file_with_itself() -> None:
    from almc_assistant.core.watch.pairing import MovePairing

    p = MovePairing(window=2.0, cap=10)
    p.arrived("/b/x", 10, 1, now=0.0)
    p.arrived("/b/self", 7, 7, now=0.0)
    p.arrived("/b/twin1", 5, 5, now=0.0)
    p.arrived("/b/twin2", 5, 5, now=0.0)
    assert p.hold("/a/x", None, now=0.0)
    assert p.due(now=1.0) == {}
    assert p.due(now=2.0) == {"/a/x": None}
    p.arrived("/b/vanished", 3, 3, now=0.0)
    p.arrived("/b/y", 3, 3, now=0.0)
    gone = {"/a/x": (10, 1), "/b/self": (7, 7), "/a/t": (5, 5), "/a/e": (0, 0), "/a/y": (3, 3)}
    pairs = p.pair(gone, exists=lambda path: path != "/b/vanished")
    # twins are ambiguous, empty files too; an arrival gone since is no candidate
    assert sorted(pairs) == [("/a/x", "/b/x", 10, 1), ("/a/y", "/b/y", 3, 3)]
    full = MovePairing(window=2.0, cap=1)
    assert full.hold("/a/1", None, now=0.0)
    assert not full.hold("/a/2", None, now=0.0)  # bounded: the caller publishes at once

"""The catalog records files, sessions, verdicts and copies, and answers from indexes."""

from __future__ import annotations

from pathlib import Path

from almc_assistant.core.catalog import Catalog, FileState, age_reference
from tests.core.catalog.conftest import Clock, copy_of, two_copies

NS = 1_000_000_000


def test_new_file_joins_the_owners_open_session(catalog: Catalog, clock: Clock) -> None:
    a = catalog.record_seen(Path("/acq/a.nd2"), size=10, mtime_ns=5 * NS, owner="ann")
    b = catalog.record_seen(Path("/acq/b.nd2"), size=20, mtime_ns=5 * NS, owner="ann")
    c = catalog.record_seen(Path("/acq/c.nd2"), size=30, mtime_ns=5 * NS, owner="bob")
    rec_a, rec_b, rec_c = (catalog.file(Path(f"/acq/{n}.nd2")) for n in "abc")
    assert rec_a and rec_b and rec_c
    assert (rec_a.id, rec_b.id, rec_c.id) == (a, b, c)
    assert rec_a.session_id == rec_b.session_id != rec_c.session_id
    assert rec_a.state is FileState.ACQUIRING
    assert rec_a.first_seen == clock.now
    # Ending the session: the next file starts a new one.
    assert catalog.end_session("ann") == rec_a.session_id
    catalog.record_seen(Path("/acq/d.nd2"), size=1, mtime_ns=5 * NS, owner="ann")
    rec_d = catalog.file(Path("/acq/d.nd2"))
    assert rec_d and rec_d.session_id not in (None, rec_a.session_id)


def test_unsafe_until_policy_satisfied_and_copies_follow_contents(catalog: Catalog) -> None:
    src = Path("/acq/a.nd2")
    catalog.record_seen(src, size=100, mtime_ns=7 * NS, owner="ann", state=FileState.COMPLETE)
    assert [f.path for f in catalog.unsafe_files("ann")] == [src]
    assert catalog.record_copy(copy_of(src, Path("/d1"), 100, 7 * NS), owner="ann") is False
    assert catalog.record_copy(copy_of(src, Path("/d2"), 100, 7 * NS), owner="ann") is True
    assert catalog.unsafe_files("ann") == []
    assert catalog.pending("ann") == (0, 0, None)
    # The file changes after the copies: they are of other contents, it is unsafe again.
    catalog.record_seen(src, size=150, mtime_ns=9 * NS, owner="ann", state=FileState.COMPLETE)
    rec = catalog.file(src)
    assert rec and not rec.safe and len(rec.copies) == 2 and rec.current_copies() == ()
    assert catalog.pending("ann")[:2] == (1, 150)


def test_totals_by_session_and_pending(catalog: Catalog) -> None:
    for i in range(3):
        catalog.record_seen(Path(f"/acq/s1-{i}"), size=10, mtime_ns=NS, owner="ann")
    catalog.end_session("ann")
    for i in range(2):
        catalog.record_seen(Path(f"/acq/s2-{i}"), size=100, mtime_ns=NS, owner="ann")
    catalog.record_seen(Path("/acq/bob"), size=999, mtime_ns=NS, owner="bob")
    totals = catalog.unsafe_totals("ann")
    assert [(t.files, t.bytes) for t in totals] == [(3, 30), (2, 200)]
    assert totals[0].ended_at is not None and totals[1].ended_at is None
    files, size, oldest = catalog.pending("ann")
    assert (files, size) == (5, 230) and oldest is not None


def test_deletion_without_copy_is_lost_with_copy_is_gone(catalog: Catalog) -> None:
    a, b = Path("/acq/a"), Path("/acq/b")
    for p in (a, b):
        catalog.record_seen(p, size=1, mtime_ns=NS, owner="ann", state=FileState.COMPLETE)
    catalog.record_copy(copy_of(b, Path("/d1"), 1, NS), owner="ann")
    assert catalog.record_deleted(a) is FileState.LOST
    assert catalog.record_deleted(b) is FileState.GONE
    assert [f.path for f in catalog.lost_files("ann")] == [a]
    assert catalog.unsafe_files("ann") == []
    assert catalog.record_deleted(Path("/acq/unknown")) is None


def test_a_move_keeps_copies_and_verdict(catalog: Catalog) -> None:
    src, dest = Path("/acq/old.tif"), Path("/acq/sub/new.tif")
    catalog.record_seen(src, size=5, mtime_ns=NS, owner="ann", state=FileState.COMPLETE)
    catalog.record_verdict(src, "tiff-uncompressed-ok", ["every page uncompressed"])
    catalog.record_copy(copy_of(src, Path("/d1"), 5, NS), owner="ann")
    assert catalog.record_moved(src, dest, size=5, mtime_ns=NS)
    assert catalog.file(src) is None
    rec = catalog.file(dest)
    assert rec and rec.verdict == "tiff-uncompressed-ok" and len(rec.copies) == 1
    assert rec.verdict_reasons == ("every page uncompressed",)
    assert not catalog.record_moved(Path("/acq/none"), dest, size=1, mtime_ns=1)


def test_copy_of_unknown_source_is_recorded_complete(catalog: Catalog) -> None:
    src = Path("/elsewhere/x.nd2")
    catalog.record_copy(copy_of(src, Path("/d1"), 3, NS), owner="ann")
    rec = catalog.file(src)
    assert rec and rec.state is FileState.COMPLETE and rec.size == 3
    assert [(c.destination_root, c.size) for c in rec.copies] == [(Path("/d1"), 3)]


def test_policy_change_recomputes_safety(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "c.sqlite3"
    with Catalog(db, safety=two_copies, safety_key="two", clock=clock) as cat:
        src = Path("/acq/a")
        cat.record_seen(src, size=1, mtime_ns=NS, owner="ann", state=FileState.COMPLETE)
        cat.record_copy(copy_of(src, Path("/d1"), 1, NS), owner="ann")
        assert len(cat.unsafe_files("ann")) == 1
    with Catalog(db, safety=lambda copies: len(copies) >= 1, safety_key="one", clock=clock) as cat:
        assert cat.unsafe_files("ann") == []


def test_forgetting_a_copy_makes_the_file_unsafe_again(catalog: Catalog) -> None:
    src = Path("/acq/a")
    catalog.record_seen(src, size=1, mtime_ns=NS, owner="ann", state=FileState.COMPLETE)
    for root in ("/d1", "/d2"):
        catalog.record_copy(copy_of(src, Path(root), 1, NS), owner="ann")
    assert catalog.unsafe_files("ann") == []
    assert catalog.forget_copy(Path("/d2/a")) == 1
    assert [f.path for f in catalog.unsafe_files("ann")] == [src]


def test_known_files_for_a_rescan(catalog: Catalog) -> None:
    root = Path("/acq")
    done = FileState.COMPLETE
    catalog.record_seen(root / "a", size=1, mtime_ns=2, owner="ann", root=root, state=done)
    catalog.record_seen(root / "sub" / "b", size=5, mtime_ns=6, owner="ann", state=done)
    catalog.record_seen(Path("/acq2/x"), size=1, mtime_ns=2, owner="ann", state=done)
    catalog.record_seen(root / "growing", size=1, mtime_ns=2, owner="ann")  # acquiring
    catalog.record_seen(root / "c", size=3, mtime_ns=4, owner="ann", root=root, state=done)
    catalog.record_deleted(root / "c")
    assert catalog.known_files(root) == {root / "a": (1, 2, 0, 0), root / "sub" / "b": (5, 6, 0, 0)}
    assert catalog.known_files(root / "sub") == {root / "sub" / "b": (5, 6, 0, 0)}
    assert catalog.known_files(root / "a") == {root / "a": (1, 2, 0, 0)}  # a single file
    assert catalog.known_files(root / "growing") == {}


def test_transaction_groups_writes_all_or_nothing(catalog: Catalog) -> None:
    with catalog.transaction():
        catalog.record_seen(Path("/acq/a"), size=1, mtime_ns=NS, owner="ann")
        catalog.record_seen(Path("/acq/b"), size=1, mtime_ns=NS, owner="ann")
    assert catalog.pending("ann")[0] == 2
    try:
        with catalog.transaction():
            catalog.record_seen(Path("/acq/c"), size=1, mtime_ns=NS, owner="ann")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert catalog.file(Path("/acq/c")) is None and catalog.pending("ann")[0] == 2


def test_a_file_that_comes_back_after_deletion_is_a_new_file(
    catalog: Catalog, clock: Clock
) -> None:
    p = Path("/acq/a")
    catalog.record_seen(p, size=1, mtime_ns=NS, owner="ann", state=FileState.COMPLETE)
    catalog.record_deleted(p)
    clock.now += 100
    catalog.record_seen(p, size=2, mtime_ns=2 * NS, owner="ann", state=FileState.COMPLETE)
    rec = catalog.file(p)
    assert rec and rec.state is FileState.COMPLETE and rec.first_seen == clock.now
    assert catalog.lost_files("ann") == []


class TestAgeReference:
    """Clock changes never make a file older than it is."""

    def test_ordinary_file_counts_from_the_later_of_mtime_and_first_seen(self) -> None:
        assert age_reference(1000 * NS, 2000.0) == 2000.0  # copied in with an old mtime
        assert age_reference(3000 * NS, 2000.0) == 3000.0

    def test_mtime_far_in_the_future_is_not_believed(self) -> None:
        far = (2000 + 10 * 86_400) * NS
        assert age_reference(far, 2000.0) == 2000.0

    def test_file_seen_while_the_clock_was_ahead_is_young(
        self, catalog: Catalog, clock: Clock
    ) -> None:
        clock.now = 2_000_000_000.0  # the clock runs ahead...
        catalog.record_seen(Path("/acq/a"), size=1, mtime_ns=NS, owner="ann")
        clock.now = 1_700_000_000.0  # ...then goes back
        rec = catalog.file(Path("/acq/a"))
        assert rec and rec.born == 2_000_000_000.0  # counts as brand new, not older
        assert catalog.cleanup_candidates(born_before=clock.now) == []


def test_a_new_login_closes_a_session_left_open(catalog: Catalog, clock: Clock) -> None:
    catalog.record_seen(Path("/acq/a"), size=1, mtime_ns=NS, owner="ann")
    first = catalog.open_session("ann")
    assert first is not None
    assert catalog.end_session_before("ann", first.started_at) is None  # same login
    clock.now += 3600
    assert catalog.end_session_before("ann", clock.now) == first.id
    catalog.record_seen(Path("/acq/b"), size=1, mtime_ns=NS, owner="ann")
    second = catalog.open_session("ann")
    assert second is not None and second.id != first.id


def test_dismissed_lost_files_are_no_longer_reported(catalog: Catalog) -> None:
    for name in ("a", "b"):
        p = Path(f"/acq/{name}")
        catalog.record_seen(p, size=1, mtime_ns=NS, owner="ann", state=FileState.COMPLETE)
        catalog.record_deleted(p)
    assert len(catalog.lost_files("ann")) == 2
    assert catalog.dismiss_lost("ann", [Path("/acq/a")]) == 1
    assert [f.path for f in catalog.lost_files("ann")] == [Path("/acq/b")]
    assert catalog.dismiss_lost("bob") == 0
    assert catalog.dismiss_lost("ann") == 1 and catalog.lost_files("ann") == []
    rec = catalog.file(Path("/acq/a"))
    assert rec is not None and rec.state is FileState.DISMISSED


def test_a_move_with_other_contents_drops_the_old_copies(catalog: Catalog) -> None:
    src, dest = Path("/acq/a"), Path("/acq/b")
    catalog.record_seen(src, size=5, mtime_ns=NS, owner="ann", state=FileState.COMPLETE)
    for root in ("/d1", "/d2"):
        catalog.record_copy(copy_of(src, Path(root), 5, NS), owner="ann")
    assert catalog.unsafe_files("ann") == []
    assert catalog.record_moved(src, dest, size=6, mtime_ns=2 * NS, root=Path("/acq"))
    assert [f.path for f in catalog.unsafe_files("ann")] == [dest]

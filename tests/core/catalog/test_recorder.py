"""The recorder writes in batches on its thread and loses nothing when the catalog fails."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from almc_assistant.core.catalog import Catalog, CatalogBusyError
from almc_assistant.core.catalog.recorder import Recorder

NS = 1_000_000_000


def _seen(i: int):
    return lambda cat: cat.record_seen(Path(f"/acq/{i}"), size=i, mtime_ns=NS, owner="ann")


def test_batches_on_its_thread_and_flush_waits(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with Catalog(tmp_path / "c.sqlite3") as cat:
        rec = Recorder(cat, on_error=lambda e, n: errors.append(e), max_batch=100)
        rec.start()
        try:
            for i in range(1000):
                rec.submit(_seen(i))
            assert rec.flush(timeout=60)
            assert cat.pending("ann")[0] == 1000
        finally:
            assert rec.stop() == 0
    assert errors == []


def test_locked_catalog_keeps_records_and_retries(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    errors: list[tuple[BaseException, int]] = []
    recovered = threading.Event()
    with Catalog(db, busy_timeout=0.1) as cat:
        rec = Recorder(
            cat,
            on_error=lambda e, n: errors.append((e, n)),
            on_recovered=recovered.set,
            retry_seconds=0.05,
        )
        other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN EXCLUSIVE")
        rec.start()
        try:
            for i in range(50):
                rec.submit(_seen(i))
            assert not rec.flush(timeout=1.0)  # cannot write while locked
            assert len(errors) == 1 and isinstance(errors[0][0], CatalogBusyError)
            assert errors[0][1] == 50
            other.execute("COMMIT")
            assert rec.flush(timeout=60) and recovered.wait(10)
            assert cat.pending("ann")[0] == 50
        finally:
            other.close()
            rec.stop()


def test_a_broken_operation_is_reported_and_the_rest_written(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with Catalog(tmp_path / "c.sqlite3") as cat:
        rec = Recorder(cat, on_error=lambda e, n: errors.append(e), inline=True)
        rec.submit(_seen(1))
        rec.submit(lambda c: 1 / 0)
        rec.submit(_seen(2))
        assert cat.pending("ann")[0] == 2
        assert [type(e) for e in errors] == [ZeroDivisionError]


def test_stop_writes_what_is_queued(tmp_path: Path) -> None:
    with Catalog(tmp_path / "c.sqlite3") as cat:
        rec = Recorder(cat, on_error=lambda e, n: None)
        rec.start()
        for i in range(300):
            rec.submit(_seen(i))
        assert rec.stop() == 0
        assert cat.pending("ann")[0] == 300


def test_after_commit_runs_once_earlier_writes_are_visible(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    seen: list[int] = []
    with Catalog(db) as cat, Catalog(db) as other:
        rec = Recorder(cat, on_error=lambda e, n: None)
        rec.start()
        try:
            for i in range(10):
                rec.submit(_seen(i))
            rec.submit_after(lambda: seen.append(other.pending("ann")[0]))  # another connection
            assert rec.flush(timeout=60)
        finally:
            rec.stop()
    assert seen == [10]

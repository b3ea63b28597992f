"""Live watching with real watchdog observers and a real catalog: a change of ctime or
file number with the size kept and the mtime restored is a modification (issue 9)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from almc_assistant.core.catalog import Catalog, FileState
from almc_assistant.core.catalog.revalidate import revalidate
from almc_assistant.core.events import Event
from almc_assistant.core.identity import FileIdentity
from almc_assistant.core.watch import FileChanged, FileIdentified, FileStabilised, Watcher
from tests.core.catalog.test_catalog_identity import (
    acquired,
    any_copy,
    copy_of,
    edit_keeping_size_and_mtime,
    legacy_catalog,
    seen,
)
from tests.core.watch.helpers import wait_for
from tests.portable import chmod_until_the_ctime_moves


class CatalogSink:
    """Writes watcher events into the catalog as the service does (with identities)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def publish(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)
        if isinstance(event, FileChanged | FileStabilised):
            done = isinstance(event, FileStabilised)
            self.catalog.record_seen(
                event.path,
                size=event.size,
                mtime_ns=event.mtime_ns,
                owner="ann",
                state=FileState.COMPLETE if done else FileState.ACQUIRING,
                identity=event.identity,
            )

        elif isinstance(event, FileIdentified):
            self.catalog.record_identity(
                event.path, size=event.size, mtime_ns=event.mtime_ns, identity=event.identity
            )

    def count(self, kind: type[Event], path: Path) -> int:
        with self._lock:
            return sum(
                isinstance(e, kind) and getattr(e, "path", None) == path for e in self.events
            )


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Catalog, CatalogSink, Path]]:
    f = acquired(tmp_path / "acq" / "a.nd2", b"a" * 8192)
    catalog = Catalog(tmp_path / "c.sqlite3", safety=any_copy)
    seen(catalog, f)
    assert catalog.record_copy(copy_of(f, tmp_path / "bit" / "a.nd2"), owner="ann")
    sink = CatalogSink(catalog)
    watcher = Watcher([tmp_path / "acq"], sink, quiet_seconds=0.2, polling=False)
    watcher.start()
    try:
        watcher.scan(catalog.known_files)
        assert sink.count(FileChanged, f) == 0  # as the catalog holds it: nothing to say
        yield catalog, sink, f
    finally:
        watcher.stop()
        catalog.close()


def test_a_live_edit_with_the_mtime_restored_makes_the_file_unsafe(
    watched: tuple[Catalog, CatalogSink, Path],
) -> None:
    catalog, sink, f = watched
    edit_keeping_size_and_mtime(f, b"B" * 512)
    wait_for(lambda: sink.count(FileStabilised, f) == 1, "the edited file to settle")
    rec = catalog.file(f)
    assert rec is not None and rec.state is FileState.COMPLETE
    assert not rec.safe and rec.changed_since_backup
    assert rec.ident == (lambda i: (i.dev, i.ino, i.ctime_ns))(FileIdentity.of_path(f))
    assert revalidate(catalog, f) == 0 and not catalog.file(f).safe  # type: ignore[union-attr]


def test_a_live_chmod_keeps_the_copies_after_a_rehash(
    watched: tuple[Catalog, CatalogSink, Path],
) -> None:
    catalog, sink, f = watched
    chmod_until_the_ctime_moves(f)
    wait_for(lambda: sink.count(FileStabilised, f) == 1, "the chmod to be seen")
    assert revalidate(catalog, f) == 1
    rec = catalog.file(f)
    assert rec is not None and rec.safe and not rec.changed_since_backup


def test_a_file_recorded_before_identities_gets_one_at_the_next_scan(tmp_path: Path) -> None:
    """After an upgrade, the first scan records the identity of files the catalog held
    without one (nothing else happens to them), so a later same-size edit is seen."""
    f = acquired(tmp_path / "acq" / "a.nd2", b"a" * 8192)
    legacy_catalog(tmp_path / "c.sqlite3", f)
    with Catalog(tmp_path / "c.sqlite3", safety=any_copy) as catalog:
        sink = CatalogSink(catalog)
        watcher = Watcher([tmp_path / "acq"], sink, quiet_seconds=0.2, polling=False)
        watcher.scan(catalog.known_files)
        assert sink.count(FileIdentified, f) == 1 and sink.count(FileChanged, f) == 0
        rec = catalog.file(f)
        assert rec is not None and rec.safe and rec.ident is not None
        edit_keeping_size_and_mtime(f, b"B")
        watcher.scan(catalog.known_files)
        assert sink.count(FileChanged, f) == 1
        assert catalog.file(f).changed_since_backup  # type: ignore[union-attr]

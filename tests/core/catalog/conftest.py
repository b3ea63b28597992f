"""Fixtures for catalog tests: a real SQLite file in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from almc_assistant.core.catalog import Catalog
from almc_assistant.core.copies import CopyRecord


def two_copies(copies: Sequence[CopyRecord]) -> bool:
    """A simple rule for tests: two distinct destination roots make a file safe."""
    return len({c.destination_root for c in copies}) >= 2


class Clock:
    """A settable wall clock."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def catalog(tmp_path: Path, clock: Clock) -> Iterator[Catalog]:
    cat = Catalog(tmp_path / "catalog.sqlite3", safety=two_copies, safety_key="two", clock=clock)
    yield cat
    cat.close()


def copy_of(source: Path, root: Path, size: int, mtime_ns: int, at: float = 1.0) -> CopyRecord:
    return CopyRecord(
        source=source,
        destination_root=root,
        path=root / source.name,
        size=size,
        mtime_ns=mtime_ns,
        blake3="ab" * 32,
        verified_at=at,
    )

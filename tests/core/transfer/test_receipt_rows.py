"""Issue 17: the receipt's rows are built in one pass from the copies, and their text is
exactly what encoding each copy's ``receipt_row`` gives (names of every kind)."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.transfer.receipt import ReceiptTimes, VerifiedRows, _row, _rows

_NAMES = [
    "a.tif",
    'q"uote\\back.tif',
    "ümlaut \u2603 雪.nd2",
    "bad\udcff\udc80.tif",  # not UTF-8 on disk (surrogateescape)
    "new\nline\ttab.tif",
    "deep/er/f.bin",
    "z" * 200,
]

_OUTSIDE = Path("/src/u")  # the source of the copy that is not below its root


def _copies() -> list[CopyRecord]:
    out = []
    for i, name in enumerate(_NAMES):
        out.append(
            CopyRecord(
                source=Path("/src") / name,
                destination_root=Path("/dst"),
                path=Path("/dst/run").joinpath(*name.split("/")),
                size=i * 1000 + (1 << 40),
                mtime_ns=1_700_000_000_123_456_789 + i,
                blake3=f"{i:x}" * 64,
                verified_at=1_700_000_001.5 + i / 7,
                read_back="syncfs, then read from storage",
                adopted=bool(i % 2),
            )
        )
    extra = dict(size=5, mtime_ns=-5, blake3="c" * 64, verified_at=3.0)
    out += [
        CopyRecord(  # a remote copy with its proof (a nested object)
            source=Path("/src/r"),
            destination_root=PurePosixPath("/lab/me"),
            path=PurePosixPath("/lab/me/r/x y"),
            proof={"proof": "server-blake3", "bytes": 5, "ok": True},
            **extra,  # type: ignore[arg-type]
        ),
        CopyRecord(  # Windows roots: a folder, a drive
            source=Path("/src/w"),
            destination_root=PureWindowsPath("C:\\data"),
            path=PureWindowsPath("C:\\data\\run\\f.tif"),
            **extra,  # type: ignore[arg-type]
        ),
        CopyRecord(
            source=Path("/src/w2"),
            destination_root=PureWindowsPath("D:\\"),
            path=PureWindowsPath("D:\\run\\g.tif"),
            **extra,  # type: ignore[arg-type]
        ),
        CopyRecord(  # the root folder itself as the destination
            source=Path("/src/v"),
            destination_root=Path("/"),
            path=Path("/run/v.tif"),
            **extra,  # type: ignore[arg-type]
        ),
        CopyRecord(  # a name that starts like its folder's sibling
            source=_OUTSIDE,
            destination_root=Path("/dst"),
            path=Path("/dst2/u.tif"),
            **extra,  # type: ignore[arg-type]
        ),
    ]
    random.Random(17).shuffle(out)
    return out


def _expected(copies: list[CopyRecord], stamp: str) -> list[str]:
    """The rows as encoding each ``receipt_row`` gives them, sorted by relative path."""
    pairs = sorted(((c.relpath, c) for c in copies), key=lambda pair: pair[0])
    return ["  " + _row(c.receipt_row(stamp=stamp)) for _, c in pairs]


def test_rows_are_exactly_the_encoded_receipt_rows() -> None:
    copies = [c for c in _copies() if c.source != _OUTSIDE]
    for stamp in ("verified_at", "read_back_at"):
        times = ReceiptTimes()
        assert _rows(copies, stamp, times) == _expected(copies, stamp)
        assert _rows(copies, stamp, times) == _expected(copies, stamp)  # times reused
    for row in _rows(copies, "verified_at", ReceiptTimes()):
        json.loads(row)  # each row alone is valid JSON


def test_a_copy_outside_its_root_is_refused_as_before() -> None:
    """``relpath`` raises for a copy not below its root; the rows do not invent one."""
    (odd,) = [c for c in _copies() if c.source == _OUTSIDE]
    with pytest.raises(ValueError):
        _rows([odd], "verified_at", ReceiptTimes())


def test_rows_formatted_as_copies_arrive_are_the_rows_of_all_at_once() -> None:
    """The job's thread formats a destination's rows while its workers append copies
    (:class:`VerifiedRows`): taken in any slices, with copies of one relative path twice
    (kept in the order they were recorded), the rows are those formatted at the end."""
    copies = [c for c in _copies() if c.source != _OUTSIDE]
    first = next(c for c in copies if c.path.name == "a.tif")
    twin = dataclasses.replace(first, blake3="d" * 64, verified_at=9.0)
    copies += [twin]  # the same relative path as ``first``, recorded later
    records: list[CopyRecord] = []
    rows = VerifiedRows(ReceiptTimes())
    rows.take(records)  # nothing yet
    for end in (1, 1, 5, len(copies) - 1):
        records += copies[len(records) : end]
        rows.take(records)
    records.append(twin)  # after the last round: rows() takes it
    assert rows.rows(records) == _expected(records, "verified_at")
    ours = [r for r in rows.rows(records) if '"relative_path": "run/a.tif"' in r]
    assert [json.loads(r)["blake3"] for r in ours] == [first.blake3, twin.blake3]

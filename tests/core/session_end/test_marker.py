"""The marker: atomic rewrites, round trip, bad files ignored with a clear log line."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.session_end import EndKind, MarkerRecord, PendingSummary, SessionMarker
from almc_assistant.core.session_end.marker import MARKER_NAME


def test_round_trip(tmp_path: Path) -> None:
    marker = SessionMarker(tmp_path / "state")
    rec = MarkerRecord(
        PendingSummary(files=3, bytes=12_400_000_000, oldest=1.5),
        updated=2.5,
        ended_kind=EndKind.LOGOFF,
        ended_at=3.0,
    )
    marker.write(rec)
    assert marker.read() == rec
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == [MARKER_NAME]


def test_no_marker_reads_as_none(tmp_path: Path) -> None:
    assert SessionMarker(tmp_path).read() is None


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        json.dumps({"version": 99, "files": 1}).encode(),
        json.dumps(
            {"version": 1, "files": True, "bytes": 1, "oldest": None, "updated": 0}
        ).encode(),
        json.dumps({"version": 1, "files": 1, "bytes": 1, "oldest": None}).encode(),
        json.dumps({"version": 1, "files": -4, "bytes": 1, "oldest": None, "updated": 0}).encode(),
        json.dumps(
            {"version": 1, "files": 1, "bytes": 1, "oldest": None, "updated": 0, "ended_kind": "x"}
        ).encode(),
        b"\xff\xfe",
    ],
)
def test_a_bad_marker_is_ignored_and_named_in_the_log(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    marker = SessionMarker(tmp_path)
    marker.path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert marker.read() is None
    assert str(marker.path) in caplog.text
    assert "rewritten" in caplog.text


def test_a_write_that_cannot_happen_says_where_and_leaves_no_temp(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be")
    marker = SessionMarker(blocker)
    with pytest.raises(AlmcError) as info:
        marker.write(MarkerRecord(PendingSummary(files=1, bytes=1), updated=0.0))
    assert str(blocker / MARKER_NAME) in info.value.detail
    assert info.value.next_step


def test_readers_never_see_half_a_marker(tmp_path: Path) -> None:
    marker = SessionMarker(tmp_path)
    marker.write(MarkerRecord(PendingSummary(files=0, bytes=0), updated=0.0))
    stop = threading.Event()
    seen: list[int] = []
    bad: list[bytes] = []

    def reader() -> None:
        while not stop.is_set():
            raw = marker.path.read_bytes()
            try:
                seen.append(json.loads(raw)["files"])
            except ValueError:
                bad.append(raw)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(300):
            marker.write(
                MarkerRecord(PendingSummary(files=i, bytes=i * 10**9), updated=float(i)),
                durable=False,
            )
    finally:
        stop.set()
        t.join()
    assert not bad
    assert seen and seen == sorted(seen)
    assert [p.name for p in tmp_path.iterdir()] == [MARKER_NAME]

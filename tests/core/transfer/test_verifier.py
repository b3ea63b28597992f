"""verify_destination: re-reads what the manifest lists; missing, differing, extra."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from almc_assistant.core.errors import UsageError
from almc_assistant.core.events import ListSink
from almc_assistant.core.transfer import EntryChecked, verify_destination
from tests.core.transfer.conftest import copy, write


def copied(tmp_path: Path) -> Path:
    run = tmp_path / "src" / "run1"
    for i in range(5):
        write(run / f"f{i}.tif", os.urandom(10_000 + i))
    dest = tmp_path / "dest"
    result, _ = copy([run], [dest])
    assert result.summary.ok
    return dest


def test_a_fresh_copy_verifies(tmp_path: Path) -> None:
    dest = copied(tmp_path)
    sink = ListSink()
    report = verify_destination(dest, sink)
    assert report.ok and len(report.matched) == 5 and report.extra == []
    assert report.bytes_read == sum(10_000 + i for i in range(5))
    assert {e.outcome for e in sink.of_type(EntryChecked)} == {"match"}


def test_damage_loss_and_strangers_are_reported(tmp_path: Path) -> None:
    dest = copied(tmp_path)
    with open(dest / "run1/f1.tif", "r+b") as f:  # one flipped byte, same size and mtime
        b = f.read(1)
        f.seek(0)
        f.write(bytes([b[0] ^ 1]))
    (dest / "run1/f2.tif").unlink()
    write(dest / "run1/new.tif", b"not copied by us")
    sink = ListSink()
    report = verify_destination(dest, sink)
    assert not report.ok
    assert report.differing == ["run1/f1.tif"]
    assert report.missing == ["run1/f2.tif"]
    assert report.extra == ["run1/new.tif"]
    assert len(report.matched) == 3
    by_path = {e.relative_path: e for e in sink.of_type(EntryChecked)}
    assert str(dest / "run1/f1.tif") in by_path["run1/f1.tif"].detail
    assert by_path["run1/f1.tif"].expected != by_path["run1/f1.tif"].actual


def test_no_manifest_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        verify_destination(tmp_path, ListSink())
    assert str(tmp_path) in info.value.detail and "almc-manifest.b3sum" in info.value.detail

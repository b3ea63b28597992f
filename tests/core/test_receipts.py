"""Copy receipts found at a destination: what may count as evidence, and what never does.

(The other-user cases, a receipt or copy owned by someone else, are in
``tests/integration/test_shared_workstation.py`` with real accounts.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from almc_assistant.core.receipts import read_receipt
from tests.portable import WINDOWS


def _entry(source: Path, copy: Path, **over: object) -> dict[str, object]:
    e: dict[str, object] = {
        "source": str(source),
        "destination": str(copy),
        "size": copy.stat().st_size if copy.exists() else 4,
        "mtime_ns": source.stat().st_mtime_ns,
        "blake3": "0" * 64,
        "verified_at": "2026-01-01T00:00:00+00:00",
    }
    e.update(over)
    return e


def _receipt(dest: Path, entries: list[object]) -> Path:
    folder = dest / "almc-receipts"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "r.json"
    path.write_text(json.dumps({"destination_root": str(dest), "verified": entries}))
    path.chmod(0o644)
    return path


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path, Path]:
    source = tmp_path / "acq" / "a.nd2"
    source.parent.mkdir()
    source.write_bytes(b"data")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "a.nd2").write_bytes(b"data")
    return source, dest, tmp_path


def test_a_sound_entry_counts(layout: tuple[Path, Path, Path]) -> None:
    source, dest, _ = layout
    found = read_receipt(_receipt(dest, [_entry(source, dest / "a.nd2")]), dest)
    assert [(s, c.path, c.destination_root) for s, c in found] == [(source, dest / "a.nd2", dest)]


def test_copies_outside_the_folder_of_the_receipt_never_count(
    layout: tuple[Path, Path, Path],
) -> None:
    source, dest, tmp = layout
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "a.nd2").write_bytes(b"data")
    (dest / "sub").symlink_to(elsewhere)  # inside by name, outside once resolved
    entries: list[object] = [
        _entry(source, elsewhere / "a.nd2"),
        _entry(source, dest / ".." / "elsewhere" / "a.nd2"),
        _entry(source, dest / "sub" / "a.nd2"),
        _entry(source, dest / "missing.nd2"),
        _entry(source, dest / "a.nd2", size=999),  # not the size listed
    ]
    assert read_receipt(_receipt(dest, entries), dest) == []


def test_a_malformed_entry_costs_only_itself(layout: tuple[Path, Path, Path]) -> None:
    source, dest, _ = layout
    entries: list[object] = [
        {"source": str(source)},
        "not an entry",
        _entry(source, dest / "a.nd2", size="big"),
        _entry(source, dest / "a.nd2"),
    ]
    assert len(read_receipt(_receipt(dest, entries), dest)) == 1


@pytest.mark.skipif(os.name != "posix", reason="POSIX links, FIFOs and modes")
@pytest.mark.parametrize("hostile", ["link", "fifo", "writable-by-others", "not-json"])
def test_a_hostile_receipt_is_ignored_without_blocking(
    layout: tuple[Path, Path, Path], hostile: str
) -> None:
    source, dest, tmp = layout
    good = _receipt(tmp / "other", [_entry(source, dest / "a.nd2")])
    path = dest / "almc-receipts" / "r.json"
    path.parent.mkdir()
    if hostile == "link":
        path.symlink_to(good)
    elif hostile == "fifo":
        os.mkfifo(path)
    elif hostile == "writable-by-others":
        path.write_text(good.read_text())
        path.chmod(0o666)
    else:
        path.write_text("{ not json")
    assert read_receipt(path, dest) == []


@pytest.mark.skipif(not WINDOWS, reason="Windows ACLs (the POSIX modes are tested above)")
def test_on_windows_a_receipt_others_may_write_is_ignored(
    layout: tuple[Path, Path, Path],
) -> None:
    """Windows: the owner SID and the ACL decide (mode bits say nothing about other
    users). A receipt whose ACL lets Everyone write it is ignored; one only this user
    may write counts."""
    from almc_assistant.core import winacl
    from tests.windows_acl import set_dacl

    source, dest, _ = layout
    path = _receipt(dest, [_entry(source, dest / "a.nd2")])
    me = winacl.user_sid()
    assert len(read_receipt(path, dest)) == 1
    set_dacl(path, f"D:P(A;;FA;;;{me})(A;;FA;;;WD)")
    assert read_receipt(path, dest) == []
    set_dacl(path, f"D:P(A;;FA;;;{me})(A;;FR;;;WD)")  # others may read only
    assert len(read_receipt(path, dest)) == 1

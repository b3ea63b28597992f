"""Copy receipts found at a destination: what may count as evidence, and what never does.

(The other-user cases, a receipt or copy owned by someone else, are in
``tests/integration/test_shared_workstation.py`` with real accounts.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from almc_assistant.core.copies import NOT_CONFIRMED
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
    assert [(c.source, c.path, c.destination_root) for c in found] == [
        (source, dest / "a.nd2", dest)
    ]


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


# A receipt exactly as the first release wrote it (commit 240971d: ``json.dump`` with
# ``indent=1``, no "pending_upload" list): receipts already at destinations must keep
# reading as evidence.
FIRST_RECEIPT = """{
 "format": "almc-assistant copy receipt 1",
 "tool": "almc-assistant 0.1.0",
 "job_id": "0f3c2a",
 "destination_root": "DEST",
 "file_system": "ext4",
 "started_at": "2026-01-05T09:00:00.000+00:00",
 "finished_at": "2026-01-05T09:00:02.500+00:00",
 "state": "completed",
 "already_verified_before": 0,
 "verified": [
  {
   "source": "SOURCE",
   "destination": "DEST/a.nd2",
   "relative_path": "a.nd2",
   "size": 4,
   "mtime_ns": 1767603600000000000,
   "mtime": "2026-01-05T09:00:00.000+00:00",
   "blake3": "HASH",
   "verified_at": "2026-01-05T09:00:01.250+00:00",
   "read_back": "evicted from cache and re-read",
   "adopted_existing_copy": false
  }
 ],
 "failed": []
}
"""


def test_a_receipt_of_the_first_release_still_reads(layout: tuple[Path, Path, Path]) -> None:
    import blake3

    source, dest, _ = layout
    folder = dest / "almc-receipts"
    folder.mkdir()
    digest = blake3.blake3(b"data").hexdigest()

    def json_text(path: Path) -> str:  # a Windows path's backslashes escaped
        return json.dumps(str(path))[1:-1]

    text = FIRST_RECEIPT.replace("DEST", json_text(dest)).replace("SOURCE", json_text(source))
    receipt = folder / "20260105T090000Z-0f3c2a.json"
    receipt.write_text(text.replace("HASH", digest), encoding="utf-8")
    receipt.chmod(0o644)
    (copy,) = read_receipt(receipt, dest)
    assert copy.source == source and copy.path == dest / "a.nd2"
    assert copy.destination_root == dest and copy.relpath == "a.nd2"
    assert (copy.size, copy.mtime_ns, copy.blake3) == (4, 1767603600000000000, digest)
    assert copy.verified_at == 1767603601.25
    assert copy.read_back == "evicted from cache and re-read" and copy.adopted is False
    # A receipt does not say which version was copied: confirmed by a re-hash, or never.
    assert copy.source_ident == NOT_CONFIRMED


def test_a_receipt_row_reads_back_as_the_record_it_was_written_from(tmp_path: Path) -> None:
    from almc_assistant.core.copies import CopyRecord

    record = CopyRecord(
        source=tmp_path / "acq" / "b\udcff.tif",  # a name that is not UTF-8 stays exact
        destination_root=tmp_path / "d",
        path=tmp_path / "d" / "run" / "b\udcff.tif",
        size=12,
        mtime_ns=1_700_000_000_123_456_789,
        blake3="ab" * 32,
        verified_at=1_700_000_100.5,
        read_back="evicted from cache and re-read",
        adopted=True,
    )
    row = record.receipt_row()
    assert row["relative_path"] == "run/b\udcff.tif"
    assert CopyRecord.from_receipt_row(json.loads(json.dumps(row)), tmp_path / "d") == record


@pytest.mark.parametrize(
    "bad",
    [{"size": "many"}, {"size": True}, {"verified_at": 5}, {"source": None}, {"blake3": 7}],
)
def test_a_malformed_receipt_row_is_refused(tmp_path: Path, bad: dict[str, object]) -> None:
    from almc_assistant.core.copies import CopyRecord

    row = {**_entry(tmp_path, tmp_path / "c"), **bad}
    with pytest.raises((TypeError, ValueError)):
        CopyRecord.from_receipt_row(row, tmp_path)


def test_a_remote_copy_row_keeps_what_its_backend_proved() -> None:
    """A remote copy's row carries its proof (the engine's receipt at the remote), and
    reading the row back gives the same record, proof included."""
    from almc_assistant.core.copies import CopyRecord
    from almc_assistant.core.remotepaths import remote_path

    root = remote_path("research:lab/me")  # as the engine names it: "/" on every system
    proof = {
        "proof": "server-blake3",
        "proof_words": "BLAKE3 computed by the server over the stored file",
        "algorithm": "blake3",
        "expected": "cd" * 32,
        "stored": "cd" * 32,
        "verified": True,
        "reason": "",
    }
    record = CopyRecord(
        source=Path("/acq/run/a.nd2"),
        destination_root=root,
        path=root / "run" / "a.nd2",
        size=3,
        mtime_ns=1_700_000_000_000_000_000,
        blake3="cd" * 32,
        verified_at=1_700_000_100.25,
        read_back=str(proof["proof_words"]),
        proof=proof,
    )
    row = record.receipt_row()
    assert row["relative_path"] == "run/a.nd2" and row["proof"] == proof
    back = CopyRecord.from_receipt_row(json.loads(json.dumps(row)), root)
    assert back == record and back.proof_kind == "server-blake3"
    local = CopyRecord.from_receipt_row({**row, "proof": None}, root)
    assert local.proof is None and local.proof_kind == "" and "proof" not in local.receipt_row()

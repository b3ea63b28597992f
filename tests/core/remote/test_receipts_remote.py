"""Copies to remote destinations come back from the receipts at the remote, with their
proof (status and cleanup know them); rows without a verified proof, about a copy no
longer there, or outside the remote destination never count. Against sshd on loopback."""

from __future__ import annotations

import json
from pathlib import Path, PureWindowsPath

from almc_assistant.core.catalog import Catalog
from almc_assistant.core.events import ListSink
from almc_assistant.core.receipts import read_remote_receipt
from almc_assistant.core.service import Service
from tests.core.remote.helpers import facility_with_remote, old_file
from tests.core.remote.servers import SshServer


def _service_with_remote(spec: str, acq: Path) -> Service:
    return Service(facility_with_remote(spec, acq), ListSink())


def test_remote_copies_come_back_from_the_receipt_with_their_proof(
    daemon, sftp_server: SshServer, tmp_path: Path
) -> None:
    spec = sftp_server.create_remote(daemon, "research")
    acq = tmp_path / "acq"
    acq.mkdir()
    a = old_file(acq / "a.nd2", b"a" * 70_000)
    service = _service_with_remote(spec, acq)
    try:
        service.scan_once()
        [remote] = service.config.remote_destinations
        job = service.start_copy([a], [remote], record=False)  # the CLI's copy, say
        result = job.wait(120)
        assert result is not None and result.summary.verified == 1, result
        service.recorder.flush()
        rec = service.catalog.file(a)
        assert rec is not None and not rec.copies

        assert service.import_receipts() == 1
        service.recorder.flush()
        rec = service.catalog.file(a)
        assert rec is not None
        [copy] = rec.copies
        assert copy.path.as_posix() == f"{spec}/a.nd2"
        assert copy.proof is not None and copy.proof["proof"] == "server-blake3"
        assert copy.proof["verified"] is True
        assert service.import_receipts() == 0  # each receipt is read once
    finally:
        service.stop()
    with Catalog(service.paths.catalog_db) as again:  # the proof is kept on disk
        rec = again.file(a)
        assert rec is not None and rec.copies[0].proof is not None


PROOF = {
    "proof": "server-blake3",
    "algorithm": "blake3",
    "expected": "ab" * 32,
    "stored": "ab" * 32,
    "verified": True,
}


def _row(src: Path, destination: str, rel: str, **changes: object) -> dict[str, object]:
    """A receipt's row for a 100-byte copy of ``src`` at ``destination`` (``rel`` below
    the remote destination), proven by the server's BLAKE3; ``changes``: None drops a key."""
    r: dict[str, object] = {
        "source": str(src),
        "destination": destination,
        "relative_path": rel,
        "size": 100,
        "mtime_ns": src.stat().st_mtime_ns,
        "blake3": "ab" * 32,
        "verified_at": "2026-01-01T00:00:00.000+00:00",
        "proof": PROOF,
    }
    r.update(changes)
    return {k: v for k, v in r.items() if v is not None}


def test_rows_without_proof_or_copy_never_count(tmp_path: Path) -> None:
    src = old_file(tmp_path / "s.nd2", b"s" * 100)
    spec = "research:lab/me"
    proof = PROOF

    def row(rel: str, **changes: object) -> dict[str, object]:
        return _row(src, str(changes.pop("destination", f"{spec}/{rel}")), rel, **changes)

    rows = [
        row("good.nd2"),
        row("none.nd2", proof={**proof, "proof": "none", "verified": False}),
        row("noproof.nd2", proof=None),  # an old-style row at a remote: no proof, not counted
        row("liar.nd2", proof={**proof, "stored": "cd" * 32}),
        row("gone.nd2"),
        row("small.nd2"),
        row("x", destination="other:lab/me/x"),
        row("up.nd2", destination=f"{spec}/../up.nd2"),
    ]
    sizes = {"good.nd2": 100, "none.nd2": 100, "noproof.nd2": 100, "liar.nd2": 100}
    sizes |= {"small.nd2": 99, "x": 100, "up.nd2": 100}
    data = json.dumps({"verified": rows}).encode()

    found = read_remote_receipt(data, spec, sizes.get)

    assert [c.relpath for c in found] == ["good.nd2"]
    assert read_remote_receipt(b"not json", spec, sizes.get) == []


def test_a_receipt_written_on_windows_before_slashes_counts_at_the_real_name(
    tmp_path: Path,
) -> None:
    """Receipts written on Windows before remote paths were kept with ``/`` name the copy
    ``research:lab\\me\\exp1\\a.nd2`` (a ``WindowsPath``); read on any system, the copy
    counts at ``research:lab/me/exp1/a.nd2``, where rclone finds it. A ``\\`` that is part of
    a name (a file named so on Linux) stays part of it."""
    src = old_file(tmp_path / "s.nd2", b"s" * 100)
    spec = "research:lab/me"

    def row(destination: str, rel: str) -> dict[str, object]:
        return _row(src, destination, rel)

    rows = [
        row(str(PureWindowsPath(spec) / "exp1/a.nd2"), "exp1/a.nd2"),  # research:lab\me\exp1\a.nd2
        row(f"{spec}/odd\\name.nd2", "odd\\name.nd2"),  # a Linux name holding a backslash
        row(str(PureWindowsPath(spec) / "../up.nd2"), "../up.nd2"),  # outside: never
    ]
    sizes = {"exp1/a.nd2": 100, "odd\\name.nd2": 100, "../up.nd2": 100}
    doc = {"destination_root": str(PureWindowsPath(spec)), "verified": rows}

    found = read_remote_receipt(json.dumps(doc).encode(), spec, sizes.get)

    assert [str(c.path) for c in found] == [f"{spec}/exp1/a.nd2", f"{spec}/odd\\name.nd2"]
    assert [str(c.destination_root) for c in found] == [spec, spec]
    assert [c.relpath for c in found] == ["exp1/a.nd2", "odd\\name.nd2"]

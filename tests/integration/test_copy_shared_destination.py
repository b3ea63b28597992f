"""Issue 10: on a shared destination, user A's planted links and files never make user B's
copy write through them, land in A's folder, or say "already verified" (real accounts)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from almc_assistant.core.transfer.manifest import format_line
from tests.multiuser import Account


@pytest.fixture
def workstation(users: tuple[Account, Account], shared_root: Path) -> tuple[Path, Path, Path]:
    """(B's run folder, B's private file, the shared destination: root's, 1777)."""
    _, b = users
    dest = shared_root / "institutional"
    dest.mkdir()
    dest.chmod(0o1777)
    run = b.make_dir(b.home / "acq" / "run1", 0o700)
    b.make_dir(b.home / "acq", 0o700)
    b.write(run / "cells.nd2", b"B's pixels" * 1000, mode=0o600)
    secret = b.write(b.home / ".bashrc", b"# B's shell setup\n", mode=0o600)
    return run, secret, dest


def _copy(b: Account, run: Path, dest: Path) -> tuple[int, str]:
    proc = b.run(["almc-assistant", "copy", str(run), "--to", str(dest), "--json"])
    return proc.returncode, proc.stdout + proc.stderr


def test_manifest_linked_to_b_s_file_is_refused(
    users: tuple[Account, Account], workstation: tuple[Path, Path, Path]
) -> None:
    a, b = users
    run, secret, dest = workstation
    assert a.run(["ln", "-s", str(secret), str(dest / "almc-manifest.b3sum")]).returncode == 0
    code, out = _copy(b, run, dest)
    assert code == 1 and "almc-manifest.b3sum" in out and "symbolic link" in out
    assert secret.read_bytes() == b"# B's shell setup\n"


def test_manifest_temporary_linked_to_b_s_file_is_refused(
    users: tuple[Account, Account], workstation: tuple[Path, Path, Path]
) -> None:
    a, b = users
    run, secret, dest = workstation
    tmp = dest / "almc-manifest.b3sum.tmp"
    assert a.run(["ln", "-s", str(secret), str(tmp)]).returncode == 0
    code, out = _copy(b, run, dest)
    assert code == 1 and "almc-manifest.b3sum.tmp" in out
    assert secret.read_bytes() == b"# B's shell setup\n"
    assert (dest / "run1" / "cells.nd2").read_bytes() == b"B's pixels" * 1000  # copied all the same
    assert "run1/cells.nd2" in (dest / "almc-manifest.b3sum").read_text()


def test_subfolder_linked_to_a_s_folder_is_refused(
    users: tuple[Account, Account], workstation: tuple[Path, Path, Path]
) -> None:
    a, b = users
    run, _, dest = workstation
    trap = a.make_dir(dest.parent / "a-reads-this", 0o777)
    assert a.run(["ln", "-s", str(trap), str(dest / "run1")]).returncode == 0
    code, out = _copy(b, run, dest)
    assert code == 1 and str(dest / "run1") in out
    assert list(trap.iterdir()) == []


def test_subfolder_owned_by_a_is_not_used(
    users: tuple[Account, Account], workstation: tuple[Path, Path, Path]
) -> None:
    a, b = users
    run, _, dest = workstation
    assert a.run(["mkdir", "-m", "0777", str(dest / "run1")]).returncode == 0
    code, out = _copy(b, run, dest)
    assert code == 1 and "belongs to almc-ta" in out
    assert list((dest / "run1").iterdir()) == []


def test_planted_manifest_line_and_lookalike_file_are_not_already_verified(
    users: tuple[Account, Account], workstation: tuple[Path, Path, Path]
) -> None:
    """A plants a manifest line of zeros and a file of B's size and mtime."""
    a, b = users
    run, _, dest = workstation
    src = run / "cells.nd2"
    fake = dest / "cells.nd2"
    a.write(fake, b"\0" * src.stat().st_size, mode=0o644)
    os.utime(fake, ns=(src.stat().st_atime_ns, src.stat().st_mtime_ns))
    a.write(dest / "almc-manifest.b3sum", format_line("0" * 64, "cells.nd2").encode(), 0o666)
    proc = b.run(["almc-assistant", "copy", str(src), "--to", str(dest), "--json"])
    doc = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stderr
    assert doc["summary"]["already_verified"] == 0 and doc["summary"]["verified"] == 1
    (v,) = doc["verified"]
    assert v["destination"] == str(dest / "cells (almc copy 2).nd2") and not v["adopted"]
    assert fake.read_bytes() == b"\0" * src.stat().st_size


def test_receipts_folder_linked_or_owned_by_a_gets_no_receipt_of_b(
    users: tuple[Account, Account], workstation: tuple[Path, Path, Path]
) -> None:
    a, b = users
    run, _, dest = workstation
    trap = a.make_dir(dest.parent / "a-collects", 0o777)
    assert a.run(["ln", "-s", str(trap), str(dest / "almc-receipts")]).returncode == 0
    code, out = _copy(b, run, dest)
    assert code == 1 and "almc-receipts" in out and list(trap.iterdir()) == []
    assert (dest / "run1" / "cells.nd2").exists()  # the copy itself is in place


def test_manifest_b_cannot_write_fails_no_copy_and_is_reported(
    users: tuple[Account, Account], workstation: tuple[Path, Path, Path]
) -> None:
    """A's manifest (0644) in the shared root: B's copies stand, the output says the
    manifest could not be updated (exit 1), B's receipt lists them."""
    a, b = users
    run, _, dest = workstation
    a.write(dest / "almc-manifest.b3sum", b"", mode=0o644)
    proc = b.run(["almc-assistant", "copy", str(run), "--to", str(dest), "--json"])
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1 and doc["failed"] == [] and len(doc["verified"]) == 1
    (refused,) = doc["refused_destinations"]
    assert "Permission denied" in refused["detail"] or "permission" in refused["detail"].lower()
    (receipt,) = doc["receipts"]
    assert json.loads(Path(receipt).read_text())["verified"][0]["relative_path"] == "run1/cells.nd2"

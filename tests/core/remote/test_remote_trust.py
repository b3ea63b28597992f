"""A remote copy counts only for the exact bytes it was proven for (issue 13). Copies
read back from the receipts at a remote destination (and at a drive) name no identity
of the source: they count once the source, re-read from storage, hashes as they say.
When the source changed meanwhile (its bytes rewritten, size and mtime kept), they never
count: not after a re-hash, not after the file is renamed; status says the file changed
since its backup, cleanup keeps it, until it is copied again. Against sshd on loopback,
with the service's real watcher; the workstation's disks are tmpfs (root)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from almc_assistant.core.catalog import FileRecord
from almc_assistant.core.catalog.revalidate import revalidate
from almc_assistant.core.cleanup import Action
from almc_assistant.core.copies import NOT_CONFIRMED
from almc_assistant.core.events import ListSink
from almc_assistant.core.policy import DAY
from almc_assistant.core.service import Service
from almc_assistant.core.status import CHANGED_SINCE_BACKUP, NOT_REPROVEN
from tests.core.remote.helpers import old_file, research_and_drive, wait_safe
from tests.core.remote.servers import SshServer

pytestmark = pytest.mark.root


def _rewrite_in_place(path: Path) -> None:
    """Other bytes of the same size, the mtime put back (as some acquisition software
    does when it edits a header): only the ctime tells."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    with open(path, "r+b") as f:
        f.write(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _wait_for(
    service: Service, path: Path, why: str, ok: Callable[[FileRecord], bool]
) -> FileRecord:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        service.recorder.flush()
        rec = service.catalog.file(path)
        if rec is not None and ok(rec):
            return rec
        time.sleep(0.05)
    raise AssertionError(f"{path}: {why}: {service.catalog.file(path)}")


def _changed_and_kept(service: Service, src: Path, now: list[float]) -> None:
    """Status says the file changed since its backup; cleanup keeps it."""
    [unsafe] = service.status().files
    spec = service.config.remote_destinations[0].remote
    assert unsafe.path == src and unsafe.missing.startswith(CHANGED_SINCE_BACKUP)
    assert NOT_REPROVEN.format(spec) in unsafe.missing, unsafe.missing
    now[0] += 40 * DAY
    (item,) = service.plan_cleanup().items
    assert item.action is Action.KEEP and item.reason.startswith("not safe"), item.reason
    now[0] -= 40 * DAY


@pytest.fixture
def world(daemon, sftp_server: SshServer, tmp_path: Path, other_disk: Callable[..., Path]):
    """A file copied by the command line to research storage (a remote) and a drive,
    proven there; the service that will read the receipts back."""
    spec = sftp_server.create_remote(daemon, "research")
    ws = research_and_drive(spec, tmp_path, other_disk)
    now = [time.time()]
    service = Service(ws.paths, ListSink(), clock=lambda: now[0])
    try:
        service.scan_once()
        [remote] = service.config.remote_destinations
        job = service.start_copy([ws.src], [remote, ws.usb], record=False)
        result = job.wait(120)
        assert result is not None and result.summary.verified == 2, result
        yield service, ws.src, now, remote, ws.usb
    finally:
        service.stop()


def test_a_source_rehashed_after_a_change_does_not_count_its_remote_copy(world) -> None:
    service, src, now, remote, usb = world
    assert service.import_receipts() == 2
    wait_safe(service, src)  # re-hashed: the bytes the receipts name

    _rewrite_in_place(src)
    service.scan_once()  # its identity moved: the copies stop counting
    service.recorder.flush()
    assert revalidate(service.catalog, src) == 0  # re-hashed: other bytes now
    rec = service.catalog.file(src)
    assert rec is not None and not rec.safe and rec.changed_since_backup
    _changed_and_kept(service, src, now)

    job = service.start_copy([src], [remote, usb])  # backed up again: it counts
    assert job.wait(120) is not None
    wait_safe(service, src)


def test_copies_never_confirmed_do_not_count_after_a_rename(world) -> None:
    """The receipts are read after the source changed: the re-hash does not confirm
    them; a rename (the watcher pairs it by size and mtime) must not make them count."""
    service, src, now, _, _ = world
    _rewrite_in_place(src)
    service.scan_once()  # it reads the receipts too
    service.import_receipts()
    service.recorder.flush()
    assert revalidate(service.catalog, src) == 0  # re-hashed: not the receipts' bytes
    rec = service.catalog.file(src)
    assert rec is not None and len(rec.copies) == 2 and not rec.safe
    service.start_watching()
    _wait_for(service, src, "watched", lambda r: True)

    renamed = src.with_name("b.nd2")
    src.rename(renamed)
    rec = _wait_for(service, renamed, "the rename was seen", lambda r: len(r.copies) == 2)

    assert not rec.safe and not rec.current_copies(), [c.source_ident for c in rec.copies]
    _changed_and_kept(service, renamed, now)


def test_a_remote_copy_counts_only_for_the_bytes_its_md5_proved(
    daemon, s3_server, tmp_path: Path, other_disk: Callable[..., Path]
) -> None:
    """S3 proves a small copy by the MD5 it computes. A receipt at the bucket whose row
    names the source's BLAKE3 but a proof of other bytes (MD5 of something else, said
    verified) never makes the file safe: the re-hash computes the MD5 too. The same
    receipt's honest row counts. Against ``rclone serve s3`` on loopback."""
    spec = s3_server.create_remote(daemon, "research")
    ws = research_and_drive(spec, tmp_path, other_disk)
    honest = old_file(ws.src.parent / "b.nd2", b"other pixels" * 5_000)
    service = Service(ws.paths, ListSink())
    try:
        service.scan_once()
        [remote] = service.config.remote_destinations
        job = service.start_copy([ws.src, honest], [remote, ws.usb], record=False)
        result = job.wait(120)
        assert result is not None and result.summary.verified == 4, result
        [receipt] = (s3_server.data / "bucket" / "dest" / "almc-receipts").glob("*.json")
        doc = json.loads(receipt.read_text())
        [row] = [r for r in doc["verified"] if r["relative_path"] == "a.nd2"]
        assert row["proof"]["proof"] == "server-md5" and row["proof"]["algorithm"] == "md5"
        forged = hashlib.md5(b"not the source").hexdigest()
        row["proof"].update(expected=forged, stored=forged)  # "proven", for other bytes
        receipt.write_text(json.dumps(doc))

        assert service.import_receipts() == 2
        wait_safe(service, honest)
        rec = _wait_for(
            service, ws.src, "re-hashed", lambda r: any(c.source_ident == r.ident for c in r.copies)
        )
        [counted] = rec.current_copies()
        assert counted.destination_root == ws.usb and not rec.safe
        [not_counted] = [c for c in rec.copies if c.source_ident == NOT_CONFIRMED]
        assert str(not_counted.destination_root) == spec
    finally:
        service.stop()

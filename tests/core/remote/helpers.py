"""Small helpers shared by the remote tests.

:func:`send_file` copies one file through the copy engine (the one per-file pipeline)
to already opened backends and reads each outcome back from the receipt the job wrote at
that destination: the proof there (kind, hashes, reason) is the one the test checks.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core.destination_backend import ProofKind, SourceDigests, StoredProof
from almc_assistant.core.events import ListSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.remote.digests import ReadPassDigests
from almc_assistant.core.remote.faults import RemoteError
from almc_assistant.core.remote.rcd import RcDaemon
from almc_assistant.core.remote.rclone_backend import RcloneBackend
from almc_assistant.core.remote.spec import parse_remote
from almc_assistant.core.service import Service
from almc_assistant.core.service_remotes import RemoteSetup, RemoteTested
from almc_assistant.core.transfer import (
    CopyFailed,
    CopyRequest,
    DestinationRefused,
    OnConflict,
    run_copy,
)
from almc_assistant.core.transfer.naming import RECEIPTS_DIR
from tests.core.remote.servers import SshServer


def answer(sink: ListSink, request: int) -> RemoteTested:
    """The service's one ``RemoteTested`` for ``request``."""
    [found] = [e for e in sink.events if isinstance(e, RemoteTested) and e.request_id == request]
    return found


def sftp_setup(server: SshServer, name: str = "research", *, confirmed: bool = True) -> RemoteSetup:
    """What Settings sends for ``server`` with its key file; ``confirmed``: with the
    server key's fingerprint the person confirmed (as the facility publishes it)."""
    return RemoteSetup(
        "sftp",
        name,
        folder=f"{server.data}/dest",
        host="127.0.0.1",
        port=str(server.port),
        user=server.user,
        key_file=str(server.key),
        host_key=server.host_fingerprint() if confirmed else "",
    )


def source_file(folder: Path, name: str, size: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(os.urandom(size))
    return path


def backend(daemon: RcDaemon, spec: str) -> RcloneBackend:
    return RcloneBackend(daemon, parse_remote(spec)).open()


@dataclass(frozen=True)
class Failure:
    title: str
    detail: str
    next_step: str


@dataclass(frozen=True)
class Outcome:
    """One file at one destination, as the job's receipt and events tell it."""

    backend: str
    relpath: str
    proof: StoredProof | None
    verified: bool
    error: Failure | None = None


def send_file(
    source: Path, relpath: str, backends: Sequence[RcloneBackend], **request: object
) -> tuple[SourceDigests, list[Outcome]]:
    """Copy ``source`` to ``relpath`` at every backend in one job of the copy engine."""
    stage = source.parent / f".stage-{secrets.token_hex(4)}"
    staged = stage / relpath
    staged.parent.mkdir(parents=True)
    os.link(source, staged)
    hashers = ReadPassDigests(set().union(*(b.wanted_digests() for b in backends)))
    hashers.update(source.read_bytes())
    sink = ListSink()
    result = run_copy(
        CopyRequest(
            sources=[staged],
            destinations=[],
            remotes=tuple(backends),
            relative_to=(stage,),
            on_conflict=OnConflict(str(request.pop("on_conflict", OnConflict.FAIL))),
            **request,  # type: ignore[arg-type]
        ),
        sink,
    )
    assert result.error is None, result.error
    failures = {
        str(e.destination_root): Failure(e.title, e.detail, e.next_step)
        for e in sink.events
        if isinstance(e, CopyFailed | DestinationRefused)
    }
    outcomes = []
    for b in backends:
        row = _receipt_row(b, result.summary.job_id, relpath)
        proof = None
        if row is not None and "proof" in row:
            p = row["proof"]
            proof = StoredProof(
                ProofKind(p["proof"]), p["algorithm"], p["expected"], p["stored"], p["reason"]
            )
        verified = row is not None and proof is not None and proof.verified
        outcomes.append(Outcome(b.label, relpath, proof, verified, failures.get(b.root)))
    return hashers.result(), outcomes


def _receipt_row(b: RcloneBackend, job_id: str, relpath: str) -> dict | None:  # type: ignore[type-arg]
    try:
        listed = b.list(RECEIPTS_DIR)
    except RemoteError:  # the server is gone: no receipt there
        return None
    names = [e.relpath for e in listed if e.relpath.endswith(f"{job_id}.json")]
    if not names:
        return None
    data = b.read_file(f"{RECEIPTS_DIR}/{names[0].rpartition('/')[2]}")
    assert data is not None
    doc = json.loads(data)
    rows = [r for r in doc["verified"] if r["relative_path"] == relpath]
    return rows[0] if rows else None


def facility_with_remote(spec: str, acq: Path, more: str = "") -> AppPaths:
    """The test's app paths (the conftest's ALMC_HOME, where the daemon's rclone.conf
    is) with a facility config watching ``acq`` and naming ``spec`` research storage;
    ``more``: more of the facility's TOML (other destinations)."""
    paths = AppPaths.default()
    paths.facility_config.parent.mkdir(parents=True, exist_ok=True)
    paths.facility_config.write_text(
        "[watch]\n"
        f"folders = [{str(acq)!r}]\n"
        "[[destinations]]\n"
        'name = "Research storage"\n'
        'kind = "research"\n'
        f"remote = {spec!r}\n" + more
    )
    return paths


def old_file(path: Path, data: bytes) -> Path:
    """``path`` written with ``data``, last modified an hour ago (settled, not acquiring)."""
    path.write_bytes(data)
    old = time.time() - 3600
    os.utime(path, (old, old))
    return path


def wait_safe(service: Service, src: Path) -> None:
    """Copies read from receipts count once a worker re-hashed the file (revalidate)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        service.recorder.flush()
        rec = service.catalog.file(src)
        if rec is not None and rec.safe:
            return
        time.sleep(0.05)
    raise AssertionError(f"{src} never became safe: {service.catalog.file(src)}")


def research_and_drive(spec: str, tmp_path: Path, other_disk: Callable[..., Path]) -> Workstation:
    """A facility naming research storage ``spec`` and a USB drive, watching ``acq`` on a
    disk of its own, with ``a.nd2`` acquired an hour ago (real disks: root)."""
    acq = other_disk(tmp_path / "disk") / "acq"
    acq.mkdir()
    usb = other_disk(tmp_path / "usb")
    paths = facility_with_remote(
        spec, acq, f"[[destinations]]\nname = 'USB'\npath = {str(usb)!r}\nkind = 'external-drive'\n"
    )
    return Workstation(paths, old_file(acq / "a.nd2", b"pixels" * 10_000), usb)


@dataclass(frozen=True)
class Workstation:
    paths: AppPaths
    src: Path
    usb: Path

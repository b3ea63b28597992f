"""Cleanup counts a remote copy only when its backend proves the stored bytes again at
cleanup time: against real servers on loopback (sshd with b3sum, rclone serve s3, Samba),
a server that lies about a hash, and a server killed between plan and apply or right
before the unlink. The workstation's disks are tmpfs (root; skipped otherwise)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import pytest

from almc_assistant.core.cleanup import Action
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.events import ListSink
from almc_assistant.core.evidence import EvidenceRules
from almc_assistant.core.policy import DAY
from almc_assistant.core.service import Service
from tests.core.cleanup.world import World, digest, tmpfs_mounts
from tests.core.remote.helpers import (
    backend,
    research_and_drive,
    send_file,
    wait_safe,
)
from tests.core.remote.servers import Server, SshServer

pytestmark = pytest.mark.root


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with tmpfs_mounts() as mounted:
        w = World(tmp_path / "ws", mounted)
        yield w
        w.catalog.close()


def _script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def _with_remote(world: World, spec: str, kind: DestinationKind, **extra: object) -> None:
    """``spec`` becomes a facility destination (research storage by default): cleanup
    may prove copies there with this user's sign-in."""
    path = PurePosixPath(spec.partition(":")[2] or "/")
    world.destinations.append(
        Destination("Remote", path, kind, "facility", remote=spec, **extra)  # type: ignore[arg-type]
    )
    world.policy = world.make_policy()
    world.rules = EvidenceRules(
        None,
        tuple(Path(d.path) for d in world.destinations if not d.remote),
        facility_remotes=tuple(d.remote for d in world.destinations if d.remote),
    )


def _copied(world: World, daemon, spec: str, *, usb: bool = True) -> Path:
    """A file acquired 40 days ago, uploaded to ``spec`` by the copy engine (its proof
    verified) and recorded as the engine records it; and a copy on the USB drive."""
    src = world.acquire("a.nd2", b"microscope bytes " * 4000)
    upload = world.disk.parent / "upload" / "a.nd2"  # the engine stages beside its source
    upload.parent.mkdir(exist_ok=True)
    upload.write_bytes(src.read_bytes())
    _, [outcome] = send_file(upload, "a.nd2", [backend(daemon, spec)])
    assert outcome.verified, outcome.error
    world.record(src, Path(spec), Path(f"{spec.rstrip('/')}/a.nd2"), digest(src.read_bytes()))
    if usb:
        world.copy_to(src, world.ext)
    return src


def _audit(world: World) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in world.audit.read_text().splitlines()]


@pytest.mark.parametrize(
    ("server", "proof"),
    [
        ("sftp_server", "server-blake3"),
        ("s3_server", "server-md5"),
        ("smb_server", "downloaded-back"),
    ],
)
def test_a_remote_copy_proven_at_cleanup_time_counts(world, daemon, request, server, proof):
    srv: Server = request.getfixturevalue(server)
    spec = srv.create_remote(daemon, "research")
    _with_remote(world, spec, DestinationKind.RESEARCH)
    src = _copied(world, daemon, spec)
    plan = world.plan()
    [item] = plan.items
    assert item.action is Action.DELETE and f"the copy on {spec} counts only if" in item.reason

    [outcome] = world.apply(plan).outcomes

    assert outcome.deleted, outcome.reason
    assert not src.exists() and f"the copy at {spec}/a.nd2 proven again" in outcome.reason
    [entry] = _audit(world)
    assert entry["remote_copies"][0]["proof"] == proof
    assert entry["remote_copies"][0]["path"] == f"{spec}/a.nd2"


def test_research_storage_alone_is_not_enough(world, daemon, sftp_server: SshServer):
    """Research storage keeps one copy: with nothing else the file stays, saying why."""
    spec = sftp_server.create_remote(daemon, "research")
    _with_remote(world, spec, DestinationKind.RESEARCH)
    src = _copied(world, daemon, spec, usb=False)
    [item] = world.plan().items
    assert item.action is Action.KEEP and "2 verified copies on independent" in item.reason

    [outcome] = world.apply(world.forced()).outcomes

    assert not outcome.deleted and src.exists()
    assert "has 1 verified copy" in outcome.reason, outcome.reason


def test_a_university_account_is_warned_in_the_plan(world, daemon, sftp_server: SshServer):
    spec = sftp_server.create_remote(daemon, "uni")
    _with_remote(world, spec, DestinationKind.OTHER, university_managed=True)
    _copied(world, daemon, spec)
    [item] = world.plan().items
    assert item.action is Action.DELETE
    assert f"{spec} is a university-managed account, deleted when its owner leaves" in item.reason


def test_a_remote_nobody_configured_never_counts(world, daemon, sftp_server: SshServer):
    """A catalog row naming a remote the facility and the owner did not configure (or
    one staff's cleanup of another user's catalog cannot sign in to) is not counted."""
    spec = sftp_server.create_remote(daemon, "research")
    _with_remote(world, spec, DestinationKind.RESEARCH)
    world.rules = EvidenceRules(None, (world.ext,))  # no remote trusted
    src = _copied(world, daemon, spec)

    [outcome] = world.apply().outcomes

    assert not outcome.deleted and src.exists()
    assert f"{spec}/a.nd2: not on a remote destination the facility" in outcome.reason


def test_a_server_lying_about_a_copy_is_caught(world, daemon, sftp_server: SshServer, tmp_path):
    """The server's b3sum is honest for the probe and lies for the copy at cleanup time:
    the copy does not count, the file is kept, and the row is forgotten."""
    spec = sftp_server.create_remote(daemon, "research")
    _with_remote(world, spec, DestinationKind.RESEARCH)
    src = _copied(world, daemon, spec)
    liar = _script(
        tmp_path,
        "b3sum-liar",
        'case "$1" in *almc-probe*) exec b3sum "$1";; esac\necho "' + "cd" * 32 + '  $1"',
    )
    daemon.call("config/update", name="research", parameters={"blake3sum_command": str(liar)})

    [outcome] = world.apply().outcomes

    assert not outcome.deleted and src.exists()
    assert "does not hold the source's bytes now" in outcome.reason, outcome.reason
    assert "BLAKE3 computed by the server" in outcome.reason
    rec = world.catalog.file(src)
    assert rec is not None and [c.destination_root for c in rec.copies] == [world.ext]


def test_a_server_whose_hash_lies_is_downloaded_back(
    world, daemon, sftp_server: SshServer, tmp_path
):
    """A server that lies about every hash (the probe shows it) is never believed: its
    copies are downloaded back, so a changed stored copy is caught and an intact one counts."""
    spec = sftp_server.create_remote(daemon, "research")
    _with_remote(world, spec, DestinationKind.RESEARCH)
    src = _copied(world, daemon, spec)
    good = digest(src.read_bytes())
    liar = _script(tmp_path, "b3sum-liar", f'echo "{good}  $1"')  # always the source's hash
    daemon.call(
        "config/update",
        name="research",
        parameters={"blake3sum_command": str(liar), "sha256sum_command": "none"},
    )
    stored = sftp_server.data / "dest" / "a.nd2"
    data = bytearray(stored.read_bytes())
    data[100] ^= 0xFF
    stored.write_bytes(bytes(data))

    [outcome] = world.apply().outcomes

    assert not outcome.deleted and src.exists()
    assert "does not hold the source's bytes now (downloaded back" in outcome.reason

    data[100] ^= 0xFF
    stored.write_bytes(bytes(data))
    world.record(src, Path(spec), Path(f"{spec}/a.nd2"), good)  # recorded again
    [outcome] = world.apply().outcomes
    assert outcome.deleted and "downloaded back and compared" in outcome.reason


def test_a_server_killed_between_plan_and_apply(world, daemon, sftp_server: SshServer):
    spec = sftp_server.create_remote(daemon, "research")
    _with_remote(world, spec, DestinationKind.RESEARCH)
    src = _copied(world, daemon, spec)
    plan = world.plan()
    assert plan.items[0].action is Action.DELETE
    sftp_server.kill()

    [outcome] = world.apply(plan).outcomes

    assert not outcome.deleted and src.exists()
    assert f"{spec} cannot be reached at cleanup time" in outcome.reason, outcome.reason
    rec = world.catalog.file(src)
    assert rec is not None and len(rec.copies) == 2, "an unreachable copy is not forgotten"


def test_a_server_with_another_key_between_plan_and_apply(world, daemon, sftp_server: SshServer):
    """Another server on the same host and port (a new host key): its copy proves
    nothing, the source is kept, and the reason names both fingerprints."""
    spec = sftp_server.create_remote(daemon, "research")
    _with_remote(world, spec, DestinationKind.RESEARCH)
    src = _copied(world, daemon, spec)
    plan = world.plan()
    assert plan.items[0].action is Action.DELETE
    old = sftp_server.host_fingerprint()
    sftp_server.impostor()

    [outcome] = world.apply(plan).outcomes

    assert not outcome.deleted and src.exists()
    assert f"{spec} cannot be reached at cleanup time" in outcome.reason, outcome.reason
    assert "CHANGED" in outcome.reason and old in outcome.reason
    assert sftp_server.host_fingerprint() in outcome.reason


def test_a_server_killed_right_before_the_unlink(world, daemon, sftp_server: SshServer):
    spec = sftp_server.create_remote(daemon, "research")
    _with_remote(world, spec, DestinationKind.RESEARCH)
    src = _copied(world, daemon, spec)
    world.before_unlink = lambda _path: sftp_server.kill()

    [outcome] = world.apply().outcomes

    assert not outcome.deleted and src.exists()
    assert f"{spec}/a.nd2: {spec} no longer answers" in outcome.reason, outcome.reason
    assert [e["action"] for e in _audit(world)] == ["delete", "delete-cancelled"]


@pytest.mark.parametrize("through", ["copy", "receipt"])
def test_the_service_cleans_a_file_kept_on_research_storage_and_a_drive(
    daemon, sftp_server: SshServer, tmp_path: Path, other_disk: Callable[..., Path], through
):
    """The whole path: the facility names research storage (a remote) and a drive; the
    file is copied to both by the service (or to the remote by the command line, its copy
    then read back from the receipt there); 40 days later the service's cleanup deletes
    it, the remote copy proven again by the server's BLAKE3."""
    spec = sftp_server.create_remote(daemon, "research")
    ws = research_and_drive(spec, tmp_path, other_disk)
    paths, src, usb = ws.paths, ws.src, ws.usb
    now = [time.time()]
    service = Service(paths, ListSink(), clock=lambda: now[0])
    try:
        service.scan_once()
        [remote] = service.config.remote_destinations
        job = service.start_copy([src], [remote, usb], record=through == "copy")
        assert job.wait(120) is not None
        service.recorder.flush()
        if through == "receipt":
            assert service.import_receipts() == 2  # at the drive and at the remote
            wait_safe(service, src)
        assert service.status().files == (), service.status().files
        now[0] += 40 * DAY
        (item,) = service.plan_cleanup().items
        assert item.action is Action.DELETE, item.reason
        (done,) = service.apply_cleanup(service.plan_cleanup()).deleted
        assert done.path == src and not src.exists()
        assert (
            f"the copy at {spec}/a.nd2 proven again (BLAKE3 computed by the server" in done.reason
        )
    finally:
        service.stop()


def test_a_remote_copy_rewritten_right_before_the_unlink(world, daemon, sftp_server: SshServer):
    """Someone rewrites the stored copy (same size) after it was proven: its modification
    time moved, the deletion is cancelled."""
    spec = sftp_server.create_remote(daemon, "research")
    _with_remote(world, spec, DestinationKind.RESEARCH)
    src = _copied(world, daemon, spec)
    stored = sftp_server.data / "dest" / "a.nd2"

    def rewrite(_path: Path) -> None:
        data = stored.read_bytes()
        stored.write_bytes(bytes(len(data)))
        later = stored.stat().st_mtime + 5
        os.utime(stored, (later, later))

    world.before_unlink = rewrite

    [outcome] = world.apply().outcomes

    assert not outcome.deleted and src.exists()
    assert f"{spec}/a.nd2: it was modified" in outcome.reason, outcome.reason

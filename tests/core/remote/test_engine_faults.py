"""Faults of remote destinations through the copy engine, each against a real server on
loopback: a clear message naming the destination and the next step, nothing wrong under
a final name, and a rerun that finishes."""

from __future__ import annotations

import os
import subprocess
import threading
import uuid
from pathlib import Path

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.remote.rcd import RcDaemon
from almc_assistant.core.transfer import (
    CopyFailed,
    CopyHooks,
    CopyRequest,
    CopyRetried,
    CopyVerified,
    DestinationRefused,
    run_copy,
)
from almc_assistant.core.transfer.scan import FileTask
from tests.core.remote.helpers import backend
from tests.core.remote.servers import RcloneServer, SshServer
from tests.portable import IS_ROOT

MiB = 1024 * 1024


def _source(tmp_path: Path, name: str, size: int) -> Path:
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(os.urandom(size))
    return path


def _no_partials(folder: Path) -> None:
    if folder.exists():
        assert not [p for p in folder.rglob("*") if "almc-partial" in p.name]


def _script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def test_server_killed_mid_upload_then_rerun(daemon, sftp_server: SshServer, tmp_path):
    spec = sftp_server.create_remote(daemon, "research")
    src = _source(tmp_path, "big.nd2", 24 * MiB)
    killed = threading.Event()

    def on_chunk(task: FileTask, done: int) -> None:
        if done >= 8 * MiB and not killed.is_set():
            killed.set()
            sftp_server.kill()

    sink = ListSink()
    request = CopyRequest(sources=[src], destinations=[], remotes=(spec,), chunk_size=MiB)
    result = run_copy(_with_hooks(request, CopyHooks(on_chunk=on_chunk)), sink)
    assert killed.is_set()
    [failed] = [e for e in sink.events if isinstance(e, CopyFailed)]
    assert spec in failed.detail and failed.next_step, failed
    assert result.summary.verified == 0
    final = sftp_server.data / "dest" / "big.nd2"
    assert not final.exists()

    # the killed upload's partial could not be removed (the server was gone); it is
    # hidden, never a final name, and removed by a run a day later (it may be another
    # upload still running, for all a rerun knows)
    left = {p.name for p in (sftp_server.data / "dest").glob("*almc-partial")}
    assert len(left) <= 1

    sftp_server.start()
    again = run_copy(request, ListSink())
    assert (again.summary.verified, again.summary.failed) == (1, 0), again.summary
    assert final.read_bytes() == src.read_bytes()
    assert {p.name for p in (sftp_server.data / "dest").glob("*almc-partial")} == left


def test_a_dead_server_fails_the_rest_of_the_job_at_once(daemon, sftp_server, tmp_path):
    """sshd killed mid-job with most files still to go: the first lost connection makes
    the job ask the server once (one probe); it does not answer, so the destination is
    failed for the rest of the job with one message, and no file spends retries on it.
    Copies proven before stay; nothing unproven is published; a rerun finishes."""
    spec = sftp_server.create_remote(daemon, "research")
    opened = backend(daemon, spec)  # handed to the job, so the test can count its probes
    srcs = [_source(tmp_path, f"f{i:02d}.tif", 300_000) for i in range(20)]
    killed = threading.Event()

    def before_file(task: FileTask) -> None:
        if task.source.name == "f08.tif" and not killed.is_set():
            killed.set()
            sftp_server.kill()

    sink = ListSink()
    request = CopyRequest(sources=srcs, destinations=[], remotes=(opened,), workers=2)
    result = run_copy(_with_hooks(request, CopyHooks(before_file=before_file)), sink)
    assert killed.is_set()
    failed = [e for e in sink.events if isinstance(e, CopyFailed)]
    assert [e for e in sink.events if isinstance(e, CopyRetried)] == []
    assert opened.probes == 1
    assert result.summary.verified + len(failed) == 20 and len(failed) >= 12
    assert all(spec in f.detail and "stopped answering" in f.detail for f in failed), failed
    [once] = [e for e in sink.events if isinstance(e, DestinationRefused)]
    assert spec in once.title and "stopped answering" in once.detail
    assert "run the copy again" in once.next_step
    stored = sftp_server.data / "dest"
    for src in srcs:  # proven copies kept, nothing else under a final name
        final = stored / src.name
        assert not final.exists() or final.read_bytes() == src.read_bytes()

    sftp_server.start()
    again = run_copy(CopyRequest(sources=srcs, destinations=[], remotes=(spec,)), ListSink())
    s = again.summary
    assert (s.verified + s.skipped, s.failed) == (20, 0), s
    for src in srcs:
        assert (stored / src.name).read_bytes() == src.read_bytes()


def _with_hooks(request: CopyRequest, hooks: CopyHooks) -> CopyRequest:
    from dataclasses import replace

    return replace(request, hooks=hooks)


def test_network_cut_mid_copy_then_rerun(daemon, s3_server: RcloneServer, tmp_path):
    """The S3 server stops answering mid-copy (its process stopped, its port gone), in
    the grouped small-file path (whose uploads run on a thread of their own: files read
    before the cut may or may not have been sent; the one-file path's cut is the killed
    sshd above)."""
    grouped = True
    spec = s3_server.create_remote(daemon, "cloud")
    srcs = [_source(tmp_path, f"f{i}.tif", 3 * MiB) for i in range(4)]
    cut = threading.Event()

    def before_file(task: FileTask) -> None:
        if task.source.name == "f2.tif" and not cut.is_set():
            cut.set()
            s3_server.kill()

    sink = ListSink()
    request = CopyRequest(
        sources=srcs, destinations=[], remotes=(spec,), workers=1, group_small_files=grouped
    )
    result = run_copy(_with_hooks(request, CopyHooks(before_file=before_file)), sink)
    failed = [e for e in sink.events if isinstance(e, CopyFailed)]
    done = result.summary.verified
    assert done + len(failed) == 4 and {f.source.name for f in failed} >= {"f2.tif", "f3.tif"}
    if not grouped:
        assert done == 2
    assert all(spec in f.detail and "connection" in f.detail for f in failed), failed[0]
    assert all("run the copy again" in f.next_step for f in failed)
    stored = s3_server.data / "bucket" / "dest"
    for src in srcs:  # nothing wrong under a final name
        final = stored / src.name
        assert not final.exists() or final.read_bytes() == src.read_bytes()

    s3_server.start()
    again = run_copy(request, ListSink())
    # copies published before the cut are proven again and kept (not re-uploaded); the
    # manifest could not be written while the server was down, so they count as verified
    assert (again.summary.verified, again.summary.failed) == (4, 0), again.summary
    assert again.summary.bytes_copied == (4 - done) * 3 * MiB
    assert sorted(p.name for p in stored.glob("*.tif")) == [s.name for s in srcs]
    for src in srcs:
        assert (stored / src.name).read_bytes() == src.read_bytes()


def test_wrong_credentials_refuse_the_destination(daemon, webdav_server, tmp_path):
    spec = webdav_server.create_remote(daemon, "dav", password="not-the-password")
    local = tmp_path / "local"
    local.mkdir()
    src = _source(tmp_path, "a.tif", 1000)
    sink = ListSink()
    result = run_copy(CopyRequest(sources=[src], destinations=[local], remotes=(spec,)), sink)
    [refused] = [e for e in sink.events if isinstance(e, DestinationRefused)]
    assert spec in refused.detail and "refused the sign-in" in refused.detail
    assert "sign in again" in refused.next_step
    assert result.summary.verified == 1  # the local copy went ahead
    assert (local / "a.tif").exists()


def test_unknown_remote_and_malformed_path_are_refused(daemon, tmp_path):
    src = _source(tmp_path, "a.tif", 10)
    name = f"nosuch{uuid.uuid4().hex[:6]}"
    for spec, words in ((f"{name}:lab", "No remote named"), ("research:a/../../b", "not allowed")):
        result = run_copy(CopyRequest(sources=[src], destinations=[], remotes=(spec,)), ListSink())
        assert result.error is not None, spec
        assert spec in result.error.detail and words in result.error.detail, result.error
        assert result.error.next_step


def test_a_lying_server_is_caught_and_nothing_is_published(daemon, sftp_server, tmp_path):
    """The server's b3sum tells the truth for the probe and lies for every copy: each
    copy fails its proof, is removed, and never gets its final name."""
    liar = _script(
        tmp_path,
        "b3sum-liar",
        'case "$1" in *almc-probe*) exec b3sum "$1";; esac\necho "' + "cd" * 32 + '  $1"',
    )
    spec = sftp_server.create_remote(
        daemon, "liar", blake3sum_command=str(liar), sha256sum_command="none"
    )
    src = _source(tmp_path, "x.nd2", 200_000)
    sink = ListSink()
    result = run_copy(CopyRequest(sources=[src], destinations=[], remotes=(spec,)), sink)
    failed = [e for e in sink.events if isinstance(e, CopyFailed)]
    assert result.summary.verified == 0 and failed
    assert (
        "does not match" in failed[-1].detail
        and "BLAKE3 computed by the server" in failed[-1].detail
    )
    assert not (sftp_server.data / "dest" / "x.nd2").exists()
    _no_partials(sftp_server.data / "dest")


@pytest.mark.root
def test_remote_disk_full_then_rerun_after_space(daemon, sftp_server: SshServer, tmp_path):
    if not IS_ROOT:
        pytest.skip("needs root to mount a small tmpfs as the server's disk")
    folder = sftp_server.data / "dest"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "almc-full", str(folder)], check=True)
    try:
        spec = sftp_server.create_remote(daemon, "research")
        small = _source(tmp_path, "small.tif", 100_000)
        big = _source(tmp_path, "big.nd2", 6 * MiB)
        sink = ListSink()
        result = run_copy(
            CopyRequest(sources=[small, big], destinations=[], remotes=(spec,), workers=1), sink
        )
        refused = [e for e in sink.events if isinstance(e, DestinationRefused)]
        assert result.error is not None or refused
        detail = result.error.detail if result.error else refused[0].detail
        assert spec in detail and "free space" in detail
        assert not (folder / "big.nd2").exists() and not (folder / "small.tif").exists()
        # the copy of the small file alone fits: a rerun with it finishes
        again = run_copy(CopyRequest(sources=[small], destinations=[], remotes=(spec,)), ListSink())
        assert again.summary.verified == 1
        _no_partials(folder)
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


@pytest.mark.root
def test_remote_disk_fills_during_the_copy(daemon, sftp_server: SshServer, tmp_path):
    """The free space looked enough, then another writer filled the disk: the upload
    fails with "full", nothing is published, the partial is gone."""
    if not IS_ROOT:
        pytest.skip("needs root to mount a small tmpfs as the server's disk")
    folder = sftp_server.data / "dest"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "almc-full", str(folder)], check=True)
    try:
        spec = sftp_server.create_remote(daemon, "research")
        big = _source(tmp_path, "big.nd2", 6 * MiB)
        filled = threading.Event()

        def on_chunk(task: FileTask, done: int) -> None:
            if not filled.is_set():
                filled.set()
                (folder / "other-writer.bin").write_bytes(b"x" * (6 * MiB))

        sink = ListSink()
        request = CopyRequest(sources=[big], destinations=[], remotes=(spec,), chunk_size=MiB)
        result = run_copy(_with_hooks(request, CopyHooks(on_chunk=on_chunk)), sink)
        failed = [e for e in sink.events if isinstance(e, CopyFailed)]
        assert result.summary.verified == 0 and failed
        assert spec in failed[-1].detail and "full" in failed[-1].detail, failed[-1].detail
        assert not (folder / "big.nd2").exists()
        _no_partials(folder)
        (folder / "other-writer.bin").unlink()
        again = run_copy(request, ListSink())
        assert again.summary.verified == 1
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def test_daemon_is_stopped_after_the_job(daemon: RcDaemon, sftp_server, tmp_path):
    spec = sftp_server.create_remote(daemon, "research")
    before = {t.name for t in threading.enumerate()}
    src = _source(tmp_path, "a.tif", 10)
    run_copy(CopyRequest(sources=[src], destinations=[], remotes=(spec,)), ListSink())
    assert {t.name for t in threading.enumerate()} - before == set()


def test_slow_link_finishes_verified(daemon, tmp_path: Path):
    """A server behind a slow link (rclone's own bandwidth limit on the WebDAV server,
    both ways: no netem here) makes the copy slower, never wrong nor timed out."""
    slow = RcloneServer(tmp_path / "slow", "webdav", "--bwlimit", "2M")
    try:
        spec = slow.create_remote(daemon, "slowdav")
        src = _source(tmp_path, "a.tif", 5 * MiB)
        sink = ListSink()
        result = run_copy(CopyRequest(sources=[src], destinations=[], remotes=(spec,)), sink)
        assert (result.summary.verified, result.summary.failed) == (1, 0), result.summary
        [verified] = [e for e in sink.events if isinstance(e, CopyVerified)]
        assert verified.copy.proof_kind == "downloaded-back"
        assert (slow.data / "dest" / "a.tif").read_bytes() == src.read_bytes()
    finally:
        slow.kill()

"""One rclone daemon per service, not per job (real rclone, real sshd on loopback): started
once when a remote is first opened, reused by the next jobs, started again if it died,
stopped with its owner; a remote whose settings changed is not served from a stale
connection."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.remote.session import RemoteSession
from almc_assistant.core.service import Service
from almc_assistant.core.transfer import CopyRequest, DestinationRefused, run_copy
from tests.core.remote.servers import SshServer


def _files(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        out.append(folder / f"f{i}.tif")
        out[-1].write_bytes(os.urandom(5000 + i))
    return out


def _pid(session: RemoteSession) -> int:
    proc = session.daemon()._proc
    assert proc is not None
    return proc.pid


def test_jobs_share_one_daemon_restarted_if_it_died(daemon, sftp_server, tmp_path):
    spec = sftp_server.create_remote(daemon, "research")
    session = RemoteSession()
    try:
        for i in range(2):
            files = _files(tmp_path / f"run{i}", 2)
            request = CopyRequest(
                sources=files, destinations=[], remotes=(spec,), remote_session=session
            )
            assert run_copy(request, ListSink()).summary.verified == 2
        assert session.starts == 1  # the second job found it running
        first = _pid(session)

        os.kill(first, signal.SIGKILL)  # the helper died between jobs
        while session._daemon is not None and session._daemon.running:
            time.sleep(0.01)
        files = _files(tmp_path / "run2", 2)
        request = CopyRequest(
            sources=files, destinations=[], remotes=(spec,), remote_session=session
        )
        assert run_copy(request, ListSink()).summary.verified == 2
        assert session.starts == 2 and _pid(session) != first
    finally:
        session.stop()
    assert session._daemon is None
    assert not [t for t in threading.enumerate() if t.name == "almc-rclone"]


def test_changed_settings_are_not_served_from_a_stale_connection(daemon, sftp_server, tmp_path):
    spec = sftp_server.create_remote(daemon, "research")
    session = RemoteSession()
    try:
        files = _files(tmp_path / "a", 1)
        request = CopyRequest(
            sources=files, destinations=[], remotes=(spec,), remote_session=session
        )
        assert run_copy(request, ListSink()).summary.verified == 1
        # Settings now name a key the server does not know (written by another process)
        other = tmp_path / "other-key"
        os.system(f"ssh-keygen -q -t ed25519 -N '' -f {other}")
        daemon.call("config/update", name="research", parameters={"key_file": str(other)})
        sink = ListSink()
        result = run_copy(
            CopyRequest(
                sources=_files(tmp_path / "b", 1),
                destinations=[],
                remotes=(spec,),
                remote_session=session,
            ),
            sink,
        )
        refused = [e for e in sink.events if isinstance(e, DestinationRefused)]
        assert result.error is not None or refused, result.summary
        detail = result.error.detail if result.error else refused[0].detail
        assert "refused the sign-in" in detail
        assert session.starts == 1
    finally:
        session.stop()


def test_the_service_keeps_one_daemon_for_its_jobs_and_stops_it(
    daemon, sftp_server: SshServer, tmp_path: Path
) -> None:
    spec = sftp_server.create_remote(daemon, "research")
    paths = AppPaths.default()
    service = Service(paths, ListSink())
    try:
        for i in range(2):
            job = service.start_copy(_files(tmp_path / f"s{i}", 2), [spec], record=False)
            result = job.wait(120)
            assert result is not None and result.summary.verified == 2, result
        session = service.copying._remote
        assert session is not None and session.starts == 1
        report = service.verify_destination(spec)
        assert len(report.matched) == 4
        assert session.starts == 1
        running = session.daemon()
    finally:
        service.stop()
    assert not running.running


def test_the_daemon_dies_with_the_app_even_when_a_worker_started_it(tmp_path):
    """The app killed outright (no atexit): the daemon a job's thread started lazily is
    killed too (Linux: it belongs to the session's keeper thread, PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    script = (
        "import sys, threading, time\n"
        "from pathlib import Path\n"
        "from almc_assistant.core.remote.session import RemoteSession\n"
        f"session = RemoteSession(Path({str(tmp_path / 'conf' / 'rclone.conf')!r}))\n"
        "t = threading.Thread(target=session.daemon)\n"
        "t.start(); t.join()\n"
        "print(session.daemon()._proc.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    app = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert app.stdout is not None
        pid = int(app.stdout.readline())
        os.kill(pid, 0)  # running
    finally:
        app.kill()
        app.wait()
        if app.stdout is not None:
            app.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"rclone {pid} outlived the app")

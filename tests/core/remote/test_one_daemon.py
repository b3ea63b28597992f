"""The service runs ONE rclone daemon for everything remote: copies, the import of the
receipts at a remote destination and cleanup's proof of remote copies all use it (issue
13). Counted as real child processes: every ``rclone rcd`` this process starts (spied on
at ``subprocess.Popen``) and those alive under it (``/proc``). Against sshd on loopback;
the workstation's disks are tmpfs (root; skipped otherwise)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from almc_assistant.core.cleanup import Action
from almc_assistant.core.errors import ServiceStopped
from almc_assistant.core.events import ListSink
from almc_assistant.core.policy import DAY
from almc_assistant.core.receipts import remote_receipts
from almc_assistant.core.remote.session import RemoteSession
from almc_assistant.core.service import Service
from tests.core.remote.helpers import research_and_drive, wait_safe
from tests.core.remote.servers import SshServer

pytestmark = pytest.mark.root


class _Spawned:
    """Every ``rclone rcd`` started through ``subprocess.Popen`` while installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.daemons: list[list[str]] = []
        real = subprocess.Popen
        spawned = self

        class Spy(real):  # type: ignore[valid-type, misc]
            def __init__(self, args: list[str], *a: object, **kw: object) -> None:
                if "rcd" in [str(x) for x in args]:
                    spawned.daemons.append([str(x) for x in args])
                super().__init__(args, *a, **kw)

        monkeypatch.setattr(subprocess, "Popen", Spy)  # rcd starts its daemon so


def _live_daemons() -> set[int]:
    """The ``rclone rcd`` processes alive under this process (any of its threads'
    children: the service starts its daemon on a keeper thread)."""
    me = Path("/proc/self/task")
    found: set[int] = set()
    for task in me.iterdir():
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for kid in kids:
            try:
                argv = Path(f"/proc/{kid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"rclone") and b"rcd" in argv:
                found.add(int(kid))
    return found


def test_copy_receipts_import_and_cleanup_share_the_service_daemon(
    daemon,
    sftp_server: SshServer,
    tmp_path: Path,
    other_disk: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = sftp_server.create_remote(daemon, "research")  # the test's own daemon sets it up
    ws = research_and_drive(spec, tmp_path, other_disk)
    paths, src, usb = ws.paths, ws.src, ws.usb
    before = _live_daemons()
    assert len(before) == 1, before  # the fixture's
    spawned = _Spawned(monkeypatch)
    now = [time.time()]
    service = Service(paths, ListSink(), clock=lambda: now[0])
    try:
        service.scan_once()
        [remote] = service.config.remote_destinations
        job = service.start_copy([src], [remote, usb], record=False)  # the CLI's copy
        assert job.wait(120) is not None
        assert service.import_receipts() == 2  # at the drive and at the remote
        wait_safe(service, src)
        now[0] += 40 * DAY
        (item,) = service.plan_cleanup().items
        assert item.action is Action.DELETE, item.reason
        (done,) = service.apply_cleanup(service.plan_cleanup()).deleted
        assert done.path == src and not src.exists()
        assert f"the copy at {spec}/a.nd2 proven again" in done.reason

        assert len(spawned.daemons) == 1, spawned.daemons
        ours = _live_daemons() - before
        assert len(ours) == 1, ours  # still running: the service owns it until stop
        assert service.copying.remote_session().starts == 1
    finally:
        service.stop()
    assert _live_daemons() == before, "the service's daemon stops with the service"
    with pytest.raises(ServiceStopped):  # a late caller starts none that nobody stops
        service.copying.remote_session()
    assert len(spawned.daemons) == 1


def test_receipts_read_on_a_given_session_leave_it_running(
    daemon, sftp_server: SshServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = sftp_server.create_remote(daemon, "research")
    session = RemoteSession()
    spawned = _Spawned(monkeypatch)
    try:
        assert remote_receipts([spec], lambda _key: False, session=session) == []
        assert remote_receipts([spec], lambda _key: False, session=session) == []
        assert session.starts == 1 and session.daemon().running
        assert len(spawned.daemons) == 1
    finally:
        session.stop()
    assert remote_receipts([spec], lambda _key: False) == []  # its own: started, stopped
    assert len(spawned.daemons) == 2

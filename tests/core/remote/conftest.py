"""Fixtures: a private rclone daemon per test and real servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.remote.rcd import RcDaemon
from almc_assistant.core.remote.rclonebin import RcloneMissing
from almc_assistant.core.remote.spec import PrivateRcloneConfig
from almc_assistant.core.service import Service
from tests.core.remote.servers import RcloneServer, SambaServer, SshServer


@pytest.fixture
def rclone_config() -> PrivateRcloneConfig:
    conf = PrivateRcloneConfig(AppPaths.default().config_dir)
    conf.ensure()
    return conf


@pytest.fixture
def setup_service() -> Iterator[tuple[Service, ListSink]]:
    """A service whose remote set-ups run inline (their answers are in the sink)."""
    sink = ListSink()
    s = Service(AppPaths.default(), sink, inline=True)
    yield s, sink
    s.stop()


@pytest.fixture
def daemon(rclone_config: PrivateRcloneConfig) -> Iterator[RcDaemon]:
    d = RcDaemon(rclone_config.path)
    try:
        d.start()
    except RcloneMissing as exc:
        pytest.skip(str(exc))
    yield d
    d.stop()


@pytest.fixture
def sftp_server(tmp_path: Path) -> Iterator[SshServer]:
    server = SshServer(tmp_path / "sshd")
    yield server
    server.kill()


@pytest.fixture
def sftp_remote(daemon: RcDaemon, sftp_server: SshServer) -> str:
    """Remote ``research`` in the private rclone.conf, on the SFTP server: its spec."""
    return sftp_server.create_remote(daemon, "research")


@pytest.fixture
def s3_server(tmp_path: Path) -> Iterator[RcloneServer]:
    server = RcloneServer(tmp_path / "s3", "s3")
    yield server
    server.kill()


@pytest.fixture
def webdav_server(tmp_path: Path) -> Iterator[RcloneServer]:
    server = RcloneServer(tmp_path / "webdav", "webdav")
    yield server
    server.kill()


@pytest.fixture
def smb_server(tmp_path: Path) -> Iterator[SambaServer]:
    server = SambaServer(tmp_path / "smb")
    yield server
    server.kill()

"""Remote destinations in the TOML (a spec only) and the private rclone.conf (secrets)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from almc_assistant.core.config import UserSettings, load_config, save_user_config
from almc_assistant.core.destinations import DestinationKind
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.privatefs import UnsafeStateError
from almc_assistant.core.remote.spec import PrivateRcloneConfig, parse_remote
from tests.portable import WINDOWS

USER = """
[[destinations]]
name = "Lab share"
path = "/mnt/lab"
kind = "institutional"

[[destinations]]
name = "PetaLibrary"
kind = "research"
remote = "research:lab/me"

[[destinations]]
name = "Broken"
remote = "no colon here"
"""


def test_remote_destination_read_kept_apart_and_saved() -> None:
    paths = AppPaths.default().ensure()
    paths.user_config.write_text(USER)
    config = load_config(paths)

    assert [d.name for d in config.destinations] == ["Lab share"]  # folders only
    [remote] = config.remote_destinations
    assert remote.remote == "research:lab/me" and remote.kind is DestinationKind.RESEARCH
    assert remote.is_remote and remote.cloud_provider is None
    assert parse_remote(remote.remote).fs("day1") == "research:lab/me/day1"
    assert any("no colon here" in str(p) and "ignored" in str(p) for p in config.problems)

    # a front end that does not edit remotes (today's settings dialog) keeps them
    save_user_config(paths, UserSettings(destinations=config.user.destinations))
    again = load_config(paths)
    assert [d.remote for d in again.remote_destinations] == ["research:lab/me"]
    assert "token" not in paths.user_config.read_text().lower()
    # removing them is explicit
    save_user_config(paths, UserSettings(destinations=config.user.destinations, remotes=()))
    assert load_config(paths).remote_destinations == ()


@pytest.mark.skipif(WINDOWS, reason="POSIX only: mode bits (0600) and O_NOFOLLOW links")
def test_private_rclone_config_is_0600_and_refuses_links(tmp_path: Path) -> None:
    conf = PrivateRcloneConfig(AppPaths.default().config_dir)
    conf.ensure()
    assert conf.mode() == 0o600
    assert stat.S_IMODE(conf.folder.stat().st_mode) == 0o700
    conf.path.chmod(0o644)
    conf.check()
    assert conf.mode() == 0o600

    elsewhere = tmp_path / "planted"
    elsewhere.write_text("")
    conf.path.unlink()
    conf.path.symlink_to(elsewhere)
    with pytest.raises(UnsafeStateError) as caught:
        conf.ensure()
    assert "rclone.conf" in caught.value.detail and "link" in caught.value.detail


def test_daemon_writes_secrets_only_to_the_private_config(daemon, rclone_config) -> None:
    """rclone rewrites the file when a remote is created: still 0600, password obscured."""
    daemon.call(
        "config/create",
        name="dav",
        type="webdav",
        parameters={"url": "http://127.0.0.1:9", "user": "me", "pass": "plain-secret"},
        opt={"nonInteractive": True, "obscure": True},
    )
    rclone_config.check()
    assert rclone_config.mode() == 0o600
    text = rclone_config.path.read_text()
    assert "[dav]" in text and "plain-secret" not in text
    # the daemon's own credentials are not on its command line (readable by others)
    cmdline = Path(f"/proc/{daemon._proc.pid}/cmdline").read_bytes()
    assert daemon.password.encode() not in cmdline and daemon.user.encode() not in cmdline

"""known_hosts is written by one writer at a time across processes (the tray's engine and
a command-line run at once): two real processes pinning keys together lose none, a
writer that finds the lock held too long says so clearly and changes nothing, and a
link planted at the lock's name is refused. Real processes, real files."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from almc_assistant.core.privatefs import POSIX as IS_POSIX
from almc_assistant.core.remote import hostkey
from almc_assistant.core.remote.faults import RemoteError
from tests.integration.test_copy_cli import SRC_DIR

WRITER = """
import base64, os, sys, time
from pathlib import Path
from almc_assistant.core.remote.hostkey import HostKey, KnownHosts

folder, first, count, go = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
hosts = KnownHosts(folder)
print("ready", flush=True)
while not go.exists():  # both writers start together
    time.sleep(0.001)
for port in range(first, first + count):
    blob = base64.b64encode(os.urandom(51)).decode()
    hosts.pin(HostKey("127.0.0.1", port, "ssh-ed25519", blob), f"remote{port}")
print("done", flush=True)
"""

HOLDER = """
import sys
from pathlib import Path
from almc_assistant.core import filelock

with filelock.holding(Path(sys.argv[1]), wait_s=30):
    print("held", flush=True)
    sys.stdin.readline()  # until the test lets go
"""


def _python(code: str, *args: object, stdin: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC_DIR)},
    )


def _key(port: int) -> hostkey.HostKey:
    blob = base64.b64encode(os.urandom(51)).decode()
    return hostkey.HostKey("127.0.0.1", port, "ssh-ed25519", blob)


def test_two_processes_pinning_at_once_lose_no_key(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    go = tmp_path / "go"
    count = 40
    writers = [_python(WRITER, folder, first, count, go) for first in (10_000, 20_000)]
    try:
        for w in writers:
            assert w.stdout is not None and w.stdout.readline().strip() == "ready"
        go.touch()
        results = [w.communicate(timeout=300) for w in writers]
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
                w.communicate()
    for w, (out, err) in zip(writers, results, strict=True):
        assert w.returncode == 0 and out.strip() == "done", err
    lines = (folder / hostkey.KNOWN_HOSTS).read_text().splitlines()
    ports = sorted(int(line.split()[0].rpartition(":")[2]) for line in lines)
    expected = [*range(10_000, 10_000 + count), *range(20_000, 20_000 + count)]
    assert ports == expected  # every key of both processes, each once
    hosts = hostkey.KnownHosts(folder)
    for line in lines:
        address, key_type, blob, comment = line.split()
        port = int(address.rpartition(":")[2])
        assert hosts.pinned("127.0.0.1", port) == hostkey.HostKey("127.0.0.1", port, key_type, blob)
        assert comment == f"almc-assistant:remote{port}"
    assert sorted(p.name for p in folder.iterdir()) == [hostkey.KNOWN_HOSTS, hostkey.LOCK]
    if IS_POSIX:
        assert (folder / hostkey.KNOWN_HOSTS).stat().st_mode & 0o777 == 0o600


def test_a_lock_held_too_long_by_another_process_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "config"
    hosts = hostkey.KnownHosts(folder)
    hosts.pin(_key(2222), "research")
    before = hosts.path.read_bytes()
    holder = _python(HOLDER, folder / hostkey.LOCK, stdin=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        monkeypatch.setattr(hostkey, "LOCK_WAIT_S", 0.3)
        started = time.monotonic()
        with pytest.raises(RemoteError) as caught:
            hosts.pin(_key(2223), "other")
        assert time.monotonic() - started < 30  # gave up, never hung
        err = caught.value
        assert err.title == "Server key not saved" and err.final
        assert str(hosts.path) in err.detail and "other almc-assistant" in err.detail
        assert "try again" in err.next_step
        assert hosts.path.read_bytes() == before  # nothing changed meanwhile
    finally:
        _out, err_text = holder.communicate(input="\n", timeout=60)  # let go
    assert holder.returncode == 0, err_text
    hosts.pin(_key(2223), "other")  # free again: saved
    assert hosts.pinned("127.0.0.1", 2223) is not None
    assert hosts.pinned("127.0.0.1", 2222) is not None


@pytest.mark.skipif(not IS_POSIX, reason="a planted symbolic link is POSIX's case here")
def test_a_link_planted_at_the_lock_s_name_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir(mode=0o700)
    target = tmp_path / "elsewhere"
    target.write_text("not ours")
    (folder / hostkey.LOCK).symlink_to(target)
    hosts = hostkey.KnownHosts(folder)
    with pytest.raises(RemoteError) as caught:
        hosts.pin(_key(2222), "research")
    assert str(folder / hostkey.LOCK) in caught.value.detail
    assert "Remove" in caught.value.next_step
    assert not hosts.path.exists() and target.read_text() == "not ours"

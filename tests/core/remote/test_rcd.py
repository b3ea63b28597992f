"""The private rclone daemon: loopback only, its own credentials, the pinned binary only."""

from __future__ import annotations

import base64
import http.client
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.remote import rclonebin
from almc_assistant.core.remote.rcd import RcDaemon
from almc_assistant.core.remote.spec import PrivateRcloneConfig


def _post(port: int, auth: str | None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    try:
        conn.request("POST", "/config/listremotes", body=json.dumps({}), headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()


def test_daemon_needs_its_own_credentials(daemon: RcDaemon) -> None:
    assert _post(daemon.port, None) == 401
    wrong = "Basic " + base64.b64encode(f"{daemon.user}:guess".encode()).decode()
    assert _post(daemon.port, wrong) == 401
    assert _post(daemon.port, daemon.authorization) == 200
    port = f":{daemon.port:04X}"
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    listening = {r[1] for r in rows if r[1].endswith(port) and r[3] == "0A"}  # LISTEN
    assert listening == {"0100007F" + port}  # 127.0.0.1 only


def test_daemon_stops_and_a_second_stop_is_harmless(daemon: RcDaemon) -> None:
    daemon.stop()
    assert not daemon.running
    daemon.stop()


def test_unpinned_binary_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "rclone"
    fake.write_text("#!/bin/sh\necho rclone v1.60.1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(rclonebin, "candidates", lambda: [fake])
    with pytest.raises(rclonebin.RcloneMissing) as caught:
        rclonebin.rclone_binary()
    assert str(fake) in caught.value.detail and "not the pinned build" in caught.value.detail
    assert "requirements/app.txt" in caught.value.next_step


def test_a_start_the_system_refuses_is_tried_again_then_a_clear_error(
    rclone_config: PrivateRcloneConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starting the process fails (Wine's CreateProcess sometimes answers 1359, "Internal
    error", under load; not reachable on Linux, so ``Popen`` is made to fail): the next
    try starts the real daemon; if every try fails, a clear error, not a raw ``OSError``."""
    real = subprocess.Popen
    calls: list[int] = []

    def refuse_first(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise OSError(22, "Internal error (simulated)")
        return real(*args, **kw)

    monkeypatch.setattr(subprocess, "Popen", refuse_first)
    d = RcDaemon(rclone_config.path)
    try:
        d.start()
    except rclonebin.RcloneMissing as exc:
        pytest.skip(str(exc))
    try:
        assert len(calls) == 2 and d.running
        assert _post(d.port, d.authorization) == 200
    finally:
        d.stop()

    def refuse(*args: Any, **kw: Any) -> Any:
        raise OSError(22, "Internal error (simulated)")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    with pytest.raises(AlmcError) as caught:
        RcDaemon(rclone_config.path).start()
    assert "did not start" in str(caught.value) and "Internal error" in str(caught.value)

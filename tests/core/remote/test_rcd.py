"""The private rclone daemon: loopback only, its own credentials, the pinned binary only."""

from __future__ import annotations

import base64
import http.client
import json
from pathlib import Path

import pytest

from almc_assistant.core.remote import rclonebin
from almc_assistant.core.remote.rcd import RcDaemon


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

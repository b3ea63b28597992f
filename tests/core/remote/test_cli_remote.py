"""`almc-assistant copy --to NAME:path` and `verify NAME:path` through a real subprocess,
against sshd on loopback (server-side BLAKE3), with the proof said in the output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from almc_assistant.core.remote.rcd import RcDaemon
from almc_assistant.core.transfer.naming import MANIFEST_NAME
from tests.core.remote.servers import SshServer
from tests.integration.test_copy_cli import cli, make_run


def test_copy_to_local_and_sftp_then_verify(daemon: RcDaemon, sftp_server: SshServer, tmp_path):
    spec = sftp_server.create_remote(daemon, "research")
    run = make_run(tmp_path / "src")
    local = tmp_path / "local"

    proc = cli("copy", run, "--to", local, "--to", spec, "--json", check_json=True)

    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] and doc["summary"]["verified"] == 4, doc
    remote_rows = [v for v in doc["verified"] if v["destination"].startswith(spec)]
    assert {v["proof"] for v in remote_rows} == {"server-blake3"}
    assert {v["proof"] for v in doc["verified"] if v not in remote_rows} == {"read-back"}
    root = sftp_server.data / "dest"
    assert (root / "run1/a.nd2").read_bytes() == (run / "a.nd2").read_bytes()
    if shutil.which("b3sum"):  # the remote manifest checks with the standard tool
        check = subprocess.run(
            ["b3sum", "--check", MANIFEST_NAME], cwd=root, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr

    human = cli("verify", spec)
    assert human.returncode == 0, human.stdout + human.stderr
    assert "BLAKE3 computed by the server" in human.stdout and "all good" in human.stdout

    data = bytearray((root / "run1/a.nd2").read_bytes())
    data[10] ^= 1
    (root / "run1/a.nd2").write_bytes(bytes(data))
    bad = cli("verify", spec, "--json", check_json=True)
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["differing"] == ["run1/a.nd2"] and report["matched"] == 1


def test_copy_human_output_names_the_proof(daemon, sftp_server: SshServer, tmp_path):
    spec = sftp_server.create_remote(daemon, "research")
    run = make_run(tmp_path / "src")
    proc = cli("copy", run, "--to", spec)
    assert proc.returncode == 0, proc.stderr
    assert f"proof at {spec}: BLAKE3 computed by the server" in proc.stdout


def test_unknown_remote_is_a_clear_error(daemon, tmp_path: Path):
    src = tmp_path / "a.tif"
    src.write_bytes(os.urandom(10))
    name = f"nosuch{uuid.uuid4().hex[:6]}"
    proc = cli("copy", src, "--to", f"{name}:lab/me")
    assert proc.returncode != 0
    assert f"{name}:lab/me" in proc.stderr and "Traceback" not in proc.stderr
    assert "Settings" in proc.stderr


@pytest.mark.parametrize("spec", ["research:a/../../b"])
def test_malformed_remote_path_is_a_clear_error(daemon, tmp_path: Path, spec: str):
    src = tmp_path / "a.tif"
    src.write_bytes(os.urandom(10))
    proc = cli("copy", src, "--to", spec)
    assert proc.returncode != 0
    assert "not allowed" in proc.stderr and "Traceback" not in proc.stderr

"""The copy engine drives remote destinations through the one per-file pipeline: a local
and an SFTP destination in one job (one read), the proof in the receipt, the remote
manifest, a rerun that finds everything already verified."""

from __future__ import annotations

import json
import os
from pathlib import Path

from almc_assistant.core.events import ListSink
from almc_assistant.core.remote.rcd import RcDaemon
from almc_assistant.core.transfer import CopyRequest, CopyVerified, run_copy
from almc_assistant.core.transfer.naming import MANIFEST_NAME, RECEIPTS_DIR
from tests.core.remote.servers import SshServer


def _tree(root: Path) -> dict[str, bytes]:
    files = {"a.nd2": 3 * 1024 * 1024 + 7, "run/b.tif": 1000, "run/c.tif": 0}
    out = {}
    for rel, size in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = os.urandom(size)
        path.write_bytes(data)
        out[rel] = data
    return out


def test_local_and_sftp_in_one_job(daemon: RcDaemon, sftp_server: SshServer, tmp_path: Path):
    spec = sftp_server.create_remote(daemon, "research")
    src = tmp_path / "src"
    data = _tree(src)
    local = tmp_path / "local"
    local.mkdir()
    sink = ListSink()
    request = CopyRequest(
        sources=[src / "a.nd2", src / "run"],
        destinations=[local],
        remotes=(spec,),
        chunk_size=1 << 20,
    )
    result = run_copy(request, sink)
    assert result.error is None, result.error
    s = result.summary
    assert (s.verified, s.failed) == (6, 0), s
    remote_root = sftp_server.data / "dest"
    for rel, content in data.items():
        assert (local / rel).read_bytes() == content
        assert (remote_root / rel).read_bytes() == content
    verified = [e for e in sink.events if isinstance(e, CopyVerified)]
    remote_events = [e.copy for e in verified if str(e.copy.destination_root) == spec]
    assert len(remote_events) == 3
    assert all("BLAKE3 computed by the server" in e.read_back for e in remote_events)
    manifest = (remote_root / MANIFEST_NAME).read_text()
    assert "a.nd2" in manifest and "run/b.tif" in manifest
    [receipt] = (remote_root / RECEIPTS_DIR).glob("*.json")
    doc = json.loads(receipt.read_text())
    assert {r["proof"]["proof"] for r in doc["verified"]} == {"server-blake3"}
    assert all(r["proof"]["verified"] for r in doc["verified"])
    assert not [p for p in remote_root.rglob("*") if "partial" in p.name]

    again = run_copy(request, ListSink())
    assert (again.summary.verified, again.summary.skipped, again.summary.failed) == (0, 6, 0)

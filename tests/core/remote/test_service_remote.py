"""The service's copy entry point takes a configured remote destination (the GUI's path):
the copy is recorded in the catalog under the remote, and the policy counts it by the
destination's kind (research storage keeps one copy: a second is needed)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from almc_assistant.core.events import ListSink
from almc_assistant.core.service import Service
from tests.core.remote.helpers import facility_with_remote
from tests.core.remote.servers import SshServer


def test_configured_remote_destination_through_the_service(
    daemon, sftp_server: SshServer, tmp_path: Path
) -> None:
    spec = sftp_server.create_remote(daemon, "research")
    acq = tmp_path / "acq"
    acq.mkdir()
    paths = facility_with_remote(spec, acq)
    a = acq / "a.nd2"
    a.write_bytes(b"x" * 70_000)
    old = time.time() - 3600
    os.utime(a, (old, old))
    service = Service(paths, ListSink())
    try:
        service.scan_once()
        [remote] = service.config.remote_destinations
        job = service.start_copy([a], [remote])
        result = job.wait(120)
        assert result is not None and result.summary.verified == 1, result
        service.recorder.flush()
        record = service.catalog.file(a)
        assert record is not None
        assert [str(c.destination_root) for c in record.copies] == [spec]
        assert not record.safe, "research storage alone keeps one copy: not safe yet"
    finally:
        service.stop()
    assert (sftp_server.data / "dest" / "a.nd2").read_bytes() == a.read_bytes()

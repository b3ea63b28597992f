"""The remote manifest: two jobs merging at once lose no line (a test seam forces the
worst interleaving: one job merges completely between the other's read and write)."""

from __future__ import annotations

from datetime import timedelta

from almc_assistant.core.remote import rclone_backend
from almc_assistant.core.transfer.manifest import parse_line
from almc_assistant.core.transfer.naming import MANIFEST_NAME, RECEIPTS_DIR
from tests.core.remote.helpers import backend
from tests.core.remote.servers import SshServer

A = [(f"a/{i}.tif", f"{i:064x}") for i in range(3)]
B = [(f"b/{i}.tif", f"{i + 100:064x}") for i in range(3)]


def _root_lines(server: SshServer) -> dict[str, str]:
    text = (server.data / "dest" / MANIFEST_NAME).read_text()
    return {p[1]: p[0] for line in text.splitlines() if (p := parse_line(line))}


def test_two_jobs_merging_at_once_lose_no_line(daemon, sftp_server: SshServer):
    spec = sftp_server.create_remote(daemon, "research")
    first, second = backend(daemon, spec), backend(daemon, spec)
    first.record(A)
    second.record(B)
    fired: list[bool] = []

    def other_job_merges_now() -> None:
        if not fired:
            fired.append(True)
            second.close()

    first._merge_hook = other_job_merges_now
    first.close()

    assert fired
    want = dict(A) | dict(B)
    assert _root_lines(sftp_server) == want  # the root file itself has every line
    assert backend(daemon, spec).read_manifest() == want


def test_old_merged_parts_are_removed_young_ones_kept(daemon, sftp_server, monkeypatch):
    spec = sftp_server.create_remote(daemon, "research")
    first = backend(daemon, spec)
    first.record(A)
    first.close()
    parts = sorted((sftp_server.data / "dest" / RECEIPTS_DIR).glob("*.manifest.b3sum"))
    assert len(parts) == 1  # young: kept, though merged

    monkeypatch.setattr(rclone_backend, "PART_GRACE", timedelta(seconds=-1))
    later = backend(daemon, spec)
    later.record(B)
    later.close()
    assert not list((sftp_server.data / "dest" / RECEIPTS_DIR).glob("*.manifest.b3sum"))
    assert _root_lines(sftp_server) == dict(A) | dict(B)

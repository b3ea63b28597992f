"""Places on a remote are named with ``/`` on every system (``core.remotepaths``): the
copy engine's events, the receipt and manifest it writes there, a "keep both" name, the
catalog's record of the copy and ``verify``. A real rclone daemon and a real remote (the
``local`` backend on a folder here: the remote's path is built by our code as for SFTP or
S3); in the Windows lane the Windows Python and rclone.exe, where ``Path`` would have
written ``standin:C:\\...\\exp1\\a.nd2``."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path, PurePosixPath

import pytest

from almc_assistant.core.catalog import Catalog
from almc_assistant.core.events import ListSink
from almc_assistant.core.remote.rcd import RcDaemon
from almc_assistant.core.transfer import CopyRequest, CopyVerified, run_copy
from almc_assistant.core.transfer.events import EntryChecked
from almc_assistant.core.transfer.naming import MANIFEST_NAME, RECEIPTS_DIR
from almc_assistant.core.transfer.remote_verify import verify_remote

CHUNK = 64 * 1024
SIZE = CHUNK * 3 + 5  # above one read: every file goes alone (streamed), never grouped


def _source_top(tmp_path: Path) -> Path:
    """An acquisition-like folder: on the lane's ``D:`` drive when there is one (a Windows
    source ``D:\\...\\exp1\\a.nd2`` whose relative path is ``exp1\\a.nd2`` there)."""
    drive = os.environ.get("ALMC_TEST_DRIVE")
    if drive and os.name == "nt":
        top = Path(f"{drive}\\") / f"remote-paths-{secrets.token_hex(4)}"
        top.mkdir()
        return top
    return tmp_path / "data"


@pytest.fixture
def standin(daemon: RcDaemon, tmp_path: Path) -> tuple[str, Path]:
    """Remote ``standin`` (rclone's ``local`` backend) and the folder it stores into;
    the spec uses ``/`` (as a facility writes ``research:lab/me``)."""
    daemon.call(
        "config/create", name="standin", type="local", parameters={}, opt={"nonInteractive": True}
    )
    root = tmp_path / "remote"
    root.mkdir()
    return f"standin:{root.as_posix()}/lab/me", root / "lab" / "me"


def test_every_name_of_a_remote_copy_uses_slashes(
    standin: tuple[str, Path], tmp_path: Path
) -> None:
    spec, stored = standin
    top = _source_top(tmp_path)
    (top / "exp1").mkdir(parents=True)
    data = os.urandom(SIZE)
    (top / "exp1" / "a.nd2").write_bytes(data)
    sink = ListSink()
    request = CopyRequest(
        sources=[top / "exp1"], destinations=[], remotes=(spec,), chunk_size=CHUNK
    )

    result = run_copy(request, sink)

    assert result.error is None and result.summary.verified == 1, result.summary
    assert (stored / "exp1" / "a.nd2").read_bytes() == data
    [copy] = [e.copy for e in sink.of_type(CopyVerified)]
    assert str(copy.destination_root) == spec
    assert str(copy.path) == f"{spec}/exp1/a.nd2"
    assert copy.relpath == "exp1/a.nd2"
    assert [str(m) for m in result.summary.manifests] == [f"{spec}/{MANIFEST_NAME}"]
    [receipt] = result.summary.receipts
    assert str(receipt).startswith(f"{spec}/{RECEIPTS_DIR}/")
    [on_remote] = (stored / RECEIPTS_DIR).glob("*.json")
    assert on_remote.name == PurePosixPath(receipt).name
    doc = json.loads(on_remote.read_text(encoding="utf-8"))
    assert doc["destination_root"] == spec
    [row] = doc["verified"]
    assert (row["destination"], row["relative_path"]) == (f"{spec}/exp1/a.nd2", "exp1/a.nd2")

    # Another file at that name: "keep both" (the default), named with "/" too.
    other = os.urandom(SIZE)
    (top / "exp1" / "a.nd2").write_bytes(other)
    sink = ListSink()
    result = run_copy(request, sink)
    assert result.summary.verified == 1, result.summary
    [kept] = [e.copy for e in sink.of_type(CopyVerified)]
    assert str(kept.path) == f"{spec}/exp1/a (almc copy 2).nd2"
    assert (stored / "exp1" / "a (almc copy 2).nd2").read_bytes() == other

    # The catalog keeps the name as it is, and gives it back the same on every system.
    with Catalog(tmp_path / "catalog.sqlite3") as cat:
        cat.record_copy(kept, owner="ann")
        rec = cat.file(kept.source)
        assert rec is not None
        assert [str(c.path) for c in rec.copies] == [f"{spec}/exp1/a (almc copy 2).nd2"]
        assert [str(c.destination_root) for c in rec.copies] == [spec]

    # verify names the place it checks the same way.
    sink = ListSink()
    report = verify_remote(spec, sink)
    assert str(report.root) == spec
    assert sorted(report.matched) == ["exp1/a (almc copy 2).nd2", "exp1/a.nd2"]
    assert {str(e.destination_root) for e in sink.of_type(EntryChecked)} == {spec}

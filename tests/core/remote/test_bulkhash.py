"""Server-side hashes of many files in one SSH command (bulkhash), against a real sshd
with ``b3sum``: the same answers as ``b3sum`` file by file, awkward names included, a
missing file failing alone, and a copy job of many small files proven by few commands."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import blake3
import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.remote.bulkhash import BulkHasher, parse_output
from almc_assistant.core.remote.faults import RemoteError
from almc_assistant.core.transfer import CopyRequest, CopyVerified, run_copy
from tests.core.remote.helpers import backend


def _store(folder: Path, rel: str, data: bytes) -> str:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return blake3.blake3(data).hexdigest()


def test_bulk_hashes_equal_b3sum_for_awkward_names(daemon, sftp_server):
    spec = sftp_server.create_remote(daemon, "research")
    dest = sftp_server.data / "dest"
    names = ["plain.nd2", "with space.tif", "back\\slash.tif", "new\nline.tif", "sub/-dash.tif"]
    expected = {n: _store(dest, n, os.urandom(1000 + i)) for i, n in enumerate(names)}
    b = backend(daemon, spec)
    assert isinstance(b.bulk, BulkHasher), "b3sum in bulk should work on this server"
    before = b.bulk.commands
    assert b.bulk.hash_many(names) == expected
    assert b.bulk.commands == before + 1
    assert not [p for p in dest.rglob("*") if "almc-hashlist" in p.name]  # list removed


def test_a_missing_file_fails_alone(daemon, sftp_server):
    spec = sftp_server.create_remote(daemon, "research")
    dest = sftp_server.data / "dest"
    digest = _store(dest, "here.tif", b"abc" * 100)
    b = backend(daemon, spec)
    assert b.bulk is not None
    found = b.bulk.hash_many(["here.tif", "gone.tif"])
    assert found == {"here.tif": digest}  # no line for the missing one: never misaligned
    with pytest.raises(RemoteError) as caught:
        b.bulk.digest("gone.tif")  # asked alone: its own message
    assert "gone.tif" in caught.value.detail


def test_a_hash_command_of_several_words_is_not_run_in_bulk(daemon, sftp_server):
    spec = sftp_server.create_remote(daemon, "research", blake3sum_command="b3sum --no-mmap")
    b = backend(daemon, spec)
    assert b.server_hash is not None and b.server_hash.algorithm == "blake3"
    assert b.bulk is None


def test_many_small_files_are_proven_by_few_server_commands(daemon, sftp_server, tmp_path):
    spec = sftp_server.create_remote(daemon, "research")
    b = backend(daemon, spec)
    assert b.bulk is not None
    src = tmp_path / "src"
    src.mkdir()
    files = []
    for i in range(24):
        files.append(src / f"f{i:02d}.tif")
        files[-1].write_bytes(os.urandom(50_000))
    sink = ListSink()
    result = run_copy(CopyRequest(sources=files, destinations=[], remotes=(b,), workers=2), sink)
    assert (result.summary.verified, result.summary.failed) == (24, 0), result.summary
    proofs = {e.copy.proof_kind for e in sink.events if isinstance(e, CopyVerified)}
    assert proofs == {"server-blake3"}
    assert 1 <= b.bulk.commands < 24
    for f in files:
        assert (sftp_server.data / "dest" / f.name).read_bytes() == f.read_bytes()


def test_parse_output_ignores_what_is_not_hex_or_not_b3sum():
    line = ("ab" * 32 + "  x.tif\n").encode().hex()
    assert parse_output(line) == {"x.tif": "ab" * 32}
    assert parse_output("not hex") == {}
    assert parse_output("6e6f6e73656e73650a") == {}  # "nonsense\n"


def test_bulk_hashes_below_a_folder_given_relative_to_the_login_folder(daemon, sftp_server):
    """Research storage is often given as ``research:lab/me``: a path the server takes
    from the account's login folder, not from /."""
    import pwd  # POSIX only: inside, so the module imports everywhere

    home = Path(pwd.getpwnam(sftp_server.user).pw_dir)
    name = f"almc-test-{os.urandom(4).hex()}"
    sftp_server.create_remote(daemon, "research")
    try:
        b = backend(daemon, f"research:{name}/dest")
        assert b.bulk is not None
        expected = {n: _store(home / name / "dest", n, os.urandom(999)) for n in ("a", "b c")}
        assert b.bulk.hash_many(["a", "b c"]) == expected
        assert sorted(p.name for p in (home / name / "dest").iterdir()) == ["a", "b c"]
    finally:
        shutil.rmtree(home / name, ignore_errors=True)

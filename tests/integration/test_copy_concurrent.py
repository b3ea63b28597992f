"""Issue 9: concurrent jobs on one destination (two real processes) never lose a manifest
entry and never fail each other's files; odd inputs to copy/verify get the documented
exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from almc_assistant.core.transfer.manifest import load_manifest
from tests.integration.test_copy_cli import SRC_DIR, cli
from tests.portable import WINDOWS


def _start(*args: str | Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC_DIR)}
    return subprocess.Popen(
        [sys.executable, "-m", "almc_assistant", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _finish(proc: subprocess.Popen[str]) -> dict[str, object]:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err or out[-4000:]
    doc: dict[str, object] = json.loads(out)
    return doc


def _small_files(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"tile{i:04d}.tif").write_bytes(os.urandom(2048))
    return folder


def test_big_and_small_copy_to_one_destination_keep_every_entry(tmp_path: Path) -> None:
    big = tmp_path / "src" / "big"
    big.mkdir(parents=True)
    with open(big / "stack.nd2", "wb") as f:
        for _ in range(48):
            f.write(os.urandom(1 << 20))
    small = _small_files(tmp_path / "src" / "plate", 1000)
    dest = tmp_path / "dest"
    dest.mkdir()
    a = _start("copy", big, "--to", dest, "--json")
    b = _start("copy", small, "--to", dest, "--json")
    _finish(a), _finish(b)
    entries = load_manifest(dest).entries
    assert len(entries) == 1001 and "big/stack.nd2" in entries
    verified = cli("verify", dest, "--json")
    doc = json.loads(verified.stdout)
    assert verified.returncode == 0 and doc["matched"] == 1001 and doc["extra"] == []


def test_same_source_copied_twice_at_once_fails_nothing(tmp_path: Path) -> None:
    run = _small_files(tmp_path / "src" / "run1", 600)
    with open(run / "big.nd2", "wb") as f:
        f.write(os.urandom(24 << 20))
    dest = tmp_path / "dest"
    dest.mkdir()
    procs = [_start("copy", run, "--to", dest, "--json") for _ in range(2)]
    with contextlib.ExitStack() as both:  # each process is waited for, even if one fails
        for proc in procs:
            both.callback(proc.communicate, timeout=600)
        docs = [_finish(p) for p in procs]
    for doc in docs:
        assert doc["failed"] == [] and doc["ok"] is True
    names = sorted(p.name for p in (dest / "run1").iterdir())
    assert len(names) == 601 and not [n for n in names if "almc copy" in n or n.startswith(".")]
    assert len(load_manifest(dest).entries) == 601


def test_verify_a_missing_folder_says_so_with_exit_2(tmp_path: Path) -> None:
    proc = cli("verify", tmp_path / "no" / "such" / "dir")
    assert proc.returncode == 2 and "does not exist" in proc.stderr


@pytest.mark.skipif(WINDOWS, reason="POSIX only: Windows has no FIFOs")
@pytest.mark.timeout(120)
def test_verify_with_a_fifo_manifest_exits_1_without_hanging(tmp_path: Path) -> None:
    (tmp_path / "almc-manifest.b3sum").unlink(missing_ok=True)
    os.mkfifo(tmp_path / "almc-manifest.b3sum")
    proc = cli("verify", tmp_path, "--json")
    assert proc.returncode == 1
    assert "almc-manifest.b3sum" in proc.stdout + proc.stderr


def test_copy_onto_itself_exits_2_before_writing(tmp_path: Path) -> None:
    run = tmp_path / "acq" / "run3"
    run.mkdir(parents=True)
    (run / "img.tif").write_bytes(b"data")
    proc = cli("copy", run, "--to", tmp_path / "acq")
    assert proc.returncode == 2 and "onto itself" in proc.stderr
    assert sorted(p.name for p in (tmp_path / "acq").iterdir()) == ["run3"]

"""`almc-assistant copy` and `verify` through a real subprocess: the CLI contract."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SRC_DIR = Path(__file__).resolve().parents[2] / "src"


def cli(*args: str | Path, check_json: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC_DIR)}
    proc = subprocess.run(
        [sys.executable, "-m", "almc_assistant", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if check_json:
        json.loads(proc.stdout)  # exactly one JSON document
    return proc


def make_run(root: Path) -> Path:
    run = root / "run1"
    (run / "plate").mkdir(parents=True)
    (run / "a.nd2").write_bytes(os.urandom(100_000))
    (run / "plate" / "r01.tif").write_bytes(os.urandom(10_000))
    os.utime(run / "a.nd2", ns=(1_600_000_000_000_000_000,) * 2)
    return run


def test_copy_to_two_destinations_json_and_rerun(tmp_path: Path) -> None:
    run = make_run(tmp_path / "src")
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    proc = cli("copy", run, "--to", d1, "--to", d2, "--json", check_json=True)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] and doc["summary"]["verified"] == 4 and doc["summary"]["failed"] == 0
    assert {Path(v["destination"]) for v in doc["verified"]} == {
        d / "run1" / rel for d in (d1, d2) for rel in ("a.nd2", "plate/r01.tif")
    }
    for d in (d1, d2):
        assert (d / "run1/a.nd2").read_bytes() == (run / "a.nd2").read_bytes()
        assert (d / "run1/a.nd2").stat().st_mtime_ns == 1_600_000_000_000_000_000
    again = cli("copy", run, "--to", d1, "--to", d2, "--json", check_json=True)
    assert again.returncode == 0
    summary = json.loads(again.stdout)["summary"]
    assert summary["verified"] == 0 and summary["already_verified"] == 4


def test_human_output_and_verify(tmp_path: Path) -> None:
    run = make_run(tmp_path / "src")
    dest = tmp_path / "dest"
    proc = cli("copy", run, "--to", dest)
    assert proc.returncode == 0, proc.stderr
    assert "completed: 2 copies verified" in proc.stdout
    assert str(dest / "almc-manifest.b3sum") in proc.stdout
    ok = cli("verify", dest, "--json", check_json=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["matched"] == 2
    # damage one copy, delete another, add a stranger
    with open(dest / "run1/a.nd2", "r+b") as f:
        f.write(b"rot")
    (dest / "run1/plate/r01.tif").unlink()
    (dest / "run1/stranger.txt").write_text("hi")
    bad = cli("verify", dest, "--json", check_json=True)
    assert bad.returncode == 1
    doc = json.loads(bad.stdout)
    assert doc["differing"] == ["run1/a.nd2"] and doc["missing"] == ["run1/plate/r01.tif"]
    assert doc["extra"] == ["run1/stranger.txt"]
    human = cli("verify", dest)
    assert human.returncode == 1
    assert f"DIFFERS: {dest / 'run1/a.nd2'}" in human.stdout
    assert f"MISSING: {dest / 'run1/plate/r01.tif'}" in human.stdout


def test_b3sum_check_passes_on_the_manifest(tmp_path: Path) -> None:
    if shutil.which("b3sum") is None:
        pytest.skip("b3sum is not installed (apt-get install b3sum)")
    run = make_run(tmp_path / "src")
    (run / "name with spaces & ünïcode.tif").write_bytes(b"x" * 10)
    dest = tmp_path / "dest"
    assert cli("copy", run, "--to", dest).returncode == 0
    check = subprocess.run(
        ["b3sum", "--check", "almc-manifest.b3sum"], cwd=dest, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == 3


def test_exit_codes_for_usage_errors(tmp_path: Path) -> None:
    missing = cli("copy", tmp_path / "nope", "--to", tmp_path / "d", "--json", check_json=True)
    assert missing.returncode == 2
    doc = json.loads(missing.stdout)
    assert not doc["ok"] and str(tmp_path / "nope") in doc["detail"]
    assert cli("copy", tmp_path).returncode == 2  # --to is required (argparse)
    assert cli("copy", tmp_path, "--to", tmp_path / "d", "--workers", "0").returncode == 2
    no_manifest = cli("verify", tmp_path)
    assert no_manifest.returncode == 2 and "almc-manifest.b3sum" in no_manifest.stderr
    no_drive = cli("copy", make_run(tmp_path / "s"), "--to", tmp_path / "no" / "drive")
    assert no_drive.returncode == 1
    assert "does not exist" in no_drive.stderr and str(tmp_path / "no" / "drive") in no_drive.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
def test_failed_files_give_exit_1_and_name_the_file(tmp_path: Path) -> None:
    run = make_run(tmp_path / "src")
    os.mkfifo(run / "pipe")
    dest = tmp_path / "dest"
    (dest / "run1").mkdir(parents=True)
    (dest / "run1" / "a.nd2").write_bytes(b"other")
    proc = cli("copy", run, "--to", dest, "--on-conflict", "fail")
    assert proc.returncode == 1
    assert f"FAILED {run / 'a.nd2'}" in proc.stderr
    assert "already exists" in proc.stderr
    assert f"NOT COPIED {run / 'pipe'}" in proc.stderr
    assert (dest / "run1" / "a.nd2").read_bytes() == b"other"

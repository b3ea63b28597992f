"""The watch, status and cleanup commands through a real subprocess, on real folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.portable import IS_ROOT, WINDOWS

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def site(tmp_path: Path, other_disk: Callable[..., Path]) -> Path:
    (tmp_path / "acq").mkdir()
    other_disk(tmp_path / "bit", required=False)  # copies count only on another disk
    (tmp_path / "facility.toml").write_text(
        "[watch]\n"
        f"folders = [{str(tmp_path / 'acq')!r}]\n"
        "quiet_seconds = 1\n"
        "[retention]\nmax_age_days = 1\n"
        "[[destinations]]\nname = 'BIT'\n"
        f"path = {str(tmp_path / 'bit')!r}\nkind = 'institutional'\n"
    )
    return tmp_path


def cli(site: Path, *words: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ALMC_HOME": str(site / "home"),
        "ALMC_FACILITY_CONFIG": str(site / "facility.toml"),
        "PYTHONPATH": str(SRC),
    }
    return subprocess.run(
        [sys.executable, "-m", "almc_assistant", *words],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _file(path: Path, data: bytes, days_ago: float = 0.01) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    when = time.time() - days_ago * 86_400
    os.utime(path, (when, when))
    return path


def test_watch_once_then_status(site: Path) -> None:
    _file(site / "acq" / "run1" / "a.tif", b"II*\x00" + b"\0" * 20)
    _file(site / "acq" / "b.nd2", b"x" * 1000)
    done = cli(site, "watch", "--once", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["appeared"] == 2 and doc["finished"] == 2 and doc["pending_files"] == 2
    status = cli(site, "status", "--json")
    assert status.returncode == 1, status.stderr
    report = json.loads(status.stdout)
    assert report["ok"] is False and report["state"] == "at-risk"
    assert report["total_files"] == 2 and report["total_bytes"] == 1024
    assert {f["path"] for f in report["files"]} == {
        str(site / "acq" / "run1" / "a.tif"),
        str(site / "acq" / "b.nd2"),
    }
    assert all(f["verdict"] and f["candidate_date"] > time.time() for f in report["files"])
    assert report["volumes"][0]["reachable"] and report["volumes"][0]["total"] > 0
    human = cli(site, "status")
    assert "2 files (1.0 kB)" in human.stdout and "Session 1" in human.stdout


def test_deleted_unsafe_file_is_reported_lost(site: Path) -> None:
    a = _file(site / "acq" / "a.nd2", b"data")
    assert cli(site, "watch", "--once").returncode == 0
    a.unlink()
    done = cli(site, "watch", "--once")
    assert done.returncode == 1 and f"LOST (deleted without a backup): {a}" in done.stdout
    report = json.loads(cli(site, "status", "--json").stdout)
    assert report["state"] == "problem" and report["lost"][0]["path"] == str(a)


def test_cleanup_lists_then_applies_only_safe_files(site: Path) -> None:
    if not IS_ROOT:
        pytest.skip("needs root: BIT must be another disk than the acquisition folder")
    # Files first seen today are young (their age counts from when the app first saw
    # them), so make the disk count as full: safe files are then candidates at once.
    import shutil

    usage = shutil.disk_usage(site)
    percent = max(10, int(100 * usage.used / usage.total) - 1)
    if 100 * usage.used / usage.total < 10:
        pytest.skip("the disk is almost empty: the fullness rule cannot be triggered")
    cfg = site / "facility.toml"
    cfg.write_text(cfg.read_text().replace("max_age_days = 1", f"disk_full_percent = {percent}"))
    safe = _file(site / "acq" / "safe.nd2", b"s" * 100, days_ago=3)
    unsafe = _file(site / "acq" / "unsafe.nd2", b"u" * 100, days_ago=3)
    assert cli(site, "watch", "--once").returncode == 0
    done = cli(site, "copy", str(safe), "--to", str(site / "bit"), "--json")
    if done.returncode != 0:
        pytest.fail(done.stdout + done.stderr)
    # The copy command leaves a receipt at the destination; the next scan records it.
    assert cli(site, "watch", "--once").returncode == 0
    plan = json.loads(cli(site, "cleanup", "--json").stdout)
    actions = {Path(i["path"]).name: (i["action"], i["reason"]) for i in plan["plan"]}
    assert actions["safe.nd2"][0] == "delete"
    assert actions["unsafe.nd2"][0] == "keep" and "not safe" in actions["unsafe.nd2"][1]
    assert safe.exists()
    applied = cli(site, "cleanup", "--apply", "--json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    doc = json.loads(applied.stdout)
    assert doc["bytes_freed"] == 100 and not safe.exists() and unsafe.exists()
    audit = Path(doc["audit_log"]).read_text().splitlines()
    assert json.loads(audit[0])["path"] == str(safe)


def test_bad_config_still_runs_and_names_file_key_reason(site: Path) -> None:
    cfg = site / "facility.toml"
    cfg.write_text(cfg.read_text() + "[policy]\nbacked_up_copies = 'many'\n")
    done = cli(site, "status")
    assert done.returncode in (0, 1)
    assert f"warning: {cfg}: policy.backed_up_copies: should be a whole number" in done.stderr
    syntax = site / "home" / "config" / "config.toml"
    syntax.parent.mkdir(parents=True, exist_ok=True)
    syntax.write_text("[[destinations]\n")
    done = cli(site, "status", "--json")
    doc = json.loads(done.stdout)
    assert any(
        str(syntax) in p["detail"] and "not valid TOML" in p["detail"] and p["next_step"]
        for p in doc["problems"]
    )


def test_damaged_catalog_is_moved_aside_by_the_cli(site: Path) -> None:
    _file(site / "acq" / "a.nd2", b"a")
    db = site / "home" / "state" / "catalog.sqlite3"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"\x00garbage" * 512)
    done = cli(site, "watch", "--once", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["pending_files"] == 1
    assert list(db.parent.glob("catalog.sqlite3.damaged-*"))
    report = json.loads(cli(site, "status", "--json").stdout)
    assert report["total_files"] == 1


def test_locked_catalog_is_a_clear_error(site: Path) -> None:
    import sqlite3

    assert cli(site, "watch", "--once").returncode == 0
    cfg = site / "facility.toml"
    cfg.write_text(cfg.read_text() + "[facility]\nbusy_timeout_seconds = 0.2\n")
    db = site / "home" / "state" / "catalog.sqlite3"
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        _file(site / "acq" / "new.nd2", b"n")
        done = cli(site, "status", "--json")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    assert doc["title"] == "Catalog busy" and str(db) in doc["detail"]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
@pytest.mark.skipif(WINDOWS, reason="POSIX signals (Windows stops a console with CTRL_BREAK)")
def test_watch_runs_until_interrupted_and_records_new_files(site: Path, stop: str) -> None:
    """Ctrl-C, ``kill`` or a service manager stop the watch cleanly (exit 0, no
    traceback, the catalog written)."""
    import signal

    env = {
        **os.environ,
        "ALMC_HOME": str(site / "home"),
        "ALMC_FACILITY_CONFIG": str(site / "facility.toml"),
        "PYTHONPATH": str(SRC),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "almc_assistant", "watch"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as in a terminal, even when this test runs with SIGINT ignored
        # (a background job): the child starts with Python's own SIGINT handler
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stderr is not None and "Watching" in proc.stderr.readline()
        time.sleep(1.0)  # the observer is up
        (site / "acq" / "new.tif").write_bytes(b"II*\x00" + b"\0" * 10)
        assert proc.stdout is not None
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            seen.append(line)
            if "VerdictRecorded" in line:
                break
        assert any("FileStabilised" in s and "new.tif" in s for s in seen), seen
    finally:
        proc.send_signal(getattr(signal, stop))
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Stopping" in err and "Traceback" not in err
    report = json.loads(cli(site, "status", "--json").stdout)  # what the watch recorded
    assert [f["path"] for f in report["files"]] == [str(site / "acq" / "new.tif")]
    report = json.loads(cli(site, "status", "--json").stdout)
    assert [f["path"] for f in report["files"]] == [str(site / "acq" / "new.tif")]


def test_names_with_brackets_are_printed_whole(site: Path) -> None:
    """Rich markup must not eat parts of paths: 'Well[A01]' or '[bold]' are file names."""
    _file(site / "acq" / "plate [1]" / "Well[A01][bold].tif", b"II*\x00" + b"\0" * 20)
    assert cli(site, "watch", "--once").returncode == 0
    human = cli(site, "status")
    assert human.returncode == 1, human.stderr
    whole = human.stdout.replace("\n", "")  # a long path is folded at the terminal width
    assert str(site / "acq" / "plate [1]" / "Well[A01][bold].tif") in whole, human.stdout


def test_not_set_up_names_the_config_section(tmp_path: Path) -> None:
    env = {**os.environ, "ALMC_HOME": str(tmp_path / "home"), "PYTHONPATH": str(SRC)}
    env.pop("ALMC_FACILITY_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "almc_assistant", "status"],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "under [watch] folders" in done.stdout, done.stdout


def test_status_groups_files_by_dataset(site: Path) -> None:
    images = site / "acq" / "plate1" / "Images"
    names = [f"r01c01f01p0{p}-ch1sk1fk1fl1.tiff" for p in (1, 2, 3)]
    for name in names:
        _file(images / name, b"II*\x00" + b"\0" * 20)
    urls = "".join(f"<Image><URL>{n}</URL></Image>" for n in names)
    _file(images / "Index.idx.xml", f"<Images>{urls}</Images>".encode())
    for name in ("run001.nd2", "run002.nd2", "lone.nd2"):
        _file(site / "acq" / name, b"x" * 100)
    assert cli(site, "watch", "--once", "--json").returncode == 0

    report = json.loads(cli(site, "status", "--json").stdout)

    units = {u["name"]: u for u in report["datasets"]}
    assert set(units) == {"plate1", "run001.nd2 …", "lone.nd2"}
    assert units["plate1"]["kind"] == "Opera Phenix / Harmony export"
    assert len(units["plate1"]["files"]) == 4 and units["plate1"]["folder"] == str(images.parent)
    assert (
        units["run001.nd2 …"]["kind"] == "ND2 series" and len(units["run001.nd2 …"]["files"]) == 2
    )
    assert units["lone.nd2"]["kind"] == "" and units["lone.nd2"]["files"] == [
        str(site / "acq" / "lone.nd2")
    ]
    human = cli(site, "status").stdout
    assert "Dataset plate1 (Opera Phenix / Harmony export): 4 files" in human
    assert "Dataset run001.nd2 … (ND2 series): 2 files" in human
    assert human.index("lone.nd2") < human.index("Dataset plate1")  # loose files first

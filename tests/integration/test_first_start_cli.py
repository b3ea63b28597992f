"""A first start without configuration, and problems with their causes, through the CLI.

Every command says "not set up" with the same words (core/setup_state) and exit status 2;
a problem state names each cause with a next step, in words and in --json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from almc_assistant.core.paths import AppPaths
from almc_assistant.core.setup_state import NOT_SET_UP
from tests.portable import IS_ROOT, WINDOWS

SRC = Path(__file__).resolve().parents[2] / "src"


def run(site: Path, *words: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ALMC_HOME": str(site / "home"),
        "ALMC_FACILITY_CONFIG": str(site / "facility.toml"),
        "PYTHONPATH": str(SRC),
        "COLUMNS": str(columns),
    }
    return subprocess.run(
        [sys.executable, "-m", "almc_assistant", *words],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _answers(site: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    answers = {
        "watch --once": run(site, "watch", "--once"),
        "status": run(site, "status"),
        "status --json": run(site, "status", "--json"),
    }
    watch = subprocess.Popen(  # the headless watcher stops at once, with the same words
        [sys.executable, "-m", "almc_assistant", "watch"],
        env={
            **os.environ,
            "ALMC_HOME": str(site / "home"),
            "ALMC_FACILITY_CONFIG": str(site / "facility.toml"),
            "PYTHONPATH": str(SRC),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = watch.communicate(timeout=60)
    answers["watch"] = subprocess.CompletedProcess(watch.args, watch.returncode, out, err)
    return answers


def test_no_configuration_is_not_set_up_everywhere_with_the_same_words(tmp_path: Path) -> None:
    answers = _answers(tmp_path)  # no facility file: the user chooses the folders
    paths = AppPaths.under(tmp_path / "home")
    for name, done in answers.items():
        assert done.returncode == 2, (name, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
    doc = json.loads(answers["status --json"].stdout)
    assert doc["state"] == "not-set-up" and doc["ok"] is False
    assert doc["headline"] == NOT_SET_UP and doc["problems"] == []
    setup = doc["setup"]
    assert setup["title"] == NOT_SET_UP and setup["user_can_choose"] is True
    assert str(paths.user_config) in setup["next_step"]
    for name in ("watch --once", "watch", "status"):
        text = " ".join((answers[name].stdout + answers[name].stderr).split())
        assert NOT_SET_UP in text, name
        assert setup["detail"] in text, name
        assert "have verified backups" not in text and "Scanned" not in text, name


def test_where_the_facility_decides_the_file_and_its_contents_are_named(tmp_path: Path) -> None:
    facility = tmp_path / "facility.toml"
    facility.write_text("[facility]\nname = 'ALMC'\n", encoding="utf-8")
    done = run(tmp_path, "status", "--json")
    assert done.returncode == 2
    setup = json.loads(done.stdout)["setup"]
    assert setup["user_can_choose"] is False and setup["facility_file"] == str(facility)
    assert str(facility) in setup["next_step"] and "[watch]" in setup["facility_example"]
    human = run(tmp_path, "watch", "--once")
    assert human.returncode == 2
    assert str(facility) in human.stderr and NOT_SET_UP in human.stderr


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if not IS_ROOT:
        pytest.skip("needs root to mount a tmpfs")
    mnt = tmp_path / "acq"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.root
def test_a_disk_past_the_cleanup_threshold_is_a_problem_with_its_cause(
    tmp_path: Path, small_disk: Path
) -> None:
    (tmp_path / "facility.toml").write_text(
        f"[watch]\nfolders = [{str(small_disk)!r}]\n[retention]\ndisk_full_percent = 50\n",
        encoding="utf-8",
    )
    (small_disk / "big.bin").write_bytes(b"\0" * 700_000)  # 70 % of the disk
    done = run(tmp_path, "status", "--json")
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert doc["state"] == "problem" and doc["problems"], doc
    (problem,) = doc["problems"]
    assert problem["kind"] == "disk-full" and str(small_disk) in problem["title"]
    assert "50% full" in problem["detail"] and "Back up" in problem["next_step"]
    assert doc["headline"] == problem["title"]
    human = run(tmp_path, "status")
    assert human.returncode == 1
    text = " ".join(human.stdout.split())
    assert text.startswith(f"Problem: {problem['title']}. ") and "What to do: Back up" in text


def test_status_at_80_columns_keeps_each_path_on_one_line(tmp_path: Path) -> None:
    acq = tmp_path / "acquisitions-of-a-long-named-lab" / "2026-12-03 confocal session"
    acq.mkdir(parents=True)
    (tmp_path / "facility.toml").write_text(
        f"[watch]\nfolders = [{str(acq)!r}]\nquiet_seconds = 1\n", encoding="utf-8"
    )
    f = acq / "sample_01_stack.tif"
    f.write_bytes(b"II*\0" + b"\0" * 100)
    old = time.time() - 60
    os.utime(f, (old, old))
    assert run(tmp_path, "watch", "--once").returncode == 0
    done = run(tmp_path, "status", columns=80)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    first = next(line for line in lines if line.startswith(f"  {str(f)[:20]}"))
    edge = 79 if WINDOWS else 80  # Rich keeps the last column of a legacy Windows console free
    assert len(first) == min(len(str(f)) + 2, edge)  # folded at the edge, not in a column
    assert "1 file (104 bytes)" in done.stdout and " is not backed up" in done.stdout

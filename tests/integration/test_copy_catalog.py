"""`almc-assistant copy` through a real subprocess, seen by the catalog and `status`.

The copy goes through the service: every verified copy is recorded at once, so the next
`status` knows; when the catalog cannot be opened the copy still runs and says so; and a
selection holding only part of a multi-file dataset is warned about.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.core.inspect.test_datasets import harmony_export
from tests.portable import IS_ROOT, WINDOWS

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def site(tmp_path: Path, other_disk: Callable[..., Path]) -> Path:
    """An acquisition folder (facility TOML under ALMC_HOME) and the user's own
    institutional destination (their config.toml)."""
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (tmp_path / "acq").mkdir()
    other_disk(tmp_path / "bit", required=False)  # copies count only on another disk
    (home / "facility.toml").write_text(
        f"[watch]\nfolders = [{str(tmp_path / 'acq')!r}]\nquiet_seconds = 1\n"
        "[facility]\nbusy_timeout_seconds = 0.2\n"
    )
    (home / "config" / "config.toml").write_text(
        "[[destinations]]\nname = 'My BIT share'\n"
        f"path = {str(tmp_path / 'bit')!r}\nkind = 'institutional'\n"
    )
    return tmp_path


def cli(
    site: Path, *words: str | Path, home: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ALMC_HOME": str(home or site / "home"), "PYTHONPATH": str(SRC)}
    env.pop("ALMC_FACILITY_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "almc_assistant", *map(str, words)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def acquired(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    when = time.time() - 3600  # finished an hour ago
    os.utime(path, (when, when))
    return path


def status(site: Path) -> dict[str, object]:
    done = cli(site, "status", "--json")
    doc: dict[str, object] = json.loads(done.stdout)
    assert done.returncode == (0 if doc["ok"] else 1), done.stderr
    return doc


def test_copy_then_status_shows_the_files_safe(site: Path) -> None:
    if not IS_ROOT:
        pytest.skip("needs root: BIT must be another disk than the acquisition folder")
    a = acquired(site / "acq" / "run1" / "a.nd2", b"a" * 3000)
    b = acquired(site / "acq" / "run1" / "b.nd2", b"b" * 2000)
    assert cli(site, "watch", "--once").returncode == 0
    before = status(site)
    assert before["state"] == "at-risk" and before["total_files"] == 2

    done = cli(site, "copy", site / "acq" / "run1", "--to", site / "bit", "--json")

    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert doc["ok"] and doc["summary"]["verified"] == 2
    assert doc["catalog_updated"] is True and doc["warnings"] == []
    after = status(site)  # no scan in between: the copy itself recorded them
    assert after["state"] == "all-safe" and after["total_files"] == 0 and after["files"] == []
    # A file of the acquisition folder that no scan has seen yet is recorded too, and a
    # relative source names the same file.
    c = acquired(site / "acq" / "c.nd2", b"c" * 100)
    done = subprocess.run(
        [sys.executable, "-m", "almc_assistant", "copy", "c.nd2", "--to", site / "bit"],
        cwd=site / "acq",
        env={**os.environ, "ALMC_HOME": str(site / "home"), "PYTHONPATH": str(SRC)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "catalog:  updated" in done.stdout
    db = sqlite3.connect(site / "home" / "state" / "catalog.sqlite3")
    try:
        rows = db.execute(
            "SELECT f.path, c.path FROM files f JOIN copies c ON c.file_id = f.id ORDER BY 1"
        ).fetchall()
    finally:
        db.close()
    assert rows == [
        (str(c), str(site / "bit" / "c.nd2")),
        (str(a), str(site / "bit" / "run1" / "a.nd2")),
        (str(b), str(site / "bit" / "run1" / "b.nd2")),
    ]
    assert status(site)["state"] == "all-safe"


def test_copy_to_a_destination_the_policy_does_not_count_leaves_files_at_risk(
    site: Path,
) -> None:
    acquired(site / "acq" / "a.nd2", b"a" * 10)
    assert cli(site, "watch", "--once").returncode == 0
    done = cli(site, "copy", site / "acq" / "a.nd2", "--to", site / "usb", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["catalog_updated"] is True
    report = status(site)  # one copy on an unconfigured folder is not enough
    assert report["state"] == "at-risk" and report["total_files"] == 1


def test_locked_catalog_copy_still_runs_and_says_the_catalog_was_not_updated(
    site: Path,
) -> None:
    if not IS_ROOT:
        pytest.skip("needs root: BIT must be another disk than the acquisition folder")
    a = acquired(site / "acq" / "a.nd2", b"a" * 5000)
    assert cli(site, "watch", "--once").returncode == 0
    db = site / "home" / "state" / "catalog.sqlite3"
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        as_json = cli(site, "copy", a, "--to", site / "bit", "--json")
        acquired(site / "acq" / "b.nd2", b"b" * 10)
        human = cli(site, "copy", site / "acq" / "b.nd2", "--to", site / "bit")
    finally:
        other.execute("ROLLBACK")
        other.close()

    assert as_json.returncode == 0, as_json.stdout + as_json.stderr
    doc = json.loads(as_json.stdout)  # exactly one document, nothing else on stdout
    assert doc["ok"] and doc["summary"]["verified"] == 1 and doc["catalog_updated"] is False
    (warning,) = doc["warnings"]
    assert warning["kind"] == "catalog-not-updated" and warning["title"] == "Catalog busy"
    assert str(db) in warning["detail"] and "receipt" in warning["message"]
    assert (site / "bit" / "a.nd2").read_bytes() == a.read_bytes()
    assert human.returncode == 0, human.stderr
    assert "warning: the catalog cannot be updated: Catalog busy" in human.stderr
    assert "The copy runs all the same" in human.stderr and str(db) in human.stderr
    assert "catalog:  NOT updated" in human.stdout and "Traceback" not in human.stderr
    assert (site / "bit" / "b.nd2").read_bytes() == b"b" * 10
    # Nothing was recorded; the receipts at the configured destination bring the copies
    # in at the next scan.
    assert status(site)["state"] == "at-risk"
    assert cli(site, "watch", "--once").returncode == 0
    assert status(site)["state"] == "all-safe"


def test_damaged_catalog_is_rebuilt_and_the_copy_recorded_in_the_new_one(site: Path) -> None:
    if not IS_ROOT:
        pytest.skip("needs root: BIT must be another disk than the acquisition folder")
    a = acquired(site / "acq" / "a.nd2", b"a" * 100)
    db = site / "home" / "state" / "catalog.sqlite3"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"\x00garbage" * 512)

    done = cli(site, "copy", a, "--to", site / "bit", "--json")

    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert doc["catalog_updated"] is True
    (warning,) = doc["warnings"]
    assert warning["kind"] == "catalog-rebuilt" and "moved aside" in warning["message"]
    assert list(db.parent.glob("catalog.sqlite3.damaged-*"))
    report = status(site)
    assert report["state"] == "all-safe", report  # a.nd2 is in the new catalog, with its copy


def test_catalog_folder_that_cannot_be_created_does_not_stop_the_copy(
    site: Path,
) -> None:
    a = acquired(site / "acq" / "a.nd2", b"a" * 100)
    blocker = site / "not-a-folder"
    blocker.write_text("a file where the app's folders should be")

    done = cli(site, "copy", a, "--to", site / "bit", "--json", home=blocker / "home")

    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert doc["summary"]["verified"] == 1 and doc["catalog_updated"] is False
    (warning,) = doc["warnings"]
    assert warning["kind"] == "catalog-not-updated" and "for the catalog" in warning["detail"]
    assert (site / "bit" / "a.nd2").read_bytes() == a.read_bytes()


def test_copying_part_of_a_phenix_export_is_warned_about(site: Path) -> None:
    index = harmony_export(site / "acq" / "plate1")
    images = index.parent
    some = sorted(images.glob("*.tiff"))[:2]

    human = cli(site, "copy", *some, "--to", site / "bit")
    as_json = cli(site, "copy", *some, "--to", site / "bit2", "--json")

    assert human.returncode == 0, human.stderr
    assert "warning: Only 2 of 6 files of the Opera Phenix / Harmony export" in human.stderr
    assert f"Dataset: {index}" in human.stderr
    assert str(index) in human.stderr and str(sorted(images.glob("*.tiff"))[3]) in human.stderr
    assert as_json.returncode == 0, as_json.stderr
    doc = json.loads(as_json.stdout)
    (warning,) = doc["warnings"]
    assert warning["kind"] == "partial-dataset" and warning["dataset"] == str(index)
    assert warning["dataset_kind"] == "Opera Phenix / Harmony export"
    assert warning["selected_files"] == 2 and len(warning["left_out"]) == 4
    assert str(index) in warning["left_out"] and "Only 2 of 6" in warning["message"]
    assert doc["summary"]["verified"] == 2  # warned, and copied as asked
    # The whole export: no warning.
    whole = cli(site, "copy", site / "acq" / "plate1", "--to", site / "bit3", "--json")
    assert whole.returncode == 0 and json.loads(whole.stdout)["warnings"] == []
    assert "warning" not in cli(site, "copy", site / "acq" / "plate1", "--to", site / "bit3").stderr


@pytest.mark.skipif(
    WINDOWS,
    reason="POSIX only: Windows file names are UTF-16, a name cannot hold bytes that are not UTF-8",
)
def test_a_file_name_that_is_not_utf8_is_recorded_exactly(site: Path) -> None:
    """Latin-1 names from an old acquisition PC: the copy worked but the catalog logged a
    UnicodeEncodeError traceback and the CLI still said "catalog: updated"."""
    name = os.fsdecode(b"caf\xe9.nd2")  # not valid UTF-8: a surrogate escape in Python
    src = acquired(site / "acq" / "run1" / name, b"x" * 500)
    done = cli(site, "copy", site / "acq" / "run1", "--to", site / "bit")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "UnicodeEncodeError" not in done.stderr
    assert "catalog:  updated" in done.stdout
    db = sqlite3.connect(site / "home" / "state" / "catalog.sqlite3")
    try:
        rows = db.execute(
            "SELECT f.path, c.path FROM files f JOIN copies c ON c.file_id = f.id"
        ).fetchall()
    finally:
        db.close()
    assert rows == [(os.fsencode(src), os.fsencode(site / "bit" / "run1" / name))]
    # Read back as the same path: the scan finds the file recorded, and safe.
    assert cli(site, "watch", "--once").returncode == 0
    after = status(site)
    assert after["state"] == "all-safe" and after["total_files"] == 0, after

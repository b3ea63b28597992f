"""`almc-assistant check` through a real subprocess: exit codes, JSON contract, tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from tests.core.inspect.helpers import fingerprint

SRC = Path(__file__).resolve().parents[2] / "src"
PLANE = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
FILE_KEYS = {"path", "verdict", "flags", "reasons", "next_step", "format", "size", "dataset",
             "details", "folder"}  # fmt: skip


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "almc_assistant", "check", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )


def test_all_good_exits_0_with_a_table(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "export.tif", PLANE)

    proc = run(".", cwd=tmp_path)

    assert proc.returncode == 0, proc.stderr
    assert "tiff-uncompressed-ok" in proc.stdout
    assert "export.tif" in proc.stdout
    assert "all good" in proc.stdout


def test_flagged_file_exits_1_and_json_is_one_document(tmp_path: Path) -> None:
    good = tmp_path / "good.tif"
    tifffile.imwrite(good, PLANE)
    tifffile.imwrite(tmp_path / "lzw.tif", PLANE, compression="lzw")
    before = fingerprint(good)

    proc = run(tmp_path, "--json")

    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)  # exactly one JSON document
    assert doc["ok"] is False
    assert doc["counts"] == {"tiff-compressed-lossless": 1, "tiff-uncompressed-ok": 1}
    by_name = {Path(f["path"]).name: f for f in doc["files"]}
    assert set(by_name["lzw.tif"]) == FILE_KEYS
    assert by_name["lzw.tif"]["verdict"] == "tiff-compressed-lossless"
    assert by_name["lzw.tif"]["details"]["compression_per_page"][0]["compression"] == "LZW"
    assert by_name["good.tif"]["details"]["layouts"][0]["dtype"] == "uint16"
    assert doc["datasets"] == []
    assert fingerprint(good) == before


def test_rgb_snapshot_is_flagged_exit_1(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "snap.tif", np.zeros((8, 8, 3), np.uint8), photometric="rgb")

    proc = run(tmp_path / "snap.tif", "--json")

    assert proc.returncode == 1
    assert json.loads(proc.stdout)["files"][0]["flags"] == ["8bit-rgb-or-palette"]


@pytest.mark.parametrize(
    "args",
    [("/no/such/path.nd2",), (), ("--workers", "0", ".")],
    ids=["missing", "none", "workers"],
)
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    proc = run(*args)

    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_missing_path_with_json_reports_an_error_document() -> None:
    proc = run("/no/such/file.tif", "--json")

    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and "/no/such/file.tif" in doc["detail"]


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges there")
def test_bad_files_are_reported_per_file(tmp_path: Path) -> None:
    (tmp_path / "empty.nd2").touch()
    (tmp_path / "random.tif").write_bytes(os.urandom(5000))
    (tmp_path / "x.tif").mkdir()
    (tmp_path / "loop").symlink_to(tmp_path / "loop")

    proc = run(tmp_path, "--json")

    assert proc.returncode == 1
    verdicts = {Path(f["path"]).name: f["verdict"] for f in json.loads(proc.stdout)["files"]}
    assert verdicts == {"empty.nd2": "empty", "random.tif": "other-format", "loop": "unreadable"}
    assert "Traceback" not in proc.stderr


def test_dataset_table_is_printed(tmp_path: Path) -> None:
    oif = tmp_path / "cells.oif"
    oif.write_bytes("\ufeff[FileInformation]\r\n".encode("utf-16-le"))
    (tmp_path / "cells.oif.files").mkdir()
    tifffile.imwrite(tmp_path / "cells.oif.files" / "s_C001.tif", PLANE)

    proc = run(oif)

    assert proc.returncode == 0, proc.stdout
    assert "Datasets" in proc.stdout and "Olympus OIF dataset" in proc.stdout

"""The manifest is b3sum's own format: parse/format round trips and the real b3sum agrees."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from almc_assistant.core.transfer.manifest import (
    Manifest,
    format_line,
    parse_line,
    read_manifest,
)
from almc_assistant.core.transfer.naming import MANIFEST_NAME
from tests.core.transfer.conftest import digest, write

NAMES = ["plain.tif", "with space.tif", "back\\slash.tif", "new\nline.tif", "ünïcode.nd2"]


@pytest.mark.parametrize("name", NAMES)
def test_round_trip(name: str) -> None:
    d = "ab" * 32
    assert parse_line(format_line(d, f"run1/{name}")) == (d, f"run1/{name}")


def test_torn_and_foreign_lines_are_ignored(tmp_path: Path) -> None:
    good = format_line("cd" * 32, "run1/a.tif")
    (tmp_path / MANIFEST_NAME).write_bytes((good + "garbage line\n" + "ab" * 20).encode())
    assert read_manifest(tmp_path) == {"run1/a.tif": "cd" * 32}


def test_record_appends_at_once_and_close_rewrites_sorted(tmp_path: Path) -> None:
    m = Manifest(tmp_path)
    m.record("b.tif", "11" * 32)
    m.record("a.tif", "22" * 32)
    # visible on disk before close (a kill -9 loses nothing)
    assert read_manifest(tmp_path) == {"b.tif": "11" * 32, "a.tif": "22" * 32}
    m.record("b.tif", "33" * 32)  # re-verified with new content: last one wins
    m.close()
    text = (tmp_path / MANIFEST_NAME).read_text()
    assert text == format_line("22" * 32, "a.tif") + format_line("33" * 32, "b.tif")


def test_matches_what_b3sum_prints(tmp_path: Path) -> None:
    if shutil.which("b3sum") is None:
        pytest.skip("b3sum is not installed (apt-get install b3sum)")
    for name in NAMES:
        write(tmp_path / "run1" / name, name.encode() * 100)
    m = Manifest(tmp_path)
    for name in NAMES:
        m.record(f"run1/{name}", digest(tmp_path / "run1" / name))
    m.close()
    ours = (tmp_path / MANIFEST_NAME).read_text()
    theirs = subprocess.run(
        ["b3sum", *sorted(f"run1/{n}" for n in NAMES)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert sorted(ours.splitlines()) == sorted(theirs.splitlines())
    check = subprocess.run(
        ["b3sum", "--check", MANIFEST_NAME], cwd=tmp_path, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr

"""Output into a pipe whose reader has gone (``| head``): a quiet exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def run_with_reader_gone(*words: str | Path) -> tuple[int, str]:
    """Run the CLI with stdout a pipe whose only reader is closed before anything is
    written (what ``| head`` does once it has its lines): every write fails with EPIPE."""
    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "almc_assistant", *map(str, words)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()  # not communicate(): on Windows it reads the closed stdout
    proc.stderr.close()
    return proc.wait(timeout=120), err.decode()


@pytest.fixture
def tiffs(tmp_path: Path) -> Path:
    for i in range(50):
        (tmp_path / f"f{i:02d}.tif").write_bytes(b"II*\x00" + b"\0" * 8)
    return tmp_path


@pytest.mark.parametrize("words", [("--json",), ()], ids=["json", "table"])
def test_check_into_a_closed_pipe_exits_quietly(tiffs: Path, words: tuple[str, ...]) -> None:
    code, err = run_with_reader_gone("check", tiffs, *words)

    assert code == 141, err
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception" not in err
    assert err == ""


def test_error_document_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    code, err = run_with_reader_gone("check", tmp_path / "missing.nd2", "--json")
    assert code == 141, err
    assert err == ""
    # Without --json the error goes to stderr, which is still read: the usual exit 2.
    code, err = run_with_reader_gone("check", tmp_path / "missing.nd2")
    assert code == 2 and "No such file or folder" in err


@pytest.mark.parametrize("words", [("--json",), ()], ids=["json", "table"])
def test_status_into_a_closed_pipe_exits_quietly(words: tuple[str, ...]) -> None:
    code, err = run_with_reader_gone("status", *words)
    assert code == 141, err
    assert err == ""


def test_copy_into_a_closed_pipe_still_copies(tmp_path: Path) -> None:
    src = tmp_path / "a.nd2"
    src.write_bytes(b"x" * 1000)

    code, err = run_with_reader_gone("copy", src, "--to", tmp_path / "dest", "--json")

    assert code == 141, err
    assert "Traceback" not in err
    assert (tmp_path / "dest" / "a.nd2").read_bytes() == src.read_bytes()

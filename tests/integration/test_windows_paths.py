"""Paths and situations Windows users have, against real Win32 calls (the Windows lane).

A drive letter (``D:\\Data\\Smith\\2026-12-03``) and a ``\\\\server\\share`` come from
``ALMC_TEST_DRIVE`` and ``ALMC_TEST_UNC`` (the lane maps both to folders of its own; on a
real Windows machine, point them at a drive and a share you may write to). A file held
open without sharing is held by a second Windows process (share mode 0), as NIS-Elements
holds the ND2 it is acquiring.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.fslimits import detect_filesystem, name_problems
from almc_assistant.core.inspect import check_file
from almc_assistant.core.transfer import CopyFailed, CopyRequest, CopyRetried, CopyVerified
from almc_assistant.core.transfer.job import run_copy
from almc_assistant.core.winfiles import IN_USE
from tests.portable import READ_BACK_HERE, WINDOWS

pytestmark = pytest.mark.skipif(not WINDOWS, reason="Windows paths, drives and share modes")

HOLD = r"""
import ctypes, sys
k = ctypes.WinDLL("kernel32", use_last_error=True)
k.CreateFileW.restype = ctypes.c_void_p
h = k.CreateFileW(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), None, 3, 0, None)
print("held" if h not in (None, ctypes.c_void_p(-1).value) else f"error {ctypes.get_last_error()}",
      flush=True)
sys.stdin.readline()  # until told to let go
"""


class Holder:
    """A second Windows process holding a file open: by default for reading and writing,
    sharing nothing (the acquisition software); an antivirus reads, sharing reading and
    writing but not deleting (``access=GENERIC_READ, share=FILE_SHARE_READ|WRITE``)."""

    def __init__(self, path: Path, *, access: int = 0xC0000000, share: int = 0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(path), str(access), str(share)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        assert line == "held", line

    def release(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=60)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def drive_folder() -> Iterator[Path]:
    drive = os.environ.get("ALMC_TEST_DRIVE")
    if not drive or not Path(drive + "\\").is_dir():
        pytest.skip("set ALMC_TEST_DRIVE to a drive letter you may write to (the lane maps D:)")
    folder = Path(drive + "\\") / f"Data-{uuid.uuid4().hex[:6]}" / "Smith" / "2026-12-03"
    folder.mkdir(parents=True)
    yield folder
    shutil.rmtree(folder.parents[1], ignore_errors=True)


@pytest.fixture
def unc_folder() -> Iterator[Path]:
    share = os.environ.get("ALMC_TEST_UNC")
    if not share or not Path(share + "\\").is_dir():
        pytest.skip("set ALMC_TEST_UNC to a \\\\server\\share you may write to (the lane maps one)")
    folder = Path(share + "\\") / f"lab-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def cli(*words: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "almc_assistant", *map(str, words)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_volume_of_a_drive_letter_is_found_with_windows_rules(drive_folder: Path) -> None:
    fs = detect_filesystem(drive_folder / "not yet")
    assert fs.mount_point.upper() == str(drive_folder.drive).upper() + "\\"
    assert fs.type != "unknown"  # Wine answers NTFS for its drives
    assert fs.windows_names and not fs.case_sensitive
    assert shutil.disk_usage(drive_folder).free > 0


def test_reserved_names_are_refused_before_windows_swallows_the_bytes(tmp_path: Path) -> None:
    fs = detect_filesystem(tmp_path)
    (tmp_path / "NUL").write_bytes(b"data")  # Windows writes to the null device ...
    assert list(tmp_path.iterdir()) == []  # ... and no file exists: the rule matters
    for name in ("CON.tif", "nul", "COM1.nd2", "LPT9"):
        assert any("reserved name" in p for p in name_problems(f"run/{name}", fs)), name


def test_a_long_path_copies_with_the_windows_prefix(tmp_path: Path) -> None:
    deep = Path("\\\\?\\" + str(tmp_path)) / ("d" * 60) / ("e" * 60) / ("f" * 60) / ("g" * 60)
    deep.mkdir(parents=True)
    (deep / "well.tif").write_bytes(b"II*\x00" + bytes(100))
    assert len(str(deep / "well.tif")) > 260
    result = cli("copy", deep, "--to", tmp_path / "dest", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert list((tmp_path / "dest").rglob("well.tif"))


def test_copy_from_a_drive_letter_to_a_unc_share_is_verified(
    drive_folder: Path, unc_folder: Path
) -> None:
    (drive_folder / "Well A1.nd2").write_bytes(os.urandom(100_000))
    (drive_folder / "sub").mkdir()
    (drive_folder / "sub" / "t.tif").write_bytes(os.urandom(5000))
    result = cli("copy", drive_folder, "--to", unc_folder, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] and doc["summary"]["verified"] == 2
    assert {r["read_back"] for r in doc["verified"]} == {READ_BACK_HERE}
    copied = unc_folder / "2026-12-03"
    assert (copied / "Well A1.nd2").read_bytes() == (drive_folder / "Well A1.nd2").read_bytes()
    assert (copied / "sub" / "t.tif").read_bytes() == (drive_folder / "sub" / "t.tif").read_bytes()
    assert detect_filesystem(unc_folder).windows_names


def test_a_file_held_by_the_acquisition_software_is_reported_as_in_use(tmp_path: Path) -> None:
    nd2 = tmp_path / "acquiring.nd2"
    nd2.write_bytes(b"\xda\xce\xbe\x0a" + bytes(5000))
    (tmp_path / "d").mkdir()  # a destination must exist (it is not created on the fly)
    holder = Holder(nd2)
    try:
        result = check_file(nd2)
        assert any(IN_USE in r for r in result.reasons), result.reasons
        sink = ListSink()
        job = run_copy(CopyRequest(sources=[nd2], destinations=[tmp_path / "d"]), sink)
        assert not job.summary.ok
        (failed,) = sink.of_type(CopyFailed)
        assert IN_USE in failed.detail and "permission" not in failed.detail
        assert sink.of_type(CopyRetried), "a file in use is retried before it fails"
    finally:
        holder.release()
    assert not (tmp_path / "d" / "acquiring.nd2").exists()


class _ReleaseOnRetry(ListSink):
    """Lets the holder go when the engine says it will retry (an antivirus letting go)."""

    def __init__(self, holder: Holder) -> None:
        super().__init__()
        self.holder = holder

    def publish(self, event: object) -> None:
        super().publish(event)  # type: ignore[arg-type]
        if isinstance(event, CopyRetried):
            self.holder.release()


def test_a_file_held_for_a_moment_is_retried_with_the_reason_and_then_copied(
    tmp_path: Path,
) -> None:
    src = tmp_path / "fresh.tif"
    src.write_bytes(os.urandom(20_000))
    (tmp_path / "d").mkdir()  # a destination must exist (it is not created on the fly)
    holder = Holder(src)
    sink = _ReleaseOnRetry(holder)
    try:
        job = run_copy(CopyRequest(sources=[src], destinations=[tmp_path / "d"]), sink)
    finally:
        holder.release()
    assert job.summary.ok, sink.events
    (retried,) = sink.of_type(CopyRetried)
    assert IN_USE in retried.detail
    (verified,) = sink.of_type(CopyVerified)
    assert (tmp_path / "d" / "fresh.tif").read_bytes() == src.read_bytes()
    assert verified.copy.path == tmp_path / "d" / "fresh.tif"


def test_json_through_a_pipe_holds_characters_beyond_the_code_page(tmp_path: Path) -> None:
    """Redirected output is encoded in the ANSI code page on Windows unless told otherwise:
    a name with a "λ" made ``check --json`` fail after its work was done."""
    scan = tmp_path / "λ-scan é.tif"
    scan.write_bytes(b"II*\x00" + bytes(100))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONUTF8", "PYTHONIOENCODING")}
    result = subprocess.run(
        [sys.executable, "-m", "almc_assistant", "check", "--json", str(scan)],
        capture_output=True,
        timeout=300,
        check=False,
        env={**env, "PYTHONUTF8": "0"},
    )
    doc = json.loads(result.stdout.decode("utf-8"))
    assert doc["files"][0]["path"] == str(scan), result.stderr

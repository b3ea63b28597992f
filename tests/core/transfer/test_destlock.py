"""The destination lock against a real second process holding it (Linux and the Windows lane).

Under Wine, ``msvcrt.locking`` gave up after 10 ms with ``errno`` 0, so a busy lock showed
as "[Errno 0] Error" and a manifest append was put off. The lock is now taken with
``LockFileEx`` (Windows) or ``flock`` (POSIX), polled with a backoff, and a lock still held
at the end of the wait is a clear error naming the file.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.transfer import destlock
from almc_assistant.core.transfer.destlock import DestinationLockError, locked
from almc_assistant.core.transfer.manifest import Manifest, load_manifest
from almc_assistant.core.transfer.naming import LOCK_NAME

# Another process takes the lock as destlock does (msvcrt's non-blocking lock on Windows
# is LockFile on the same first byte), says so, and holds it until told to let go.
HOLD = r"""
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
if os.name == "nt":
    import msvcrt
    msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
else:
    import fcntl
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("held", flush=True)
sys.stdin.readline()
"""


class _Holder:
    def __init__(self, lock_file: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(lock_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        assert self.proc.stdout.readline().strip() == "held"

    def release(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if self.proc.poll() is None:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
        self.proc.wait(timeout=60)
        self.proc.stdin.close()
        self.proc.stdout.close()


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[_Holder]:
    h = _Holder(tmp_path / LOCK_NAME)
    try:
        yield h
    finally:
        h.release()


def test_a_lock_held_too_long_by_another_process_is_a_clear_error(
    tmp_path: Path, holder: _Holder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(destlock, "LOCK_WAIT_S", 0.2)
    with pytest.raises(DestinationLockError) as caught, locked(tmp_path):
        pytest.fail("the lock was taken while another process held it")
    err = caught.value
    assert isinstance(err, AlmcError) and isinstance(err, OSError)
    assert str(tmp_path / LOCK_NAME) in err.detail
    assert "stayed locked by another copy for 0.2 s" in err.detail
    assert "Errno 0" not in str(err) and err.next_step


def test_the_manifest_keeps_lines_it_could_not_add_while_the_lock_was_held(
    tmp_path: Path, holder: _Holder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(destlock, "LOCK_WAIT_S", 0.2)
    manifest = Manifest(tmp_path)
    manifest.record("run1/a.tif", "ab" * 32)
    assert isinstance(manifest.problem, DestinationLockError)  # put off, with the reason
    holder.release()
    manifest.close()  # the lock is free again: the line is written
    assert load_manifest(tmp_path).entries == {"run1/a.tif": "ab" * 32}


def test_a_lock_let_go_while_waiting_is_taken(tmp_path: Path) -> None:
    h = _Holder(tmp_path / LOCK_NAME)
    took = threading.Event()

    def take() -> None:
        with locked(tmp_path):
            took.set()

    t = threading.Thread(target=take)
    t.start()
    try:
        assert not took.wait(0.3)  # still held by the other process
    finally:
        h.release()
    t.join(timeout=60)
    assert took.is_set() and not t.is_alive()

"""Private state files: created 0600 in 0700 folders, never through a link or a FIFO."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from almc_assistant.core.privatefs import (
    PrivateRotatingFileHandler,
    UnsafeStateError,
    ensure_private_dir,
    open_private_append,
)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes, links and FIFOs")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_appending_creates_0600_and_tightens_an_open_file(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with open_private_append(tmp_path / "new.log") as fh:
            fh.write("x\n")
        assert _mode(tmp_path / "new.log") == 0o600
        loose = tmp_path / "loose.log"
        loose.write_text("a\n")
        loose.chmod(0o644)
        with open_private_append(loose) as fh:
            fh.write("b\n")
        assert _mode(loose) == 0o600 and loose.read_text() == "a\nb\n"
    finally:
        os.umask(old)


def test_a_link_or_fifo_is_refused_not_followed_nor_waited_on(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    (tmp_path / "link.log").symlink_to(victim)
    with pytest.raises(UnsafeStateError) as info:
        open_private_append(tmp_path / "link.log")
    assert "symbolic link" in info.value.detail and not victim.exists()
    os.mkfifo(tmp_path / "fifo.log")
    with pytest.raises(UnsafeStateError) as info:
        open_private_append(tmp_path / "fifo.log")  # a blocking open would hang here
    assert "not a regular file" in info.value.detail


def test_private_folders_are_0700_and_never_a_link(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir(mode=0o755)
    ensure_private_dir(folder)
    assert _mode(folder) == 0o700
    (tmp_path / "elsewhere").mkdir(mode=0o755)
    (tmp_path / "linked").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafeStateError) as info:
        ensure_private_dir(tmp_path / "linked")
    assert str(tmp_path / "linked") in info.value.detail
    assert _mode(tmp_path / "elsewhere") == 0o755  # not chmod-ed through the link


def test_rotated_logs_stay_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    handler = PrivateRotatingFileHandler(tmp_path / "app.log", maxBytes=200, backupCount=2)
    try:
        log = logging.getLogger("almc-test-private-log")
        log.addHandler(handler)
        log.propagate = False
        for i in range(20):
            log.warning("line %d with a file name that is nobody else's business", i)
    finally:
        log.removeHandler(handler)
        handler.close()
        os.umask(old)
    logs = sorted(tmp_path.glob("app.log*"))
    assert len(logs) == 3 and all(_mode(p) == 0o600 for p in logs)

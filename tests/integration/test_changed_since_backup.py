"""`status` after a file changed since its backup, through the real CLI (issue 9).

A same-size edit with the mtime restored (``dd conv=notrunc``, then ``touch -d``): the
next `watch --once` sees the ctime move, the copy no longer counts, and `status` exits 1
naming the file "changed since its last backup". A chmod alone moves the ctime too, but
the re-hash finds the copy's bytes: still safe.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from tests.core.catalog.test_catalog_identity import edit_keeping_size_and_mtime
from tests.integration.test_copy_catalog import acquired, cli, site, status
from tests.portable import IS_ROOT, chmod_until_the_ctime_moves

__all__ = ["site"]  # the fixture


def backed_up(site: Path) -> Path:
    if not IS_ROOT:
        pytest.skip("needs root: the backup must be on another disk than the acquisition folder")
    f = acquired(site / "acq" / "run1" / "a.nd2", b"a" * 5000)
    assert cli(site, "watch", "--once").returncode == 0
    done = cli(site, "copy", site / "acq" / "run1", "--to", site / "bit")
    assert done.returncode == 0, done.stdout + done.stderr
    assert status(site)["state"] == "all-safe"
    return f


def test_an_edit_with_the_mtime_restored_is_not_safe(site: Path) -> None:
    f = backed_up(site)
    edit_keeping_size_and_mtime(f, b"NEW")
    assert cli(site, "watch", "--once").returncode == 0
    done = cli(site, "status")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "a.nd2" in done.stdout and "changed since its last backup" in done.stdout.lower()
    doc = status(site)
    files = cast(list[dict[str, str]], doc["files"])
    assert doc["state"] == "at-risk" and [x["path"] for x in files] == [str(f)]


def test_a_chmod_alone_stays_safe_after_the_rehash(site: Path) -> None:
    f = backed_up(site)
    chmod_until_the_ctime_moves(f)
    assert cli(site, "watch", "--once").returncode == 0
    done = cli(site, "status")
    assert done.returncode == 0, done.stdout + done.stderr

"""Issue 17: a share's staging folders are few (each costs name operations in the
destination root) and are removed together at the end, never with anything of a user's."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from almc_assistant.core.transfer.naming import STAGING_PREFIX, partial_name, release_partial
from almc_assistant.core.transfer.staging import FOLDERS, USABLE, Staging

# Staging folders are made and emptied through folder descriptors (``dir_fd``), which
# Windows' Python lacks: there ``wanted()`` is False and partials stay beside their name.
pytestmark = pytest.mark.skipif(not USABLE, reason="folder descriptors (not on Windows)")


def _staging_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.name.startswith(STAGING_PREFIX))


def test_many_workers_share_a_few_staging_folders_that_close_removes(tmp_path: Path) -> None:
    staging = Staging(tmp_path, tmp_path.stat().st_dev)
    got: dict[str, Path] = {}
    start = threading.Barrier(3 * FOLDERS, timeout=30)

    def worker() -> None:
        start.wait()  # every thread asks at once: each slot is made once
        folder = staging.folder()
        assert staging.folder() is folder  # a thread keeps its folder
        name = partial_name("img.tif")
        os.close(folder.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        folder.unlink(name)
        release_partial(name)
        got[threading.current_thread().name] = folder.path

    threads = [threading.Thread(target=worker) for _ in range(3 * FOLDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 3 * FOLDERS
    made = _staging_folders(tmp_path)
    assert len(made) == FOLDERS and set(got.values()) == set(made)
    assert all(p.stat().st_mode & 0o777 == 0o700 for p in made)
    staging.close()
    assert _staging_folders(tmp_path) == []


def test_close_empties_a_staging_folder_of_left_partials_and_keeps_anything_else(
    tmp_path: Path,
) -> None:
    """A partial whose removal failed is removed at the end; a file that is not a partial
    (nobody's business to put there, but not ours to delete) keeps its folder."""
    staging = Staging(tmp_path, tmp_path.stat().st_dev, folders=2)
    left: list[Path] = []

    def worker() -> None:
        folder = staging.folder()
        name = partial_name("img.tif")
        os.close(folder.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        release_partial(name)  # abandoned, as after a failed unlink
        left.append(folder.path / name)

    for _ in range(2):
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    first, second = _staging_folders(tmp_path)
    (second / "notes.txt").write_text("someone's")
    staging.close()
    assert _staging_folders(tmp_path) == [second]
    assert [p.name for p in second.iterdir()] == ["notes.txt"]
    assert not first.exists() and all(not p.exists() for p in left)


def test_close_with_no_folder_made_and_twice_is_harmless(tmp_path: Path) -> None:
    staging = Staging(tmp_path, tmp_path.stat().st_dev)
    staging.close()
    staging.folder()
    staging.close()
    staging.close()
    assert _staging_folders(tmp_path) == []

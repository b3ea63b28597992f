"""Issue 10: writes at a destination happen beneath its root through open folders; a
folder swapped for a link after it was opened never redirects a copy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from almc_assistant.core.transfer import CopyFailed, CopyHooks, CopyVerified
from almc_assistant.core.transfer.folder import Folder, Planted
from tests.core.transfer.conftest import copy, partials, write


def test_walk_refuses_a_link_and_calls_stay_in_the_opened_folder(tmp_path: Path) -> None:
    root = tmp_path / "dest"
    (root / "a").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "link").symlink_to(elsewhere)
    with pytest.raises(Planted):
        Folder.walk(root, root.stat().st_dev, ["link", "b"])
    assert list(elsewhere.iterdir()) == []
    with Folder.walk(root, root.stat().st_dev, ["a", "b"]) as folder:
        (root / "a").rename(root / "moved")
        (root / "a").symlink_to(elsewhere)
        assert not folder.still_at_path()
        os.close(folder.open("x", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    assert (root / "moved" / "b" / "x").exists() and list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("grouped", [True, False])
def test_folder_swapped_for_a_link_mid_copy_gets_nothing(tmp_path: Path, grouped: bool) -> None:
    src = write(tmp_path / "src" / "run1" / "img.tif", b"pixels" * 1000)
    dest, trap = tmp_path / "dest", tmp_path / "trap"
    trap.mkdir()

    def swap(partial: Path, start: int, end: int) -> None:  # after the folder was opened
        if not (dest / "run1").is_symlink():
            (dest / "run1").rename(dest / "run1-moved")
            (dest / "run1").symlink_to(trap)

    result, sink = copy(
        [src.parent], [dest], hooks=CopyHooks(after_flush=swap), group_small_files=grouped
    )
    assert not result.summary.ok and not sink.of_type(CopyVerified)
    (f,) = sink.of_type(CopyFailed)
    assert "moved or replaced" in f.detail
    assert list(trap.iterdir()) == [] and partials(dest / "run1-moved") == []

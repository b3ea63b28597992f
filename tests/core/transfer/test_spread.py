"""Issue 17: on a share, files are handed out from a few folders in turn, so the workers
fill several folders at once instead of queueing on one folder's lock."""

from __future__ import annotations

from pathlib import Path

from almc_assistant.core.transfer.scan import FileTask
from almc_assistant.core.transfer.spread import by_folders


def _tasks(relpaths: list[str]) -> list[FileTask]:
    return [FileTask(Path("/src") / r, r, 1, 0) for r in relpaths]


def test_files_come_from_a_few_folders_in_turn_each_folder_in_order() -> None:
    names = [f"w{w}/f{i}" for w in range(6) for i in range(3)] + ["top"]
    out = [t.relpath for t in by_folders(_tasks(names), folders=2)]
    assert sorted(out) == sorted(names)  # every file once
    assert out[:6] == ["w0/f0", "w1/f0", "w0/f1", "w1/f1", "w0/f2", "w1/f2"]
    assert out[6:8] == ["w2/f0", "w3/f0"]  # the next folders join as others run out
    for w in range(6):  # a folder's files keep their order
        mine = [r for r in out if r.startswith(f"w{w}/")]
        assert mine == [f"w{w}/f{i}" for i in range(3)]
    assert out[-1] == "top"


def test_one_folder_or_uneven_folders() -> None:
    flat = _tasks([f"f{i}" for i in range(5)])
    assert by_folders(flat) == flat
    assert by_folders([]) == []
    uneven = [t.relpath for t in by_folders(_tasks(["a/1", "a/2", "a/3", "b/1", "c/1"]))]
    assert uneven == ["a/1", "b/1", "c/1", "a/2", "a/3"]

"""The order files are handed to the workers on a network share: a few folders at a time.

Thread contract: pure functions, called on the job thread before the workers start.

Why: on a mounted share each file gets its final name by one name operation in its
folder (``link``: about three round trips on sshfs), and the kernel runs the name
operations of one folder one at a time (each holds the folder's lock). Files listed
folder after folder put every worker in the same folder, behind one lock, while the
other folders wait: a plate export (one folder per well) fills at the pace of one folder.
Handed out from ``FOLDERS`` folders in turn, the workers fill that many folders at once,
each with its own queue (measured in ``bench/bench_netshare.py``, README network-share
section). Folders still complete nearly in the order listed (a few at a time, not all
at once), so a job stopped half-way leaves most folders whole or untouched.

Nothing else changes: every file still goes through the same steps and checks.
"""

from __future__ import annotations

from collections import deque

from almc_assistant.core.transfer.scan import FileTask

FOLDERS = 4  # folders filled at once on a share


def by_folders(files: list[FileTask], folders: int = FOLDERS) -> list[FileTask]:
    """``files`` reordered to take one file from each of ``folders`` folders in turn (in
    the order the folders first appear; a folder that runs out is replaced by the next).
    The files of one folder keep their order. The same list when there is one folder."""
    groups: dict[str, list[FileTask]] = {}
    for task in files:
        groups.setdefault(task.relpath.rpartition("/")[0], []).append(task)
    if len(groups) <= 1 or folders <= 1:
        return list(files)
    waiting = deque(deque(group) for group in groups.values())
    active: deque[deque[FileTask]] = deque()
    out: list[FileTask] = []
    while waiting or active:
        while waiting and len(active) < folders:
            active.append(waiting.popleft())
        current = active.popleft()
        out.append(current.popleft())
        if current:
            active.append(current)
    return out


def folder_count(files: list[FileTask]) -> int:
    """How many folders ``files`` land in."""
    return len({task.relpath.rpartition("/")[0] for task in files})

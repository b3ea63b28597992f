"""A group of small files copied by a worker process (:mod:`core.smallcopy`), past the GIL.

Thread contract: called on the worker thread that owns the :class:`~smallcopy.Helper`
(one child process per worker thread); it fills that thread's :class:`~copystate.Run`.

The parent opens each target folder (:meth:`Run.folder`, its safe walk), names the
partials and records them as :class:`~copystate.Written` *before* the child creates
them, so a failed, cancelled or dead group's partials are removed by the run's clean-up
like any other. The child writes, makes durable, reads back from storage and compares,
and checks each source unchanged; the parent then publishes (:mod:`pipeline`, step 6:
final names for verified bytes only), records the manifest and reports, as for threads.

Used only when :func:`wanted`: every target local and written new (no adoption of a file
already there, no remote target), no test hooks (they run in the parent), and
``syncfs`` available (Linux).
"""

from __future__ import annotations

import logging
import os

from almc_assistant.core import smallcopy
from almc_assistant.core.transfer import cache
from almc_assistant.core.transfer.control import JobControl
from almc_assistant.core.transfer.copystate import Run, Written, dest_error
from almc_assistant.core.transfer.events import READ_BACK_IN_MEMORY, READ_BACK_UNBUFFERED
from almc_assistant.core.transfer.faults import CopyError, mismatch, source_changed
from almc_assistant.core.transfer.folder import Folder
from almc_assistant.core.transfer.hooks import CopyHooks
from almc_assistant.core.transfer.naming import partial_name
from almc_assistant.core.transfer.progress import Progress
from almc_assistant.core.transfer.remote_dest import RemoteDestination
from almc_assistant.core.transfer.scan import FileTask
from almc_assistant.core.transfer.source import source_error
from almc_assistant.core.transfer.targets import Target

log = logging.getLogger(__name__)

Item = tuple[FileTask, list[Target]]


def wanted(items: list[Item], hooks: CopyHooks) -> bool:
    """Whether this group may go to a worker process (see the module)."""
    if hooks.before_file or hooks.on_chunk or hooks.after_flush:
        return False
    return all(
        not t.adopt and not isinstance(t.dest, RemoteDestination)
        for _, targets in items
        for t in targets
    )


def helper_died(task: FileTask, died: smallcopy.HelperDied, others: int) -> CopyError:
    """The error of each copy of a group whose worker process ended mid-way."""
    with_others = f" (with {others} other small files)" if others else ""
    return CopyError(
        f"The helper process copying {task.source}{with_others} stopped unexpectedly "
        f"({died}). No copy of it was given its final name; its partial copy was removed.",
        title="Copy helper stopped",
        next_step="Copy again: the files already verified are skipped. If it stops again, "
        "run with -vv and send the output to the facility staff.",
        paths=(task.source,),
    )


def move(
    helper: smallcopy.Helper, control: JobControl, progress: Progress, run: Run, items: list[Item]
) -> None:
    """Copy ``items`` (small files to local targets) in ``helper``'s process; each
    verified partial joins ``run`` read back, each failure with its error."""
    folders: list[tuple[str, int, int]] = []
    index: dict[int, int] = {}
    specs: list[smallcopy.FileSpec] = []
    written: list[list[Written]] = []
    where: list[list[int]] = []  # per file, the folder index of each of its partials
    tasks: list[FileTask] = []
    for task, targets in items:
        mine: list[Written] = []
        spec: list[tuple[int, str]] = []
        for t in targets:
            try:
                folder = run.folder(t, task)
                at = index.get(id(folder))
                if at is None:
                    at = index[id(folder)] = len(folders)
                    folders.append(_describe(folder))
            except CopyError as err:
                run.results[(task, t)] = err
                continue
            except OSError as exc:
                run.results[(task, t)] = dest_error(exc, "create", t, task)
                continue
            w = Written(task, t, folder, partial_name(t.final.name), "", grouped=True)
            run.written.append(w)  # removed by the run's clean-up unless published
            mine.append(w)
            spec.append((at, w.name))
        if not spec:
            continue
        listed = (task.identity.dev, task.identity.ino) if task.identity is not None else None
        specs.append((str(task.source), task.size, task.mtime_ns, listed, spec))
        written.append(mine)
        where.append([at for at, _name in spec])
        tasks.append(task)
    if not specs:
        return
    control.checkpoint()
    try:
        answer = helper.copy((folders, specs, None))
    except smallcopy.HelperDied as died:
        log.error("the helper process for %d small files stopped: %s", len(specs), died)
        for task, mine in zip(tasks, written, strict=True):
            stopped = helper_died(task, died, len(specs) - 1)
            for w in mine:
                run.fail(w, stopped)
        return
    except smallcopy.HelperFailed as exc:  # the worker fails the group: internal error
        raise RuntimeError(f"in the helper process: {exc}") from None
    if log.isEnabledFor(logging.DEBUG):
        read_back = dict(zip((f[0] for f in folders), answer.read_back, strict=True))
        log.debug("%d small files read back by a worker process: %s", len(specs), read_back)
    evicted = cache.read_back_method()
    # a tmpfs's pages are its storage: nothing to evict, and the receipt says so
    methods = [READ_BACK_IN_MEMORY if r == smallcopy.MEMORY else evicted for r in answer.read_back]
    unbuffered = set(answer.unbuffered)  # (file, target): read back with O_DIRECT
    for k, (task, mine, ats, (digest, fault, faults)) in enumerate(
        zip(tasks, written, where, answer.files, strict=True)
    ):
        if digest is not None:
            progress.add(task, task.size)
        if fault is not None:
            changed = _source_fault(task, fault)
            for w in mine:
                run.fail(w, changed)
            continue
        assert digest is not None
        for j, (w, at, f) in enumerate(zip(mine, ats, faults, strict=True)):
            w.digest = digest
            if f is None:
                w.read_back = READ_BACK_UNBUFFERED if (k, j) in unbuffered else methods[at]
            else:
                run.fail(w, _dest_fault(w, f))


def _describe(folder: Folder) -> tuple[str, int, int]:
    assert folder.fd is not None  # Linux: every folder is held open
    st = os.fstat(folder.fd)
    return (str(folder.path), st.st_dev, st.st_ino)


def _source_fault(task: FileTask, fault: smallcopy.Fault) -> CopyError:
    if fault[0] == "changed":
        return source_changed(task.source, str(fault[1]))
    _, action, code, text = fault
    return source_error(OSError(int(code), str(text)), task, str(action))


def _dest_fault(w: Written, fault: smallcopy.Fault) -> CopyError:
    if fault[0] == "mismatch":
        return mismatch(w.task.source, w.target.final, w.digest, str(fault[1]))
    _, action, code, text = fault
    return dest_error(OSError(int(code), str(text)), str(action), w.target, w.task)

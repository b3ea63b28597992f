"""Walking a watched folder and reconciling it with what the catalog knew.

Thread contract: :func:`walk_files` is a plain generator (any thread).
:func:`reconcile_tree` runs under the watcher's lock on the caller's thread and publishes
through the :class:`Reconciler`.

The walk is iterative (``os.scandir`` with an explicit stack), never follows symbolic
links (so a link loop or a link out of the tree is harmless) and prunes ignored folders.
A subfolder that cannot be listed is reported, and the files the catalog knew under it
are *not* declared deleted.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from almc_assistant.core.identity import FileIdentity, entry_stat
from almc_assistant.core.watch.ignore import IgnoreRule, is_ignored_name
from almc_assistant.core.watch.known import KnownState
from almc_assistant.core.watch.reconcile import Reconciler


@dataclass(slots=True)
class WalkReport:
    """What a walk met besides files."""

    files: int = 0
    unreadable: list[tuple[str, OSError]] = field(default_factory=list)


Found = tuple[str, int, int, FileIdentity]  # path, size, mtime_ns, identity


def walk_files(root: str, extra_ignore: IgnoreRule | None, report: WalkReport) -> Iterator[Found]:
    """Yield ``(path, size, mtime_ns, identity)`` of every regular file under ``root``.

    Raises the ``OSError`` of listing ``root`` itself (the caller decides the folder is
    unavailable); errors below it are collected in ``report.unreadable``.
    """
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            listing = os.scandir(folder)
        except OSError as exc:
            if folder == root:
                raise
            if not isinstance(exc, FileNotFoundError):  # vanished meanwhile: nothing to say
                report.unreadable.append((folder, exc))
            continue
        with listing:
            for entry in listing:
                if is_ignored_name(entry.name):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if extra_ignore is None or not extra_ignore(Path(entry.path)):
                            stack.append(entry.path)
                        continue
                    if not entry.is_file(follow_symlinks=False):
                        continue  # symbolic links, devices, sockets
                    st = entry_stat(entry)
                    ident = FileIdentity.of(st, entry.path)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    report.unreadable.append((entry.path, exc))
                    continue
                if extra_ignore is not None and extra_ignore(Path(entry.path)):
                    continue
                report.files += 1
                yield entry.path, st.st_size, st.st_mtime_ns, ident


def _pair_moves(new: list[Found], missing: dict[str, KnownState]) -> list[tuple[str, Found]]:
    """Pair vanished and new files whose (size, mtime_ns) match one-to-one (renames)."""
    by_key_missing: dict[tuple[int, int], list[str]] = {}
    for path, known in missing.items():
        if known[0] > 0:
            by_key_missing.setdefault(known[:2], []).append(path)
    by_key_new: dict[tuple[int, int], list[int]] = {}
    for index, (_, size, mtime, _ident) in enumerate(new):
        if (size, mtime) in by_key_missing:
            by_key_new.setdefault((size, mtime), []).append(index)
    pairs = []
    for key, indices in by_key_new.items():
        sources = by_key_missing[key]
        if len(indices) == 1 and len(sources) == 1:
            pairs.append((sources[0], new[indices[0]]))
    return pairs


def reconcile_tree(
    folder: str,
    root: str,
    known: dict[str, KnownState],
    reconciler: Reconciler,
    extra_ignore: IgnoreRule | None,
    now: Callable[[], float],
) -> WalkReport:
    """Walk ``root`` (``folder`` or a subfolder of it) and publish what changed vs ``known``.

    ``known`` holds the catalog's files under ``root`` (path string -> size, mtime_ns,
    ctime_ns, file number); it is consumed. Raises the ``OSError`` of listing ``root`` itself.
    """
    report = WalkReport()
    tracker = reconciler.tracker
    prefix = root.rstrip(os.sep) + os.sep
    tracked_before = set(tracker.under(prefix))
    new: list[Found] = []
    hold_new = bool(known)  # only worth holding new files back if some could be renames
    for found in walk_files(root, extra_ignore, report):
        path, size, mtime, ident = found
        tracked_before.discard(path)
        was = known.pop(path, None)
        if was is None and hold_new and path not in tracker:
            new.append(found)
        else:
            reconciler.seen(folder, path, size, mtime, was, now(), ident)
    unreadable = [p.rstrip(os.sep) + os.sep for p, _ in report.unreadable]

    def readable(path: str) -> bool:
        return not any(path.startswith(u) or path + os.sep == u for u in unreadable)

    missing = {p: k for p, k in known.items() if readable(p)}
    moved = _pair_moves(new, missing)
    arrived = {dest[0] for _, dest in moved}
    for src, (dest, size, mtime, ident) in moved:
        del missing[src]
        reconciler.moved(folder, src, dest, size, mtime, now(), ident)
    for path, size, mtime, ident in new:
        if path not in arrived:
            reconciler.seen(folder, path, size, mtime, None, now(), ident)
    for path in sorted(missing.keys() | {p for p in tracked_before if readable(p)}):
        reconciler.vanished(path)
    return report

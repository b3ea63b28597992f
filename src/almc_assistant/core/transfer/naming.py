"""Names the engine gives files: hidden partials, "keep both" copies, its own records.

Thread contract: pure functions, plus :func:`remove_stale_partials` which touches one
folder; safe from any worker.

A partial is ``.almc-partial-<owner>-<token><n>-<name>`` in the target folder (hidden on
POSIX, and never mistaken for a final name); ``<owner>`` names the machine, boot, process
and its start time (:mod:`owner`). After a crash or ``kill -9`` the next run removes the
partials whose writer is gone (never trusting or resuming their bytes), and leaves
another machine's alone unless they are very old (:func:`owner.is_stale`). Within a
long-running process (the service), the partials still being written are registered, so
a later job removes the ones an earlier job could not (a drive that turned read-only).
Removal is quiet: one log line per folder, with counts.
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import threading
from pathlib import Path, PurePath
from typing import TypeVar

from almc_assistant.core.transfer import owner
from almc_assistant.core.transfer.folder import Folder

P = TypeVar("P", bound=PurePath)  # a local Path, or a PurePosixPath on a remote

log = logging.getLogger(__name__)

PARTIAL_PREFIX = ".almc-partial-"
STAGING_PREFIX = ".almc-staging-"  # a worker's folder of partials on a share (staging)
MANIFEST_NAME = "almc-manifest.b3sum"
LOCK_NAME = ".almc-lock"  # the destination root's lock (see destlock)
RECEIPTS_DIR = "almc-receipts"
_MAX_NAME_BYTES = 255
_DOUBLE_EXTENSIONS = (".ome.tif", ".ome.tiff", ".ome.zarr", ".tar.gz", ".nii.gz")


# One random token per process plus a counter: unique names without a random draw per
# file (creation is O_EXCL anyway, so a clash could only fail, never overwrite).
_serial = itertools.count()  # next() on it is atomic under the GIL
_prefix = ""


def _new_prefix() -> None:
    """``.almc-partial-<owner>-<token>``: per process, so a forked child gets its own."""
    global _prefix
    _prefix = f"{PARTIAL_PREFIX}{owner.marker()}-{secrets.token_hex(4)}"


_new_prefix()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_prefix)
_in_use: set[str] = set()
_in_use_lock = threading.Lock()


def partial_name(final_name: str) -> str:
    """A hidden, unique partial name for ``final_name`` in the same folder (<= 255 bytes).

    The name counts as in use by this process until :func:`release_partial`.
    """
    head = f"{_prefix}{next(_serial):x}-"
    tail = final_name
    while len(head) + 4 * len(tail) > _MAX_NAME_BYTES and (  # 4: the most bytes a char takes
        len(os.fsencode(head + tail)) > _MAX_NAME_BYTES
    ):
        tail = tail[1:]
    with _in_use_lock:
        _in_use.add(head + tail)
    return head + tail


def release_partial(name: str) -> None:
    """The partial named ``name`` is renamed, removed, or abandoned: no longer in use."""
    with _in_use_lock:
        _in_use.discard(name)


def is_own_record(relpath: str) -> bool:
    """True for the engine's own files at a destination root (manifest, receipts, partials)."""
    first = relpath.split("/", 1)[0]
    name = relpath.rsplit("/", 1)[-1]
    return (
        relpath in (MANIFEST_NAME, MANIFEST_NAME + ".tmp", LOCK_NAME)
        or first == RECEIPTS_DIR
        or first.startswith(STAGING_PREFIX)
        or name.startswith((PARTIAL_PREFIX, ".almc-stale-", ".almc-probe-"))
    )


def conflict_name(final: P, n: int) -> P:
    """``name (almc copy n).ext`` next to ``final`` (the "keep both" name)."""
    name = final.name
    lower = name.lower()
    ext = next((e for e in _DOUBLE_EXTENSIONS if lower.endswith(e)), "")
    if not ext and "." in name.lstrip("."):
        ext = "." + name.rsplit(".", 1)[1]
    stem = name[: len(name) - len(ext)]
    return final.with_name(f"{stem} (almc copy {n}){name[len(stem) :]}")


def free_conflict_name(final: Path, taken: set[str] | None = None) -> Path:
    """The first ``name (almc copy n).ext`` (n >= 2) that does not exist yet."""
    n = 2
    while True:
        candidate = conflict_name(final, n)
        if not os.path.lexists(candidate) and (taken is None or str(candidate) not in taken):
            return candidate
        n += 1


def remove_stale_partials(where: Path | Folder) -> list[Path]:
    """Remove the partials in a folder whose writer is gone (see :mod:`owner`); this
    process's own partials are removed unless still being written. Returns them."""
    folder = where if isinstance(where, Folder) else Folder(where, None)
    removed: list[Path] = []
    failed: list[str] = []
    try:
        names = folder.names()
    except OSError:
        return removed
    mine = owner.marker()
    for name in names:
        if not name.startswith(PARTIAL_PREFIX):
            continue
        who = "-".join(name[len(PARTIAL_PREFIX) :].split("-", 3)[:3])
        try:
            if who == mine:
                with _in_use_lock:
                    if name in _in_use:
                        continue
            elif not owner.is_stale(who, folder.lstat(name).st_ctime):
                continue
            folder.unlink(name)
            removed.append(folder.path / name)
        except FileNotFoundError:
            continue  # another job cleaned it first
        except OSError as exc:
            failed.append(f"{name}: {exc.strerror}")
    if removed:
        log.info("removed %d stale partial(s) in %s", len(removed), folder.path)
    if failed:
        log.warning(
            "could not remove %d stale partial(s) in %s (first: %s)",
            len(failed),
            folder.path,
            failed[0],
        )
    return removed

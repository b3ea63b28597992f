"""Names the engine gives files: hidden partials, "keep both" copies, its own records.

Thread contract: pure functions, plus :func:`remove_stale_partials` which touches one
folder; safe from any worker.

A partial is ``.almc-partial-<pid>-<token><n>-<name>`` in the target folder (hidden on
POSIX, and never mistaken for a final name). After a crash or ``kill -9`` the next run
removes partials whose process is gone; it never trusts or resumes their bytes. Within a
long-running process (the service), the partials still being written are registered, so
a later job removes the ones an earlier job could not (a drive that turned read-only).
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import sys
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PARTIAL_PREFIX = ".almc-partial-"
MANIFEST_NAME = "almc-manifest.b3sum"
RECEIPTS_DIR = "almc-receipts"
_MAX_NAME_BYTES = 255
_DOUBLE_EXTENSIONS = (".ome.tif", ".ome.tiff", ".ome.zarr", ".tar.gz", ".nii.gz")


# One random token per process plus a counter: unique names without a random draw per
# file (creation is O_EXCL anyway, so a clash could only fail, never overwrite).
_serial = itertools.count()  # next() on it is atomic under the GIL
_prefix = ""


def _new_prefix() -> None:
    """``.almc-partial-<pid>-<token>``: per process, so a forked child gets its own."""
    global _prefix
    _prefix = f"{PARTIAL_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"


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


def release_partial(path: Path) -> None:
    """The partial at ``path`` is renamed, removed, or abandoned: no longer in use."""
    with _in_use_lock:
        _in_use.discard(path.name)


def is_own_record(relpath: str) -> bool:
    """True for the engine's own files at a destination root (manifest, receipts, partials)."""
    first = relpath.split("/", 1)[0]
    name = relpath.rsplit("/", 1)[-1]
    return (
        relpath in (MANIFEST_NAME, MANIFEST_NAME + ".tmp")
        or first == RECEIPTS_DIR
        or name.startswith(PARTIAL_PREFIX)
    )


def conflict_name(final: Path, n: int) -> Path:
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


def _pid_alive(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill(pid, 0) would TerminateProcess it there
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover - Windows lane only
    """Whether process ``pid`` still runs (``OpenProcess`` and ``GetExitCodeProcess``)."""
    import ctypes

    k: Any = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    k.OpenProcess.restype = ctypes.c_void_p
    handle = k.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        err: int = getattr(ctypes, "get_last_error")()  # noqa: B009 (Windows only)
        return err == 5  # access denied: it exists, and is someone else's
    try:
        code = ctypes.c_ulong()
        ok = k.GetExitCodeProcess(ctypes.c_void_p(handle), ctypes.byref(code))
        return not ok or code.value == 259  # STILL_ACTIVE
    finally:
        k.CloseHandle(ctypes.c_void_p(handle))


def remove_stale_partials(folder: Path) -> list[Path]:
    """Remove partials in ``folder`` left by processes that no longer run. Returns them.

    Partials this process is still writing are left alone.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(PARTIAL_PREFIX):
            continue
        pid_text = entry.name[len(PARTIAL_PREFIX) :].split("-", 1)[0]
        if pid_text == str(os.getpid()):
            with _in_use_lock:
                if entry.name in _in_use:
                    continue
        elif pid_text.isdigit() and _pid_alive(int(pid_text)):
            continue
        try:
            Path(entry.path).unlink()
            removed.append(Path(entry.path))
            log.info("removed stale partial %s", entry.path)
        except OSError as exc:
            log.warning("could not remove stale partial %s: %s", entry.path, exc)
    return removed

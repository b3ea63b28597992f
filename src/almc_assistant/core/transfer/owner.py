"""Who wrote a partial: machine, boot, process and its start time, in the partial's name.

Thread contract: pure functions (the machine's and this process's marker are computed
once); safe from any thread.

A partial's owner is ``<machine>-<pid>-<start>``: ``machine`` is 12 hex digits, six
from the host name and six from the boot id (``/proc/sys/kernel/random/boot_id``), and
``start`` the process's start time in clock ticks since boot (``/proc/<pid>/stat``; 0
where unknown). A partial may be removed as stale (:func:`is_stale`) only when:

- it is this machine's, from an earlier boot (every process of that boot is gone);
- it is this machine's and boot's, and no process with that pid **and start time** runs
  (a pid reused by another program does not keep it alive forever);
- it is another machine's (storage shared by several PCs) or of an unknown format, and
  it has not changed for :data:`FOREIGN_AGE` seconds (its writer may still be busy: we
  cannot ask another machine whether a process lives).
"""

from __future__ import annotations

import os
import socket
import time

import blake3

FOREIGN_AGE = 7 * 24 * 3600  # a partial of another machine untouched this long is dead


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


def start_time(pid: int) -> int:
    """Start time of process ``pid`` in clock ticks since boot (0 if unknown or gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            text = f.read()
    except OSError:
        return 0
    fields = text.rpartition(")")[2].split()  # the command name may hold spaces
    try:
        return int(fields[19])  # field 22 of stat(5), counted after "(comm)"
    except (IndexError, ValueError):
        return 0


def _tag(text: str) -> str:
    return blake3.blake3(text.encode("utf-8", "replace")).hexdigest()[:6]


HOST = _tag(socket.gethostname())
MACHINE = HOST + _tag(_boot_id())


def marker(pid: int | None = None) -> str:
    """``<machine>-<pid>-<start>`` of this process (or of ``pid`` on this machine)."""
    pid = os.getpid() if pid is None else pid
    return f"{MACHINE}-{pid}-{start_time(pid)}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: another user's process
        return True
    return True


def is_stale(owner: str, changed_at: float, now: float | None = None) -> bool:
    """Whether a partial whose name carries ``owner`` may be removed (see the module).

    ``changed_at`` is the partial's ctime.
    """
    parts = owner.split("-")
    old = (time.time() if now is None else now) - changed_at > FOREIGN_AGE
    if len(parts) != 3 or not all(p.isalnum() for p in parts):
        return old  # unknown format
    machine, pid_text, start_text = parts
    if len(machine) != 12 or machine[:6] != HOST or not (pid_text + start_text).isdigit():
        return old  # another machine's (or garbled)
    if machine != MACHINE:
        return True  # this machine, an earlier boot
    pid, start = int(pid_text), int(start_text)
    if not _pid_alive(pid):
        return True
    now_start = start_time(pid)
    return bool(start and now_start and now_start != start)  # the pid was reused

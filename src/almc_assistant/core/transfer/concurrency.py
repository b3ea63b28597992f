"""How many files to copy at once: enough to hide each destination's round trips.

Thread contract: called on the job thread before the workers start; a few ``lstat``
calls on each destination, nothing kept.

On a local disk a handful of workers keep the disk and both cores busy. On a network
share (sshfs, SMB, NFS mounts) every file costs a dozen round trips (create, write,
``fsync``, read back, link, unlink, manifest), so one worker waits most of the time and
the right number of workers grows with the round trip. Rather than asking the user (as
robocopy ``/MT`` and rclone ``--transfers`` do), the job measures it: the slowest of the
destinations' fastest ``lstat`` of a name that does not exist (answered by the server:
a name never seen is not in any cache), and picks the worker count from it
(:func:`workers_for_latency`).
"""

from __future__ import annotations

import math
import os
import secrets
import time
from pathlib import Path

DEFAULT_WORKERS = 4
SHARE_WORKERS = 16  # a share a few milliseconds away (measured best at 2 ms)
FAR_SHARE_WORKERS = 8  # a share 5 ms or more away (measured best at 20 ms)
FAR = 0.005  # seconds
LOCAL_LATENCY = 0.0005  # seconds: a look-up faster than this is a local disk
_PROBES = 3


def default_workers(destinations: int) -> int:
    """Workers for local destinations: enough to overlap small files' latencies."""
    return min(8, DEFAULT_WORKERS + 2 * max(destinations - 1, 0))


def lookup_latency(root: Path, probes: int = _PROBES) -> float:
    """Seconds the fastest of ``probes`` look-ups of an absent name below ``root`` took."""
    best = math.inf
    for _ in range(probes):
        name = root / f".almc-probe-{secrets.token_hex(6)}"
        started = time.perf_counter()
        try:
            os.lstat(name)
        except OSError:
            pass
        best = min(best, time.perf_counter() - started)
    return best


def workers_for_latency(latency: float, destinations: int) -> int:
    """Worker count for a destination that answers a look-up in ``latency`` seconds.

    Measured on the network share stand-in (``bench/netshare.py``, sshfs): at 2 ms, 16
    workers beat 4 and 8; at 20 ms, 8 beat 4, 16 and 32. More is not better there: the
    kernel serialises the name operations (create, link, unlink) of one folder, and the
    look-ups of many waiting workers slot in between them, so past a point each worker
    added lengthens the queue. Never fewer than the local default.
    """
    local = default_workers(destinations)
    if not math.isfinite(latency) or latency < LOCAL_LATENCY:
        return local
    return max(local, FAR_SHARE_WORKERS if latency >= FAR else SHARE_WORKERS)


def choose_workers(roots: list[Path], *, others: int = 0) -> int:
    """Worker count for a job to the local or mounted ``roots`` and ``others`` remote
    destinations (reached through rclone, not probed here): set by the slowest root."""
    count = len(roots) + others
    if not roots:
        return default_workers(max(count, 1))
    latency = max(lookup_latency(root) for root in roots)
    return workers_for_latency(latency, count)

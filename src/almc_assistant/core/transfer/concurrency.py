"""How many files to copy at once: enough to hide each destination's round trips.

Thread contract: called on the job thread before the workers start; a few ``lstat``
calls on each destination, nothing kept.

On a local disk a handful of workers keep the disk and both cores busy. On a network
share (sshfs, SMB, NFS mounts) every file costs a dozen round trips (create, write,
``fsync``, read back, link, unlink, manifest), so one worker waits most of the time.
Rather than asking the user (as robocopy ``/MT`` and rclone ``--transfers`` do), the job
measures the destination: the slowest of the destinations' fastest ``lstat`` of a name
that does not exist (answered by the server: a name never seen is not in any cache), and
picks the worker count from it (:func:`workers_for_latency`).

How many: with the partials in staging folders (:mod:`staging`) the one step
that waits on others is the ``link`` to the final name (about three round trips, the
final folder locked meanwhile), so a folder publishes at most one file per three round
trips however many workers wait. The other nine or so round trips of a file overlap
freely, so about four workers per folder being filled keep that queue full, at any
latency: the count does not grow with the round trip, it only has to be a share's and
not a disk's. Measured (``bench/bench_netshare.py``, sshfs, one folder of 64 KiB files):
at 2.5 ms, 1,000 files took 23.1 s with 6 workers, 11.9 s with 12, 14.4 s with 24; at
20 ms, 300 files 34.9 s / 26.4 s / 30.2 s. Past the queue's need, workers only add their
look-ups and manifest appends to the same server's queue. A data set in several folders
is handed out from four folders at once (:mod:`spread`): four queues, about three
workers each.
"""

from __future__ import annotations

import math
import os
import secrets
import time
from pathlib import Path

DEFAULT_WORKERS = 4
SHARE_WORKERS = 12  # a network share, near or far (measured best at 2.5 and 20 ms)
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

    A local disk (under ``LOCAL_LATENCY``): the local default. A share: ``SHARE_WORKERS``
    whatever its round trip (see the module: the final folder's ``link`` queue, not the
    latency, sets the need), plus the local default's allowance for more destinations.
    """
    local = default_workers(destinations)
    if not math.isfinite(latency) or latency < LOCAL_LATENCY:
        return local
    return SHARE_WORKERS + (local - DEFAULT_WORKERS)


def choose_workers(roots: list[Path], *, others: int = 0) -> int:
    """Worker count for a job to the local or mounted ``roots`` and ``others`` remote
    destinations (reached through rclone, not probed here): set by the slowest root."""
    count = len(roots) + others
    if not roots:
        return default_workers(max(count, 1))
    latency = max(lookup_latency(root) for root in roots)
    return workers_for_latency(latency, count)

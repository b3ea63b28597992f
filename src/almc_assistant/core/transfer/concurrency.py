"""How many files to copy at once: enough to hide each destination's round trips.

Thread contract: pure functions, plus :func:`lookup_latency` (a few ``lstat`` calls of
absent names, nothing kept), which preflight runs beside its other look-ups
(:class:`destination.JobDestination`), so it adds no round trip to a job's start.

On a local disk a handful of workers keep the disk and both cores busy. On a network
share (sshfs, SMB, NFS mounts) every file costs a few dozen round trips (create, write,
``fsync``, read back, link, unlink, manifest), so one worker waits most of the time.
Rather than asking the user (as robocopy ``/MT`` and rclone ``--transfers`` do), the job
measures each destination's round trip (the fastest of ``PROBES`` ``lstat`` of names
never seen, sent at once: answered by the server) and picks the worker count from it,
from how many folders the job fills at once and from its files' mean size
(:func:`workers_for`):

- *The folders' locks.* With the partials in staging folders (:mod:`staging`) the one
  step that waits on others is the ``link`` to the final name: about ``LOCK_TRIPS``
  round trips holding the final folder's lock, so a folder publishes one file per
  ``LOCK_TRIPS`` round trips however many workers wait. A file's other ``CHAIN_TRIPS``
  round trips (and its bytes, both ways: written, then read back) overlap freely, so
  ``1 + (CHAIN_TRIPS * rtt + bytes) / (LOCK_TRIPS * rtt)`` workers keep one folder's
  queue full, and the job fills ``spread.FOLDERS`` folders at once when it has them.
- *The link.* Once the bytes, not the round trips, are the limit (large files, a near
  server), more workers only queue on the one connection: at most
  ``2 + (CHAIN_TRIPS + LOCK_TRIPS) * rtt * LINK_RATE / mean size`` workers (the
  bandwidth-delay product in files; the link carries the writes of some files and the
  read-backs of others at once), with ``LINK_RATE`` a gigabit network's payload rate.

Measured (``bench/bench_netshare.py``, sshfs through the delay forwarder; README,
network-share section): one folder of 64 KiB files wanted 12 workers at 2.5 and 20 ms
(6 and 24 slower), well folders filled four at a time 24 (12 slower), and 250 x 2 MiB
at 6.5 ms fewer than 12 (24 slower); this round's sweep of 250 x 2 MiB (4 / 8 / 12 / 16
workers) found 8-16 alike and 4 far slower at 2.8 ms, 12-16 alike at 20 ms.
``CHAIN_TRIPS`` is set from the first: 12 workers for one folder of small files at any
round trip. The count stays between the local default and ``MAX_SHARE_WORKERS`` (the
most measured).
"""

from __future__ import annotations

import math
import os
import secrets
import time
from pathlib import Path

DEFAULT_WORKERS = 4
LOCAL_LATENCY = 0.0005  # seconds: a look-up faster than this is a local disk
LOCK_TRIPS = 3.3  # round trips a file holds its final folder's lock (link, look-up, attrs)
CHAIN_TRIPS = 36.0  # a file's other round trips, as they add up with waits (see above)
LINK_RATE = 119 * (1 << 20)  # bytes/s a share's link is assumed to carry (gigabit)
MAX_SHARE_WORKERS = 24


def default_workers(destinations: int) -> int:
    """Workers for local destinations: enough to overlap small files' latencies."""
    return min(8, DEFAULT_WORKERS + 2 * max(destinations - 1, 0))


PROCESS_MIN_FILES = 1000  # small files that pay for starting worker processes
# Files up to this size count towards it: the GIL hand-offs of their short system calls
# are what processes save (files of megabytes spend their time in I/O, threads suffice)
PROCESS_FILE_SIZE = 1 << 20


def process_workers() -> int:
    """Worker processes for a job of small files to local destinations: one more than
    the cores, so a child waiting on ``syncfs`` or a read leaves no core idle (measured:
    README, "Worker processes for small files")."""
    return max(2, (os.cpu_count() or 2) + 1)


PROBES = 3  # look-ups per destination (preflight sends them at once)


def lookup_latency(root: Path, probes: int = 1) -> float:
    """Seconds the fastest of ``probes`` look-ups of an absent name below ``root`` took
    (``inf`` when none answered in a usable way: never an exception)."""
    best = math.inf
    for _ in range(probes):
        name = root / f".almc-probe-{secrets.token_hex(6)}"
        started = time.perf_counter()
        try:
            os.lstat(name)
        except FileNotFoundError:
            pass
        except OSError:
            continue  # not an answer about the name: no round trip measured
        best = min(best, time.perf_counter() - started)
    return best


def workers_for(
    latency: float,
    *,
    share: bool = False,
    destinations: int = 1,
    folders: int = 1,
    mean_size: float = 0.0,
) -> int:
    """Worker count for a destination that answers a look-up in ``latency`` seconds.

    A local disk (under ``LOCAL_LATENCY`` and not a network file system): the local
    default. A share: from the folders' lock queues and the link (see the module),
    ``folders`` being how many folders the job fills at once (:mod:`spread`) and
    ``mean_size`` its files' mean size in bytes; plus the local default's allowance for
    more destinations."""
    local = default_workers(destinations)
    if not math.isfinite(latency) or latency <= 0:
        return local
    if latency < LOCAL_LATENCY and not share:
        return local
    rtt = max(latency, LOCAL_LATENCY)
    moved = 2 * max(mean_size, 0.0) / LINK_RATE  # written, then read back
    per_folder = 1 + (CHAIN_TRIPS * rtt + moved) / (LOCK_TRIPS * rtt)
    by_locks = max(folders, 1) * per_folder
    by_link = math.inf
    if mean_size > 0:  # the link carries writes and read-backs both ways at once
        by_link = 2 + (CHAIN_TRIPS + LOCK_TRIPS) * rtt * LINK_RATE / mean_size
    need = round(min(by_locks, by_link)) + (local - DEFAULT_WORKERS)
    return max(local, min(need, MAX_SHARE_WORKERS + (local - DEFAULT_WORKERS)))


def choose_workers(
    latencies: list[float],
    *,
    shares: int = 0,
    others: int = 0,
    folders: int = 1,
    mean_size: float = 0.0,
) -> int:
    """Worker count for a job to local or mounted destinations answering in
    ``latencies`` (seconds; ``shares`` of them network file systems) and ``others``
    remote destinations (reached through rclone, not probed here): set by the slowest."""
    count = len(latencies) + others
    if not latencies:
        return default_workers(max(count, 1))
    return workers_for(
        max(latencies),
        share=shares > 0,
        destinations=count,
        folders=folders,
        mean_size=mean_size,
    )

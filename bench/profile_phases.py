"""Where one ``almc-assistant copy`` spends its time: start, copying, the end.

Runs the command in this process (the worker processes as usual) with timers around
the job's phases: the copy phase (``CopyJob._pool``: the workers), the end
(``CopyJob._finish_destinations``: manifests and receipts; each ``write_receipt``), and
the command's JSON document. Each line gives when the phase started (seconds since the
command did), how long it took, and the CPU time of this process meanwhile (not of its
worker processes). A profile to read, not a benchmark: nothing is repeated or compared.

    sync; echo 3 > /proc/sys/vm/drop_caches   # as root, for a cold start
    .venv/bin/python bench/profile_phases.py SRC --to DEST [--to DEST2]

Issue 17 (session 11): the receipts' rows and dataset look-ups moved from the end into
the copy phase; this shows the end phase before and after (README, "The second
destination and the end of a job").
"""

from __future__ import annotations

import functools
import io
import sys
import time
from collections.abc import Callable
from typing import Any

_T0 = time.perf_counter()
_LOG: list[tuple[float, float, float, str]] = []


def _timed(owner: Any, name: str, label: str) -> None:
    real: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(real)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return real(*args, **kwargs)
        finally:
            took = time.perf_counter() - start
            _LOG.append((start - _T0, took, time.process_time() - cpu, label))

    setattr(owner, name, wrapper)


def main(argv: list[str]) -> int:
    from almc_assistant.cli import _common, main
    from almc_assistant.cli import copy as cli_copy
    from almc_assistant.core.transfer import job

    _timed(job.CopyJob, "_pool", "copy phase (the workers)")
    _timed(job.CopyJob, "_finish_destinations", "end: manifests and receipts")
    _timed(job, "write_receipt", "  one receipt")
    _timed(cli_copy._Collected, "document", "the JSON document")
    _timed(_common, "print_json", "printing it")
    out, sys.stdout = sys.stdout, io.StringIO()
    try:
        code = main(["copy", *argv, "--json"])
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.stdout = out
    total = time.perf_counter() - _T0
    print(f"{'started':>8} {'took':>9} {'CPU here':>9}  phase")
    for start, took, cpu, label in sorted(_LOG):
        print(f"{start:7.2f}s {took * 1e3:7.0f}ms {cpu * 1e3:7.0f}ms  {label}")
    print(f"{total:7.2f}s  in all (exit {code})")
    return code


if __name__ == "__main__":  # the worker processes import this file: nothing runs there
    raise SystemExit(main(sys.argv[1:]))

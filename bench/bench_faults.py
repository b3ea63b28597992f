"""Benchmark: how long the copy engine takes to give up on faults that are final (issue 9).

Usage (as root: the unmount case needs a tmpfs)::

    python bench/bench_faults.py [--files N]

Cases, each on a fresh tree of N small files (default 1000):

- ``sources deleted``: every source but the first is deleted right after the copy
  starts (issue 9 measured 129 s for 1,000 files: three tries each);
- ``destination umount -l``: a tmpfs destination is lazily unmounted after 10 files
  (issue 9: 32 s for 2,000 files, tried file by file);
- ``rerun``: the same tree copied again (nothing written; every source and every copy
  re-read to prove "already verified").

Prints one line per case: seconds, retries, failures, verified. Thread contract: a
script; main thread only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from almc_assistant.core.events import ListSink
from almc_assistant.core.transfer import (
    CopyFailed,
    CopyHooks,
    CopyRequest,
    CopyRetried,
    CopySkipped,
    CopyVerified,
    run_copy,
)
from almc_assistant.core.transfer.scan import FileTask


def _tree(root: Path, n: int) -> Path:
    run = root / "run1"
    run.mkdir(parents=True)
    for i in range(n):
        (run / f"f{i:05d}.tif").write_bytes(os.urandom(4096))
    return run


def _report(name: str, started: float, sink: ListSink) -> None:
    print(
        f"{name:24s} {time.monotonic() - started:7.2f} s  "
        f"retries {len(sink.of_type(CopyRetried)):5d}  failed {len(sink.of_type(CopyFailed)):5d}  "
        f"verified {len(sink.of_type(CopyVerified)):5d}  "
        f"already {len(sink.of_type(CopySkipped)):5d}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="almc-bench-faults-") as tmp:
        base = Path(tmp)
        run = _tree(base / "a", args.files)
        gone: list[bool] = []

        def delete(task: FileTask) -> None:
            if not gone:
                gone.append(True)
                for p in sorted(run.iterdir())[1:]:
                    p.unlink()

        sink, t0 = ListSink(), time.monotonic()
        run_copy(
            CopyRequest(
                sources=[run], destinations=[base / "d1"], hooks=CopyHooks(before_file=delete)
            ),
            sink,
        )
        _report("sources deleted", t0, sink)

        run = _tree(base / "b", args.files)
        sink, t0 = ListSink(), time.monotonic()
        run_copy(CopyRequest(sources=[run], destinations=[base / "d2"]), sink)
        sink, t0 = ListSink(), time.monotonic()
        run_copy(CopyRequest(sources=[run], destinations=[base / "d2"]), sink)
        _report("rerun (reads, no writes)", t0, sink)

        if os.geteuid() != 0:
            print("destination umount -l   skipped (needs root for a tmpfs)")
            return
        mnt = base / "mnt"
        mnt.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)], check=True)
        seen: list[FileTask] = []

        def unplug(task: FileTask) -> None:
            seen.append(task)
            if len(seen) == 10:
                subprocess.run(["umount", "-l", str(mnt)], check=True)

        try:
            sink, t0 = ListSink(), time.monotonic()
            run_copy(
                CopyRequest(sources=[run], destinations=[mnt], hooks=CopyHooks(before_file=unplug)),
                sink,
            )
            _report("destination umount -l", t0, sink)
        finally:
            subprocess.run(["umount", "-l", str(mnt)], check=False, capture_output=True)


if __name__ == "__main__":
    main()

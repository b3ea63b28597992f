"""Benchmark: the CPU a second destination costs the copy engine itself, per small file.

Usage (from the repository root; Linux)::

    PYTHONPATH=src python bench/bench_fanout.py [--files 5000] [--size 65536]
                                               [--work /dev/shm] [--dest2 DIR]
                                               [--runs 3] [--profile]

Copies ``--files`` random files of ``--size`` bytes (generated once in
``WORK/almc-fanout-src``) with the engine in this process (``run_copy``, one worker, no
service, no catalog, no command line) to one destination (``WORK/almc-fanout-1``), then
to that one and ``--dest2`` (another tmpfs mount, e.g. the one ``bench_copy.py
--dest-dir2`` uses; default ``WORK`` too), alternately ``--runs`` times, and prints the
process CPU time per file for one destination and per extra copy for the second, and
their ratio. With everything in memory (tmpfs) no disk latency hides the second copy's
work: this is its CPU floor, the ratio a machine whose two cores are busy would see.
``--profile`` adds the functions whose own time grew most with the second destination
(``cProfile``; inflated, but the proportions hold).

Thread contract: a script; main thread only.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import statistics
import sys
import time
from pathlib import Path

from almc_assistant.core.events import ListSink
from almc_assistant.core.transfer import CopyRequest, run_copy


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=5000)
    p.add_argument("--size", type=int, default=64 * 1024)
    p.add_argument("--work", type=Path, default=Path("/dev/shm"), help="source and dest 1")
    p.add_argument("--dest2", type=Path, help="parent of the second destination")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--profile", action="store_true")
    return p.parse_args(argv)


def make_source(root: Path, files: int, size: int) -> Path:
    src = root / f"almc-fanout-src-{files}x{size}" / "plate"
    marker = src.parent / "complete"
    if marker.exists():
        return src
    shutil.rmtree(src.parent, ignore_errors=True)
    for i in range(files):
        path = src / f"well-{i // 1000:03d}" / f"image-{i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
    marker.touch()
    return src


def copy_once(src: Path, dests: list[Path], files: int, prof: cProfile.Profile | None) -> float:
    """CPU seconds of one copy of ``src`` into fresh ``dests``."""
    for dest in dests:
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
    request = CopyRequest(sources=[src], destinations=dests, workers=1)
    started = time.process_time()
    if prof is not None:
        prof.enable()
    result = run_copy(request, ListSink())
    if prof is not None:
        prof.disable()
    cpu = time.process_time() - started
    if result.summary.verified != files * len(dests):
        raise SystemExit(f"expected {files * len(dests)} verified copies: {result.summary}")
    for dest in dests:
        shutil.rmtree(dest, ignore_errors=True)
    return cpu


def own_times(prof: cProfile.Profile) -> dict[str, float]:
    stats: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    return {f"{Path(f).name}:{line}:{name}": v[2] for (f, line, name), v in stats.items()}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    src = make_source(args.work, args.files, args.size)
    dests = [args.work / "almc-fanout-1", (args.dest2 or args.work) / "almc-fanout-2"]
    cpu: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(args.runs):
        for n in (1, 2):
            cpu[n].append(copy_once(src, dests[:n], args.files, None))
    one, two = statistics.median(cpu[1]), statistics.median(cpu[2])
    print(
        f"{args.files} x {args.size} B, load {os.getloadavg()[0]:.1f}: CPU per file "
        f"{one / args.files * 1e6:.0f} us (1 destination), second copy "
        f"{(two - one) / args.files * 1e6:.0f} us more; 2 / 1 = {two / one:.2f}x "
        f"(medians of {args.runs}: {[round(c, 3) for c in cpu[1]]} / "
        f"{[round(c, 3) for c in cpu[2]]} s)"
    )
    if args.profile:
        profiles = []
        for n in (1, 2):
            prof = cProfile.Profile()
            copy_once(src, dests[:n], args.files, prof)
            profiles.append(own_times(prof))
        grew = {k: profiles[1].get(k, 0.0) - profiles[0].get(k, 0.0) for k in profiles[1]}
        print("own time grown with the second destination (cProfile seconds, per extra copy):")
        for name, extra in sorted(grew.items(), key=lambda kv: -kv[1])[:20]:
            print(f"  {extra:7.3f} s  {extra / args.files * 1e6:6.1f} us  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

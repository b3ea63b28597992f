"""How fast files on the share can be read back, by how they are read: the read-back's
share of a verified copy to a network share (``bench_netshare.py``'s 2 MiB data set).

Usage (as root; the stand-in of bench/netshare.py)::

    python bench/probe_readback.py [--delay 1] [--threads 14] [--runs 2]
                                   [--methods buffered,direct]

One :class:`netshare.NetShare`; the 250 x 2 MiB data set is copied onto it once (``cp``,
not timed), then per run and method (caches dropped before each) ``--threads`` threads
read every file back and hash it with BLAKE3, as almc's read-back does:

- ``buffered``: opened normally, read in 4 MiB calls, then ``posix_fadvise(DONTNEED)``
  (almc's read-back on Linux: the pages are dropped first, so the read goes to the
  server; the kernel's read-ahead cuts it into the mount's request size);
- ``direct``: opened ``O_DIRECT`` (the kernel's FUSE client sends the read as requests of
  the mount's largest size, all at once, past the page cache), 4 MiB page-aligned buffer.

Prints wall seconds, MiB/s, MiB back on the link and the machine's busy share of its
CPUs. Writes ``OUT/probe-readback-STAMP.json``.

Thread contract: a script; its reader threads only read files below the share.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import blake3

import _harness
from netshare import NetShare
from profile_netshare_cpu import machine_busy

REPO = Path(__file__).resolve().parent.parent
BUF = 4 << 20


def read_all(paths: list[Path], threads: int, method: str) -> None:
    todo = list(paths)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        buf = mmap.mmap(-1, BUF)  # page-aligned, as O_DIRECT wants
        view = memoryview(buf)
        while True:
            with lock:
                if not todo or errors:
                    return
                path = todo.pop()
            try:
                flags = os.O_RDONLY | (os.O_DIRECT if method == "direct" else 0)
                fd = os.open(path, flags)
                try:
                    if method == "buffered":
                        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    h = blake3.blake3()
                    while True:
                        n = os.readv(fd, [view])
                        if not n:
                            break
                        h.update(view[:n])
                    if method == "buffered":
                        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)
            except BaseException as exc:
                with lock:
                    errors.append(exc)
                return

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=Path("/work/bench-data"))
    p.add_argument("--delay", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=14)
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--methods", default="buffered,direct")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = p.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    src = args.data_dir / "n-250x2MiB"
    run_ = _harness.ShareRun.start(args.out, "probe-readback")
    out_json, store, mnt, doc = run_.out_json, run_.store, run_.mnt, run_.doc
    try:
        with NetShare(store, mnt, delay_ms=args.delay) as share:
            print(f"{args.delay:g} ms each way: round trip {share.rtt_ms():.2f} ms", flush=True)
            subprocess.run(["cp", "-r", str(src), str(mnt / "data")], check=True)
            paths = sorted((mnt / "data").iterdir())
            mib = sum(q.stat().st_size for q in paths) / (1 << 20)
            for run in range(args.runs):
                k = run % len(methods)
                for method in methods[k:] + methods[:k]:
                    _harness.drop_caches()
                    link0, busy0 = share.link_counters(), machine_busy()
                    t0 = time.perf_counter()
                    read_all(paths, args.threads, method)
                    wall = time.perf_counter() - t0
                    link1, busy1 = share.link_counters(), machine_busy()
                    busy = (busy1[0] - busy0[0]) / max(busy1[1] - busy0[1], 1)
                    back = (link1[1] - link0[1]) / (1 << 20)
                    doc["results"].append(
                        {"method": method, "run": run + 1, "seconds": wall, "mib_back": back}
                        | {"machine_busy": busy, "threads": args.threads}
                    )
                    out_json.write_text(json.dumps(doc, indent=1))
                    print(
                        f"{method:<9} {wall:6.2f} s {mib / wall:6.0f} MiB/s, {back:5.0f} MiB "
                        f"back, CPU busy {busy * 100:3.0f}%",
                        flush=True,
                    )
    finally:
        _harness.remove_tree(store)
    doc["load_after"] = os.getloadavg()
    out_json.write_text(json.dumps(doc, indent=1))
    for method in methods:
        times = [r["seconds"] for r in doc["results"] if r["method"] == method]
        print(f"median {method}: {statistics.median(times):.2f} s")
    print(f"load average {doc['load_before']} -> {doc['load_after']}; raw: {out_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

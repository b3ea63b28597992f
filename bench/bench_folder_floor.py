"""The floor of one folder on a mounted share: the bare minimum almc must do, against ``cp``.

Usage (as root; the stand-in of bench/netshare.py)::

    python bench/bench_folder_floor.py [--delays 1,10] [--runs 2] [--threads 12,24]
                                       [--data-dir /work/bench-data]

Per one-way delay, one :class:`netshare.NetShare` (SFTP server in a namespace of its own
behind the delay forwarder, sshfs with default options); per run, in a rotated order,
caches dropped before each, each method copies the 64 KiB data set of
``bench_netshare.py`` (1,000 files at 1 ms, 300 at 10 ms, one folder) into a fresh folder:

- ``cp``: ``cp -r`` + ``sync`` (what the issue's 0.5x target is measured against);
- ``pcp``: 12 ``cp`` at once (``xargs -P 12``) + ``sync``;
- ``bareN`` (N threads): **only what publishing without overwriting needs**, nothing of
  verification: each file is created ``O_EXCL`` under a temporary name in one of
  ``STAGING`` staging folders beside the final folder (as almc's :mod:`staging`: a
  staging folder's own lock then queues only its share of the creates and unlinks),
  written whole (one ``write``), closed, then ``link``-ed
  to its final name (``link`` never replaces: sshfs refuses the no-replace rename) and the
  temporary name unlinked. No ``fsync``, no read-back, no manifest, no ``utime``, no
  look-ups before the ``link``: one name operation in the final folder per file, as
  ``cp``'s one ``create``. Then ``sync``.
- ``directN``: N threads creating each file ``O_EXCL`` under its final name and writing
  it (what a tool that gives up "a final name holds verified bytes only" could do): the
  same one name operation per file in the final folder, for comparison.

Prints a Markdown table (median seconds, ratio to ``cp``) and writes
``OUT/bench-folder-floor-STAMP.json``. If ``bareN`` cannot get under 0.5x ``cp``, no
verified copy can: every one of almc's other steps adds to it.

Thread contract: a script; the copy threads only write files below their fresh folder.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import _harness
from netshare import NetShare

REPO = Path(__file__).resolve().parent.parent
DATA = {1.0: "s-1000x64KiB", 10.0: "s-300x64KiB"}
STAGING = 4  # staging folders, as almc's (core/transfer/staging.py)


def bare(src: Path, dest: Path, threads: int, *, staged: bool) -> None:
    """Copy ``src``'s files into the new folder ``dest`` with ``threads`` threads: staged
    (temporary name in a staging folder, ``link`` to the final name, unlink) or direct
    (``O_EXCL`` create under the final name). Raises on the first error."""
    dest.mkdir()
    final = os.open(dest, os.O_RDONLY | os.O_DIRECTORY)
    stage_paths = [dest.parent / f".stage-{secrets.token_hex(4)}" for _ in range(STAGING)]
    for path in stage_paths if staged else []:
        path.mkdir()
    stages = [
        os.open(path if staged else dest, os.O_RDONLY | os.O_DIRECTORY) for path in stage_paths
    ]
    names = sorted(p.name for p in src.iterdir())
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(stage: int) -> None:
        while True:
            with lock:
                if not names or errors:
                    return
                name = names.pop()
            try:
                data = (src / name).read_bytes()
                if staged:
                    tmp = f".part-{secrets.token_hex(6)}"
                    _harness.write_new(tmp, data, stage)
                    os.link(tmp, name, src_dir_fd=stage, dst_dir_fd=final)
                    os.unlink(tmp, dir_fd=stage)
                else:
                    _harness.write_new(name, data, final)
            except BaseException as exc:
                with lock:
                    errors.append(exc)
                return

    pool = [threading.Thread(target=work, args=(stages[i % STAGING],)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    os.close(final)
    for fd in stages:
        os.close(fd)
    for path in stage_paths if staged else []:
        path.rmdir()
    os.sync()
    if errors:
        raise errors[0]


def shell(command: str) -> None:
    subprocess.run(["bash", "-c", command], check=True)


def run_method(method: str, src: Path, dest: Path) -> float:
    _harness.drop_caches()
    q = shlex.quote
    started = time.perf_counter()
    if method == "cp":
        shell(f"cp -r {q(str(src))} {q(str(dest))} && sync")
    elif method == "pcp":
        dest.mkdir()
        shell(
            f"cd {q(str(src))} && find . -type f -print0 | "
            f"xargs -0 -P 12 -n 16 cp -t {q(str(dest))} && sync"
        )
    elif method.startswith("bare"):
        bare(src, dest, int(method[4:]), staged=True)
    elif method.startswith("direct"):
        bare(src, dest, int(method[6:]), staged=False)
    else:
        raise ValueError(method)
    seconds = time.perf_counter() - started
    if len(list(dest.iterdir())) != len(list(src.iterdir())):
        raise RuntimeError(f"{method}: {dest} incomplete")
    return seconds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=Path("/work/bench-data"))
    p.add_argument("--delays", default="1,10")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--threads", default="12,24", help="thread counts for bareN and directN")
    p.add_argument("--methods", default="", help="only these (e.g. cp,bare12); default all")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = p.parse_args(argv)
    counts = [int(n) for n in args.threads.split(",") if n.strip()]
    methods = ["cp", "pcp", *(f"bare{n}" for n in counts), *(f"direct{n}" for n in counts)]
    if args.methods:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    run_ = _harness.ShareRun.start(args.out, "bench-folder-floor")
    out_json, store, mnt, doc = run_.out_json, run_.store, run_.mnt, run_.doc
    try:
        for delay in (float(d) for d in args.delays.split(",") if d.strip()):
            src = args.data_dir / DATA[delay if delay in DATA else 10.0]
            with NetShare(store, mnt, delay_ms=delay) as share:
                rtt = share.rtt_ms()
                print(f"{delay:g} ms each way: round trip {rtt:.2f} ms", file=sys.stderr)
                for run in range(args.runs):
                    k = run % len(methods)
                    for method in methods[k:] + methods[:k]:
                        dest = mnt / f"{method}-{run}-{secrets.token_hex(3)}"
                        seconds = run_method(method, src, dest)
                        _harness.remove_tree(store / dest.name)
                        doc["results"].append(
                            {
                                "delay_ms": delay,
                                "rtt_ms": rtt,
                                "data": src.name,
                                "method": method,
                                "run": run + 1,
                                "seconds": seconds,
                            }
                        )
                        print(f"  run {run + 1} {method:<9} {seconds:7.2f} s", file=sys.stderr)
                        out_json.write_text(json.dumps(doc, indent=1))
    finally:
        _harness.remove_tree(store)
    doc["load_after"] = os.getloadavg()
    out_json.write_text(json.dumps(doc, indent=1))
    print("| RTT | data set | method | median | / cp |")
    print("| --- | --- | --- | ---: | ---: |")
    for delay in sorted({r["delay_ms"] for r in doc["results"]}):
        rows = [r for r in doc["results"] if r["delay_ms"] == delay]
        med = {
            m: statistics.median(r["seconds"] for r in rows if r["method"] == m) for m in methods
        }
        for m in methods:
            print(
                f"| {rows[0]['rtt_ms']:.1f} ms | {rows[0]['data']} | {m} | {med[m]:.1f} s "
                f"| {med[m] / med['cp']:.2f} |"
            )
    print(f"load average before {doc['load_before']}, after {doc['load_after']}")
    print(f"raw: {out_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where a copy to the network share stand-in spends its time: CPU per process, the link.

Usage (as root; the stand-in of bench/netshare.py)::

    python bench/profile_netshare_cpu.py [--delay 1] [--shape n] [--runs 1]
                                         [--commands cp,rsync,almc,almc:6,almc:16]
                                         [--almc-src SRC] [--base-src SRC]

One :class:`netshare.NetShare`; per run and command (caches dropped before each), the
data set of ``bench_netshare.py`` (``n``: 250 x 2 MiB, ``s``: 64 KiB files in one folder)
is copied into a fresh folder, and the script reports the wall time, the bytes each way
on the link, the machine's busy CPU (``/proc/stat``: of the 2 cores, how much was used)
and the CPU seconds by process: the command itself (and its children), ``sshfs``, its
``ssh`` (encryption), ``sshd`` (the server: decryption, SFTP, its disk writes),
the delay forwarder ``fwd``, and the kernel's own threads. ``almc:N`` is almc with
``--workers N``; ``almc`` picks its own count; ``base``, ``base:N`` the same with
another checkout's ``--base-src`` (before and after in one run). Prints the median
seconds per command at the end. Writes ``OUT/profile-netshare-STAMP.json``.

Thread contract: a script; main thread only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _harness
from bench_netshare import SHAPES
from netshare import NetShare

REPO = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
GROUPS = ("sshfs", "ssh", "sshd", "sftp-server", "fwd")


def cpu_by_name() -> dict[str, float]:
    """CPU seconds (user + system) of the live processes named in ``GROUPS``, and of the
    kernel's threads (``kernel``), by name."""
    out: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        pid = entry.name
        if not pid.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        key = name if name in GROUPS else None
        if key is None and (pid == "2" or fields[1] == "2"):  # kthreadd and its threads
            key = "kernel"
        if key is None:
            continue
        out[key] = out.get(key, 0.0) + (int(fields[11]) + int(fields[12])) / TICK
    return out


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs so far."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


def command_line(cmd: str, src: Path, dest: Path, almc_src: Path, base_src: Path | None) -> str:
    q = shlex.quote
    if cmd == "cp":
        return f"cp -r {q(str(src))} {q(str(dest))} && sync"
    if cmd == "rsync":
        return f"rsync -a {q(str(src))}/ {q(str(dest))}/ && sync"
    if cmd.startswith("base"):
        if base_src is None:
            raise SystemExit("'base' commands need --base-src")
        almc_src = base_src
    workers = ""
    if ":" in cmd:
        workers = f" --workers {int(cmd.split(':')[1])}"
    return (
        f"PYTHONPATH={q(str(almc_src))} {q(sys.executable)} -m almc_assistant copy "
        f"{q(str(src))} --to {q(str(dest))} --json{workers} > {q(str(dest))}.json.out"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=Path("/work/bench-data"))
    p.add_argument("--delay", type=float, default=1.0)
    p.add_argument("--shape", default="n")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--commands", default="cp,rsync,almc,almc:6,almc:16")
    p.add_argument("--almc-src", type=Path, default=REPO / "src")
    p.add_argument(
        "--base-src", type=Path, help="another checkout's src: commands base, base:N run it"
    )
    p.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = p.parse_args(argv)
    spec = next(s for s in SHAPES[args.delay] if s.key == args.shape)
    src = args.data_dir / spec.name
    commands = [c.strip() for c in args.commands.split(",") if c.strip()]
    run_ = _harness.ShareRun.start(args.out, "profile-netshare")
    out_json, store, mnt, doc = run_.out_json, run_.store, run_.mnt, run_.doc
    outs = Path(f"/tmp/almc-profile-out-{os.getpid()}")
    outs.mkdir()
    try:
        with NetShare(store, mnt, delay_ms=args.delay) as share:
            rtt = share.rtt_ms()
            print(f"{args.delay:g} ms each way: round trip {rtt:.2f} ms; {spec.name}", flush=True)
            for run in range(args.runs):
                k = run % len(commands)
                for cmd in commands[k:] + commands[:k]:
                    name = f"{cmd.replace(':', 'w')}-{run}"
                    dest = mnt / name
                    if cmd.startswith(("almc", "base")):
                        dest.mkdir()
                    line = command_line(cmd, src, dest, args.almc_src, args.base_src)
                    line = line.replace(f"{dest}.json.out", str(outs / f"{name}.json"))
                    _harness.drop_caches()
                    link0, cpu0, busy0 = share.link_counters(), cpu_by_name(), machine_busy()
                    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                    t0 = time.perf_counter()
                    subprocess.run(["bash", "-c", line], check=True)
                    wall = time.perf_counter() - t0
                    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                    link1, cpu1, busy1 = share.link_counters(), cpu_by_name(), machine_busy()
                    cpu = {k: cpu1.get(k, 0.0) - cpu0.get(k, 0.0) for k in cpu1}
                    cpu["command"] = (kids1.ru_utime - kids0.ru_utime) + (
                        kids1.ru_stime - kids0.ru_stime
                    )
                    busy = (busy1[0] - busy0[0]) / max(busy1[1] - busy0[1], 1)
                    workers = None
                    if cmd.startswith(("almc", "base")):
                        almc_doc = json.loads((outs / f"{name}.json").read_text())
                        workers = almc_doc.get("summary", {}).get("workers")
                    row = {
                        "command": cmd,
                        "run": run + 1,
                        "seconds": wall,
                        "workers": workers,
                        "mib_up": (link1[0] - link0[0]) / (1 << 20),
                        "mib_back": (link1[1] - link0[1]) / (1 << 20),
                        "machine_busy": busy,
                        "cpu_s": {k: round(v, 2) for k, v in sorted(cpu.items())},
                    }
                    doc["results"].append(row)
                    out_json.write_text(json.dumps(doc, indent=1))
                    _harness.remove_tree(store / name)
                    print(
                        f"{cmd:<9} {wall:6.2f} s ({workers or '-'} w) up {row['mib_up']:5.0f} "
                        f"back {row['mib_back']:5.0f} MiB; CPU busy {busy * 100:3.0f}% of all; "
                        + ", ".join(f"{k} {v:.1f}" for k, v in sorted(cpu.items()) if v > 0.05),
                        flush=True,
                    )
    finally:
        _harness.remove_tree(store)
        _harness.remove_tree(outs)
    doc["load_after"] = os.getloadavg()
    out_json.write_text(json.dumps(doc, indent=1))
    for cmd in commands:
        times = [r["seconds"] for r in doc["results"] if r["command"] == cmd]
        if times:
            print(f"median {cmd:<9} {statistics.median(times):6.2f} s ({len(times)} runs)")
    print(f"load {doc['load_before']} -> {doc['load_after']}; raw: {out_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

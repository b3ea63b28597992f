"""Benchmark: copies to a network share (sshfs over a delayed link), almc against cp and rsync.

Usage (as root; see bench/netshare.py for what the stand-in needs)::

    python bench/bench_netshare.py [--runs N] [--delays 1,10] [--quick]
                                   [--commands cp,naive,rsync,almc1] [--almc-args ARGS]
                                   [--data-dir DIR] [--out bench/out]

For each one-way delay (1 ms and 10 ms: round trips of about 2.7 ms and 21 ms), one
:class:`netshare.NetShare` is built (SFTP server in a namespace of its own, sshfs on the
host) and, per run, data set and command (order rotated between runs, caches dropped
before each command), the command copies the data set into a fresh folder on the share:

- ``cp``: ``cp -r`` + ``sync``; ``naive``: the same, caches dropped, ``b3sum`` of every
  copy through the mount (reads cross the link); ``rsync``: ``rsync -a`` + ``sync``;
- ``almc1``: ``almc-assistant copy SRC --to SHARE --json`` with its default settings
  (no ``--workers``: the worker count it picks itself is what a user gets).
- ``pcp``: 12 ``cp`` at once (``xargs -P 12``) + ``sync``, no verification: what
  parallelism alone gives against the one folder's queue of name operations (each file's
  create holds the folder's lock for about three round trips on sshfs, however many
  writers wait), the floor for any tool that fills one folder through the mount.

- ``almcwN``: the same with ``--workers N``, for each N of ``--workers-sweep`` (default
  8,24: around the default's 12), to show the best explicit count beside the default.

Data sets: 250 x 2 MiB and 1,000 x 64 KiB (one folder) at 1 ms; 250 x 2 MiB and 300 x
64 KiB at 10 ms (the shapes of issue 17, fewer files at 1 ms so that two runs of every
command fit in half an hour; ``--quick``: a tenth). ``--shapes m``: 64 KiB files in
well folders (1,000 in folders of 100 at 1 ms, 320 in folders of 40 at 10 ms).
Per delay, the link's capacity is probed once: one 256 MiB file written with ``dd``
(``conv=fsync``), then read back through the mount after dropping caches (MiB/s each
way). Each copy is checked complete on the server's side (sizes of every file); bytes
received by the server's end of the link are recorded. Prints one Markdown table with
the ratios almc / cp and almc / rsync (targets: at most 0.5 both). Raw timings go to
``OUT/bench-netshare-STAMP.json`` after every measurement.

Thread contract: a script; main thread only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import _datasets
import _harness
from _commands import AlmcInvocation, build_commands
from bench_copy import order_for, select
from netshare import NetShare, NetShareError

REPO = Path(__file__).resolve().parent.parent
KIB, MIB = _datasets.KIB, _datasets.MIB

# one-way delay (ms) -> data sets (key "n": 2 MiB files, "s": 64 KiB files, both in one
# folder; "m": 64 KiB files in folders of 100 or 40, like a plate export's well folders)
SHAPES = {
    1.0: (
        _datasets.DatasetSpec("n", 250, 2 * MIB),
        _datasets.DatasetSpec("s", 1000, 64 * KIB),
        _datasets.DatasetSpec("m", 1000, 64 * KIB, per_folder=100),
    ),
    10.0: (
        _datasets.DatasetSpec("n", 250, 2 * MIB),
        _datasets.DatasetSpec("s", 300, 64 * KIB),
        _datasets.DatasetSpec("m", 320, 64 * KIB, per_folder=40),
    ),
}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=Path("/work/bench-data"))
    p.add_argument("--store", type=Path, help="the server's folder (default DATA_DIR-netshare)")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--delays", default="1,10", help="one-way delays in ms (default 1,10)")
    p.add_argument("--quick", action="store_true", help="a tenth of each data set")
    p.add_argument(
        "--shapes", default="n,s", help="data sets: n (2 MiB), s (64 KiB), m (64 KiB in folders)"
    )
    p.add_argument("--commands", default="cp,naive,rsync,pcp,almc1")
    p.add_argument("--almc-args", default="", help="extra arguments for almc copy")
    p.add_argument("--workers-sweep", default="8,24", help="explicit worker counts to add (almcwN)")
    p.add_argument(
        "--baseline-src",
        type=Path,
        help="another checkout's src folder (e.g. /work/main/src): adds 'base1', its "
        "almc copy, to compare before and after in one run",
    )
    p.add_argument(
        "--fixed-cost",
        type=int,
        default=0,
        metavar="N",
        help="per delay, N alternated copies of one 4-byte file by almc (and the baseline): "
        "a job's fixed cost (start-up, preflight, first file, end)",
    )
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    return p.parse_args(argv)


def shapes(delay: float, quick: bool, keys: str = "n,s") -> list[_datasets.DatasetSpec]:
    base = SHAPES.get(delay, SHAPES[10.0] if delay > 3 else SHAPES[1.0])
    wanted = {k.strip() for k in keys.split(",")}
    base = tuple(s for s in base if s.key in wanted)
    if not quick:
        return list(base)
    return [
        _datasets.DatasetSpec(s.key, max(s.count // 10, 10), s.size, max(s.per_folder // 10, 4))
        for s in base
    ]


PARALLEL_CP = 12


def _parallel_cp(src: Path, root: Path, work: Path) -> list[_harness.Step]:
    """``PARALLEL_CP`` ``cp`` processes at once, 16 files each, into ``root/src.name``."""
    q = shlex.quote
    return [
        _harness.Shell(
            f"set -euo pipefail; cd {q(str(src.parent))} && "
            f"find {q(src.name)} -type d -print0 | (cd {q(str(root))} && xargs -0 mkdir -p) && "
            f"find {q(src.name)} -type f -print0 | xargs -0 -P {PARALLEL_CP} -n 16 "
            f"cp --parents -t {q(str(root))} && sync"
        )
    ]


def almc() -> AlmcInvocation:
    path = os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))
    return AlmcInvocation([sys.executable, "-m", "almc_assistant"], {"PYTHONPATH": path}, [])


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        args.out.mkdir(parents=True, exist_ok=True)
        self.json_path = args.out / f"bench-netshare-{stamp}.json"
        self.log_dir = args.out / "logs" / f"netshare-{stamp}"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.work = args.out / "work-netshare"
        self.work.mkdir(parents=True, exist_ok=True)
        self.store = args.store or args.data_dir.with_name(args.data_dir.name + "-netshare")
        self.mnt = Path(f"/tmp/almc-netshare-mnt-{os.getpid()}")
        invocation = almc()
        invocation = AlmcInvocation(invocation.argv, invocation.env, shlex.split(args.almc_args))
        commands = build_commands(invocation)
        cp = next(c for c in commands if c.key == "cp")
        commands.append(
            replace(cp, key="pcp", label=f"{PARALLEL_CP} x cp at once + sync", build=_parallel_cp)
        )
        if args.baseline_src:
            env = {"PYTHONPATH": str(args.baseline_src.resolve())}
            base = AlmcInvocation(invocation.argv, env, invocation.extra)
            almc1 = next(c for c in build_commands(base) if c.key == "almc1")
            commands.append(replace(almc1, key="base1", label=f"almc ({args.baseline_src})"))
            args.commands += ",base1"
        almc1 = next(c for c in commands if c.key == "almc1")
        for n in filter(None, (w.strip() for w in args.workers_sweep.split(","))):
            fixed = AlmcInvocation(
                invocation.argv, invocation.env, [*invocation.extra, "--workers", n]
            )
            steps = next(c for c in build_commands(fixed) if c.key == "almc1").build
            commands.append(
                replace(almc1, key=f"almcw{n}", label=f"almc --workers {n}", build=steps)
            )
            args.commands += f",almcw{n}"
        self.commands = select(commands, args.commands)
        self.doc: dict[str, Any] = {
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "argv": sys.argv,
            "machine": _harness.machine_facts(args.data_dir, self.store, None),
            "measurements": [],
            "links": [],
        }

    def save(self) -> None:
        self.json_path.write_text(json.dumps(self.doc, indent=1))

    def measure(self, share: NetShare, delay: float, run: int, spec: Any, cmd: Any) -> None:
        src = self.args.data_dir / spec.name
        tag = f"d{delay:g}-{spec.name}-{cmd.key}-r{run + 1}"
        root = self.mnt / "netbench" / tag  # a fresh name: sshfs caches names it has seen
        root.mkdir(parents=True)
        for stale in self.work.iterdir():
            stale.unlink()
        log_path = self.log_dir / f"{tag}.log"
        steps = [_harness.DropCaches(), *cmd.build(src, root, self.work)]
        before = share.link_counters()
        outcome = _harness.run_steps(steps, log_path, self.args.timeout)
        after = share.link_counters()
        moved, back = after[0] - before[0], after[1] - before[1]
        server_side = self.store / "netbench" / tag
        copies = [server_side / src.name]
        if cmd.key.startswith(("almc", "base")):
            copies = [server_side / "1" / src.name]
        if outcome.ok:
            lost = _datasets.missing_from(_datasets.listing(src), copies[0])
            if lost:
                outcome.ok = False
                outcome.error = f"copy incomplete: {len(lost)} files missing (first {lost[0]})"
        almc_doc = self.work / "almc.json"
        summary = None
        if almc_doc.exists():
            try:
                doc = json.loads(almc_doc.read_text())
                summary = {k: v for k, v in doc.items() if not isinstance(v, list | dict)}
                summary["workers"] = doc.get("summary", {}).get("workers")  # as chosen
            except ValueError:
                summary = {"unparsed": almc_doc.read_text()[:500]}
        _harness.remove_tree(server_side)  # on the server's disk: no round trips
        self.doc["measurements"].append(
            {
                "delay_ms": delay,
                "dataset": spec.name,
                "shape": spec.key,
                "command": cmd.key,
                "run": run + 1,
                "seconds": outcome.seconds,
                "cpu_user": outcome.cpu_user,
                "cpu_sys": outcome.cpu_sys,
                "ok": outcome.ok,
                "error": outcome.error,
                "bytes_to_server": moved,
                "bytes_from_server": back,
                "almc": summary,
            }
        )
        self.save()
        state = "ok" if outcome.ok else f"FAILED ({outcome.error[:160]})"
        say(
            f"[{delay:g} ms, run {run + 1}] {spec.name:<14} {cmd.key:<6} "
            f"{outcome.seconds:8.2f} s  {moved / MIB:7.1f} MiB sent {back / MIB:7.1f} MiB "
            f"back  {state}"
        )

    def fixed_cost(self, delay: float) -> None:
        """``--fixed-cost N``: a job of one 4-byte file, N times per almc (this checkout,
        and the baseline when given), alternated; seconds from start to exit."""
        tiny = self.work.parent / f"fixed-cost-src-{os.getpid()}" / "one"
        tiny.mkdir(parents=True, exist_ok=True)
        (tiny / "f.txt").write_bytes(b"abc\n")
        keys = ["almc1"] + (["base1"] if self.args.baseline_src else [])
        for i in range(self.args.fixed_cost):
            for key in keys if i % 2 == 0 else keys[::-1]:
                env = dict(os.environ)
                if key == "base1":
                    env["PYTHONPATH"] = str(self.args.baseline_src.resolve())
                else:
                    env["PYTHONPATH"] = str(REPO / "src")
                tag = f"fixed-d{delay:g}-{key}-{i}"
                root = self.mnt / "netbench" / tag
                root.mkdir(parents=True)
                started = time.perf_counter()
                done = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "almc_assistant",
                        "copy",
                        str(tiny),
                        "--to",
                        str(root),
                        "--json",
                    ],
                    env=env,
                    capture_output=True,
                    timeout=self.args.timeout,
                )
                seconds = time.perf_counter() - started
                _harness.remove_tree(self.store / "netbench" / tag)
                self.doc.setdefault("fixed_cost", []).append(
                    {
                        "delay_ms": delay,
                        "command": key,
                        "seconds": seconds,
                        "ok": done.returncode == 0,
                    }
                )
                say(f"[{delay:g} ms] fixed cost {key:<6} {seconds:6.2f} s")
        _harness.remove_tree(tiny.parent)
        self.save()

    def capacity(self, delay: float) -> tuple[float, float]:
        """MiB/s of one 256 MiB file written through the mount (``dd``, ``conv=fsync``)
        and read back from the server (caches dropped): the link's one-stream capacity."""
        probe = self.mnt / "netbench" / f"capacity-{delay:g}"
        size = 256
        started = time.perf_counter()
        _harness.run_steps(
            [_harness.Shell(f"dd if=/dev/zero of={probe} bs=4M count={size // 4} conv=fsync")],
            self.log_dir / f"capacity-{delay:g}-write.log",
            self.args.timeout,
        )
        wrote = time.perf_counter() - started
        _harness.drop_caches()
        started = time.perf_counter()
        _harness.run_steps(
            [_harness.Shell(f"cat {probe} > /dev/null")],
            self.log_dir / f"capacity-{delay:g}-read.log",
            self.args.timeout,
        )
        read = time.perf_counter() - started
        (self.store / "netbench" / probe.name).unlink(missing_ok=True)
        return size / wrote, size / read

    def run(self) -> None:
        problem = _harness.drop_caches()
        if problem:
            say(f"WARNING: {problem}")
        delays = [float(d) for d in self.args.delays.split(",") if d.strip()]
        for delay in delays:
            specs = shapes(delay, self.args.quick, self.args.shapes)
            for spec in specs:
                _datasets.ensure(spec, self.args.data_dir, say)
            (self.store / "netbench").mkdir(parents=True, exist_ok=True)
            with NetShare(self.store, self.mnt, delay_ms=delay) as share:
                rtt = share.rtt_ms()
                up, down = self.capacity(delay)
                self.doc["links"].append(
                    {"delay_ms": delay, "rtt_ms": rtt, "write_mib_s": up, "read_mib_s": down}
                )
                say(
                    f"share at {delay:g} ms each way: TCP round trip {rtt:.2f} ms; one "
                    f"256 MiB file: written at {up:.0f} MiB/s, read back at {down:.0f} MiB/s"
                )
                if self.args.fixed_cost:
                    self.fixed_cost(delay)
                for run in range(self.args.runs):
                    for spec in specs:
                        for cmd in order_for(run, self.commands):
                            self.measure(share, delay, run, spec, cmd)
        self.doc["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.save()


def render(doc: dict[str, Any]) -> str:
    """Two tables: median seconds per command with almc's ratios against cp, rsync and the
    naive verified copy (default worker count, and the best explicit ``--workers``); then
    per link its capacity and the median MiB each command moved each way."""
    links = {link["delay_ms"]: link for link in doc["links"]}
    rows: dict[tuple[float, str], dict[str, list[float]]] = {}
    moved: dict[tuple[float, str, str], list[tuple[int, int]]] = {}
    for m in doc["measurements"]:
        cell = rows.setdefault((m["delay_ms"], m["dataset"]), {})
        if m["ok"]:
            cell.setdefault(m["command"], []).append(m["seconds"])
            key = (m["delay_ms"], m["dataset"], m["command"])
            moved.setdefault(key, []).append(
                (m.get("bytes_to_server", 0), m.get("bytes_from_server", 0))
            )
    out = [
        "| RTT | data set | cp -r + sync | naive verified | rsync -a + sync | 12 x cp "
        "| almc default | almc / cp | almc / rsync | almc / naive | almc / 12 x cp "
        "| best explicit | best / cp | best / rsync | baseline almc |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | ---: |",
    ]

    def med(cell: dict[str, list[float]], key: str) -> float | None:
        return statistics.median(cell[key]) if cell.get(key) else None

    def ratio(a: float | None, b: float | None) -> str:
        return f"{a / b:.2f}" if a is not None and b else "-"

    def secs(t: float | None) -> str:
        return f"{t:.1f} s" if t is not None else "-"

    for (delay, name), cell in rows.items():
        t = {k: med(cell, k) for k in cell}
        almc = t.get("almc1")
        sweep = {k: v for k, v in t.items() if k.startswith("almcw") and v is not None}
        best_key = min(sweep, key=lambda k: sweep[k]) if sweep else None
        best = sweep[best_key] if best_key else None
        best_text = f"{best:.1f} s ({best_key[5:]} w)" if best_key and best else "-"
        chosen = sorted(
            {
                m["almc"]["workers"]
                for m in doc["measurements"]
                if (m["delay_ms"], m["dataset"], m["command"]) == (delay, name, "almc1")
                and m["ok"]
                and (m.get("almc") or {}).get("workers")
            }
        )
        almc_text = secs(almc) + (f" ({'/'.join(map(str, chosen))} w)" if chosen else "")
        link = links.get(delay, {})
        rtt = f"{link['rtt_ms']:.1f} ms" if link.get("rtt_ms") else f"{delay:g} ms x2"
        cols = [
            rtt,
            name,
            secs(t.get("cp")),
            secs(t.get("naive")),
            secs(t.get("rsync")),
            secs(t.get("pcp")),
            almc_text,
            ratio(almc, t.get("cp")),
            ratio(almc, t.get("rsync")),
            ratio(almc, t.get("naive")),
            ratio(almc, t.get("pcp")),
            best_text,
            ratio(best, t.get("cp")),
            ratio(best, t.get("rsync")),
            secs(t.get("base1")),
        ]
        out.append("| " + " | ".join(cols) + " |")
    fixed: dict[tuple[float, str], list[float]] = {}
    for f in doc.get("fixed_cost", []):
        if f["ok"]:
            fixed.setdefault((f["delay_ms"], f["command"]), []).append(f["seconds"])
    if fixed:
        out += [
            "",
            "| RTT | a job of one file | runs | median | min |",
            "| --- | --- | ---: | ---: | ---: |",
        ]
        for (delay, command), times in fixed.items():
            link = links.get(delay, {})
            rtt = f"{link['rtt_ms']:.1f} ms" if link.get("rtt_ms") else f"{delay:g} ms x2"
            out.append(
                f"| {rtt} | {command} | {len(times)} | {statistics.median(times):.2f} s "
                f"| {min(times):.2f} s |"
            )
    out += [
        "",
        "| RTT | one file written / read back | data set | command | MiB to the server "
        "| MiB back |",
        "| --- | --- | --- | --- | ---: | ---: |",
    ]
    for (delay, name, command), pairs in moved.items():
        link = links.get(delay, {})
        cap = (
            f"{link['write_mib_s']:.0f} / {link['read_mib_s']:.0f} MiB/s"
            if "write_mib_s" in link
            else "-"
        )
        up = statistics.median(p[0] for p in pairs) / MIB
        down = statistics.median(p[1] for p in pairs) / MIB
        rtt = f"{link['rtt_ms']:.1f} ms" if link.get("rtt_ms") else f"{delay:g} ms x2"
        out.append(f"| {rtt} | {cap} | {name} | {command} | {up:.0f} | {down:.0f} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    try:
        bench.run()
    except NetShareError as exc:
        say(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        say("interrupted: the table covers the measurements made so far")
    table = render(bench.doc)
    bench.json_path.with_suffix(".md").write_text(table)
    print(table)
    say(f"raw timings: {bench.json_path}")
    return 0 if all(m["ok"] for m in bench.doc["measurements"]) else 1


if __name__ == "__main__":
    started = time.time()
    code = main()
    say(f"took {time.time() - started:.0f} s")
    sys.exit(code)

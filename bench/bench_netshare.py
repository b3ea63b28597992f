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

Data sets: 500 x 2 MiB and 3,000 x 64 KiB at 1 ms; 250 x 2 MiB and 300 x 64 KiB at 10 ms
(the same shapes as issue 17; ``--quick``: a tenth). Each copy is checked complete on the
server's side (sizes of every file); bytes received by the server's end of the link are
recorded. Prints one Markdown table with the ratios almc / cp and almc / rsync (targets:
at most 0.5 both). Raw timings go to ``OUT/bench-netshare-STAMP.json`` after every
measurement.

Thread contract: a script; main thread only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import statistics
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

# one-way delay (ms) -> data sets (key "n": 2 MiB files, "s": 64 KiB files)
SHAPES = {
    1.0: (_datasets.DatasetSpec("n", 500, 2 * MIB), _datasets.DatasetSpec("s", 3000, 64 * KIB)),
    10.0: (_datasets.DatasetSpec("n", 250, 2 * MIB), _datasets.DatasetSpec("s", 300, 64 * KIB)),
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
    p.add_argument("--commands", default="cp,naive,rsync,almc1")
    p.add_argument("--almc-args", default="", help="extra arguments for almc copy")
    p.add_argument(
        "--baseline-src",
        type=Path,
        help="another checkout's src folder (e.g. /work/main/src): adds 'base1', its "
        "almc copy, to compare before and after in one run",
    )
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    return p.parse_args(argv)


def shapes(delay: float, quick: bool) -> list[_datasets.DatasetSpec]:
    base = SHAPES.get(delay, SHAPES[10.0] if delay > 3 else SHAPES[1.0])
    if not quick:
        return list(base)
    return [_datasets.DatasetSpec(s.key, max(s.count // 10, 10), s.size) for s in base]


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
        if args.baseline_src:
            env = {"PYTHONPATH": str(args.baseline_src.resolve())}
            base = AlmcInvocation(invocation.argv, env, invocation.extra)
            almc1 = next(c for c in build_commands(base) if c.key == "almc1")
            commands.append(replace(almc1, key="base1", label=f"almc ({args.baseline_src})"))
            args.commands += ",base1"
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
        before = share.link_bytes()
        outcome = _harness.run_steps(steps, log_path, self.args.timeout)
        moved = share.link_bytes() - before
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
                "almc": summary,
            }
        )
        self.save()
        state = "ok" if outcome.ok else f"FAILED ({outcome.error[:160]})"
        say(
            f"[{delay:g} ms, run {run + 1}] {spec.name:<14} {cmd.key:<6} "
            f"{outcome.seconds:8.2f} s  {moved / MIB:8.1f} MiB sent  {state}"
        )

    def run(self) -> None:
        problem = _harness.drop_caches()
        if problem:
            say(f"WARNING: {problem}")
        delays = [float(d) for d in self.args.delays.split(",") if d.strip()]
        for delay in delays:
            specs = shapes(delay, self.args.quick)
            for spec in specs:
                _datasets.ensure(spec, self.args.data_dir, say)
            (self.store / "netbench").mkdir(parents=True, exist_ok=True)
            with NetShare(self.store, self.mnt, delay_ms=delay) as share:
                rtt = share.rtt_ms()
                self.doc["links"].append({"delay_ms": delay, "rtt_ms": rtt})
                say(f"share at {delay:g} ms each way: TCP round trip {rtt:.2f} ms")
                for run in range(self.args.runs):
                    for spec in specs:
                        for cmd in order_for(run, self.commands):
                            self.measure(share, delay, run, spec, cmd)
        self.doc["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.save()


def render(doc: dict[str, Any]) -> str:
    """One table: median seconds per command, and almc's ratios against cp and rsync."""
    rtts = {link["delay_ms"]: link["rtt_ms"] for link in doc["links"]}
    rows: dict[tuple[float, str], dict[str, list[float]]] = {}
    for m in doc["measurements"]:
        cell = rows.setdefault((m["delay_ms"], m["dataset"]), {})
        if m["ok"]:
            cell.setdefault(m["command"], []).append(m["seconds"])
    out = [
        "| RTT | data set | cp -r + sync | naive verified | rsync -a + sync | almc (verified) "
        "| almc / cp | almc / rsync | almc / naive | baseline almc | almc / baseline |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]

    def med(cell: dict[str, list[float]], key: str) -> float | None:
        return statistics.median(cell[key]) if cell.get(key) else None

    for (delay, name), cell in rows.items():
        times = {k: med(cell, k) for k in ("cp", "naive", "rsync", "almc1", "base1")}
        shown = [f"{t:.1f} s" if t is not None else "-" for t in times.values()]
        shown.insert(4, shown.pop())  # the baseline's time after the ratios
        ratios = []
        for other in ("cp", "rsync", "naive", "base1"):
            a, b = times["almc1"], times[other]
            ratios.append(f"{a / b:.2f}" if a is not None and b else "-")
        rtt = rtts.get(delay)
        out.append(f"| {rtt:.1f} ms | {name} | " if rtt else f"| {delay:g} ms x2 | {name} | ")
        cols = shown[:4] + ratios[:3] + shown[4:] + ratios[3:]
        out[-1] += " | ".join(cols) + " |"
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

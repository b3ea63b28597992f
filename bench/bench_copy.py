"""Benchmark: almc-assistant's verified copy against cp, b3sum, rsync and rclone.

Usage (as root, so the page cache can be dropped; see bench/README.md)::

    python bench/bench_copy.py [--data-dir DIR] [--dest-dir DIR] [--runs N] [--quick]
                               [--only a,b,c] [--commands cp,naive,...] [--out bench/out]
                               [--almc CMD] [--almc-args ARGS] [--report FILE.json]

Generates the datasets once (cached in --data-dir), then for each run, dataset and
command (order rotated between runs): drops the page cache, runs the command into an
empty destination, checks the copy is complete, deletes it. Writes the raw timings and
machine facts as JSON after every measurement, and prints Markdown tables at the end.

Thread contract: a script; main thread only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import _datasets
import _harness
import _report
from _commands import AlmcInvocation, Command, build_commands

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path("/work/bench-data")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="dataset cache")
    p.add_argument(
        "--dest-dir",
        type=Path,
        help="where copies go (default: DATA_DIR-dest, beside the data, same disk)",
    )
    p.add_argument(
        "--dest-dir2",
        type=Path,
        help="second destination of 'almc copy, 2 destinations' (default: as --dest-dir), "
        "e.g. another disk, to see the cost of a second destination that is not the bottleneck",
    )
    p.add_argument("--runs", type=int, help="repetitions (default 3; 1 with --quick)")
    p.add_argument("--quick", action="store_true", help="small datasets, a smoke check")
    p.add_argument("--only", default="a,b,c", help="datasets to run (default a,b,c)")
    p.add_argument("--commands", help="commands to run (default all: cp,naive,rsync,...)")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "out", help="results folder")
    p.add_argument(
        "--almc",
        help="command starting almc-assistant (default: this Python -m almc_assistant "
        "with PYTHONPATH=<repo>/src)",
    )
    p.add_argument("--almc-args", default="", help="extra arguments for almc copy")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per command")
    p.add_argument("--settle", type=float, default=2.0, help="seconds of rest after each clean-up")
    p.add_argument("--report", type=Path, help="only render the tables of a JSON result")
    args = p.parse_args(argv)
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    if args.runs < 1:
        p.error("--runs must be at least 1")
    args.dest_dir = args.dest_dir or args.data_dir.with_name(args.data_dir.name + "-dest")
    return args


def almc_invocation(args: argparse.Namespace) -> AlmcInvocation:
    extra = shlex.split(args.almc_args)
    if args.almc:
        return AlmcInvocation(shlex.split(args.almc), {}, extra)
    path = os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))
    return AlmcInvocation([sys.executable, "-m", "almc_assistant"], {"PYTHONPATH": path}, extra)


def select(commands: list[Command], wanted: str | None) -> list[Command]:
    if not wanted:
        return commands
    keys = [k.strip() for k in wanted.split(",") if k.strip()]
    unknown = set(keys) - {c.key for c in commands}
    if unknown:
        raise SystemExit(
            f"unknown command(s) {', '.join(sorted(unknown))}; "
            f"choose from {', '.join(c.key for c in commands)}"
        )
    return [c for c in commands if c.key in keys]


def order_for(run: int, commands: list[Command]) -> list[Command]:
    """Row ``run`` of a balanced Latin square (Williams design) over the commands.

    A plain rotation keeps every command behind the same predecessor, and what a command
    leaves behind (writeback, discards of the deleted copy) then biases its successor.
    Over ``len(commands)`` runs (an even count) each command follows every other exactly
    once; fewer runs still vary the predecessors.
    """
    n = len(commands)
    base = [0]
    low, high = 1, n - 1
    while len(base) < n:
        base.append(low)
        low += 1
        if len(base) < n:
            base.append(high)
            high -= 1
    return [commands[(b + run) % n] for b in base]


def _almc_problem(doc: Any) -> str | None:
    """The first problem an almc ``--json`` document reports, in its own words."""
    if not isinstance(doc, dict):
        return None
    if doc.get("detail"):
        return str(doc["detail"])
    for key in ("refused_destinations", "failed", "sources_not_copied"):
        items = doc.get(key)
        if isinstance(items, list) and items:
            first = items[0]
            if isinstance(first, dict):
                text = first.get("detail") or first.get("title") or json.dumps(first)
                return f"{key}: {text}"
    return None


class Benchmark:
    """One benchmark session: its settings, its JSON document, its measurements."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        self.json_path = args.out / f"bench-copy-{stamp}.json"
        self.log_dir = args.out / "logs" / stamp
        self.work = args.out / "work"
        # Only this session's own folder is ever deleted, never --dest-dir itself.
        self.dest_root: Path = args.dest_dir / f"copybench-{stamp}"
        self.dest_root2: Path = (args.dest_dir2 or args.dest_dir) / f"copybench-{stamp}"
        specs = _datasets.QUICK if args.quick else _datasets.FULL
        keys = {k.strip() for k in args.only.split(",")}
        self.specs = [s for s in specs if s.key in keys]
        if not self.specs:
            raise SystemExit(f"--only {args.only}: no dataset among a, b, c")
        self._previous = ""  # the command measured last (its aftermath may linger)
        commands = build_commands(almc_invocation(args), self._second_root)
        self.commands = select(commands, args.commands)
        self.doc: dict[str, Any] = {
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "argv": sys.argv,
            "quick": args.quick,
            "runs": args.runs,
            "cache_drop": "not tried",
            "machine": {},
            "datasets": [],
            "commands": [],
            "measurements": [],
        }

    def _second_root(self, root: Path) -> Path:
        return self.dest_root2 / root.relative_to(self.dest_root)

    def save(self) -> None:
        self.json_path.write_text(json.dumps(self.doc, indent=1))

    def prepare(self) -> dict[str, dict[str, int]]:
        """Facts, tools, cache drop, datasets, free space; the listing of each dataset."""
        args = self.args
        for folder in (args.out, self.log_dir, self.work, self.dest_root, self.dest_root2):
            folder.mkdir(parents=True, exist_ok=True)
        args.data_dir.mkdir(parents=True, exist_ok=True)
        self.doc["machine"] = facts = _harness.machine_facts(
            args.data_dir, args.dest_dir, args.dest_dir2
        )
        say(
            f"machine: {facts['cpu']}, {facts['logical_cores']} cores, "
            f"{facts['memory_gib']} GiB, kernel {facts['kernel']}, load {os.getloadavg()}"
        )
        problem = _harness.drop_caches()
        self.doc["cache_drop"] = problem or "ok"
        if problem:
            say(f"WARNING: {problem}. Times will NOT be cold-cache; run as root on Linux.")
        for cmd in self.commands:
            missing = [t for t in cmd.tools if facts["tools"].get(t) is None]
            entry = {"key": cmd.key, "label": cmd.label}
            if missing:
                entry["missing"] = " and ".join(missing) + " not installed"
                packages = " ".join("coreutils" if t == "cp" else t for t in missing)
                say(f"SKIPPING {cmd.key}: {entry['missing']} (Debian: apt-get install {packages})")
            self.doc["commands"].append(entry)
        listings = {}
        for spec in self.specs:
            root = _datasets.ensure(spec, args.data_dir, say)
            listings[spec.key] = _datasets.listing(root)
            self.doc["datasets"].append(
                {"key": spec.key, "name": spec.name, "label": spec.label, "path": str(root)}
                | {"count": spec.count, "size": spec.size, "total_bytes": spec.total_bytes}
            )
        largest = max(s.total_bytes for s in self.specs)
        copies = 2 if args.dest_dir2 is None else 1
        for folder in {args.dest_dir, args.dest_dir2 or args.dest_dir}:
            need = copies * largest + 2**28
            free = shutil.disk_usage(folder).free
            if free < need:
                raise SystemExit(
                    f"not enough free space in {folder}: {copies} copies of the largest "
                    f"dataset need {need / 2**30:.1f} GiB, {free / 2**30:.1f} GiB free"
                )
        self.save()
        return listings

    def measure(
        self,
        run: int,
        position: int,
        spec: _datasets.DatasetSpec,
        cmd: Command,
        expected: dict[str, int],
    ) -> None:
        """Run one command on one dataset once and record it."""
        src = Path(self.doc["datasets"][self.specs.index(spec)]["path"])
        root = self.dest_root / spec.name / cmd.key
        _harness.remove_tree(root)
        _harness.remove_tree(self._second_root(root))
        root.mkdir(parents=True)
        self._second_root(root).mkdir(parents=True, exist_ok=True)
        for stale in self.work.iterdir():
            stale.unlink()
        log_path = self.log_dir / f"run{run + 1}-{spec.key}-{cmd.key}.log"
        steps = [_harness.DropCaches(), *cmd.build(src, root, self.work)]
        load_before = os.getloadavg()
        outcome = _harness.run_steps(steps, log_path, self.args.timeout)
        record: dict[str, Any] = {
            "run": run + 1,
            "position": position,
            "after": self._previous,
            "dataset": spec.key,
            "command": cmd.key,
            "load_before": load_before,
            "load_after": os.getloadavg(),
            "log": str(log_path),
        }
        almc_doc = self._almc_output()
        if almc_doc is not None:
            record["almc_json"] = almc_doc
        if outcome.ok:
            copies = cmd.copies(root, src.name)
            bad = [c for c in copies if _datasets.missing_from(expected, c)]
            if bad and cmd.key.startswith("almc"):  # contents straight into each --to?
                copies = [c.parent for c in copies]
                bad = [c for c in copies if _datasets.missing_from(expected, c)]
            if bad:
                lost = _datasets.missing_from(expected, bad[0])
                outcome.ok = False
                outcome.error = (
                    f"copy incomplete: {len(lost)} of {len(expected)} files missing or of "
                    f"another size in {bad[0]} (first: {lost[0]})"
                )
        else:
            detail = _almc_problem(almc_doc)
            outcome.error = f"{outcome.error}: {detail or _harness.tail(log_path, 3)}"
        _harness.remove_tree(root)
        _harness.remove_tree(self._second_root(root))
        time.sleep(self.args.settle)  # let the storage absorb the deletion before the next
        record |= {
            "seconds": outcome.seconds,
            "cpu_user": outcome.cpu_user,
            "cpu_sys": outcome.cpu_sys,
            "ok": outcome.ok,
            "error": outcome.error,
            "steps": outcome.steps,
        }
        self.doc["measurements"].append(record)
        self._previous = cmd.key
        self.save()
        state = "ok" if outcome.ok else f"FAILED ({outcome.error.splitlines()[0][:160]})"
        say(
            f"[run {run + 1}/{self.args.runs}] ({spec.key}) {cmd.key:<6} "
            f"{outcome.seconds:8.2f} s  {state}  load {load_before[0]:.2f}"
        )

    def _almc_output(self) -> Any:
        path = self.work / "almc.json"
        if not path.exists():
            return None
        text = path.read_text(errors="replace")
        if not text.strip():
            return None
        try:
            doc = json.loads(text)
        except ValueError:
            return {"unparsed_stdout": text[:2000]}
        if len(text) > 20_000 and isinstance(doc, dict):  # keep the summary, not per file
            return {k: v for k, v in doc.items() if not isinstance(v, list | dict)}
        return doc

    def run(self) -> None:
        listings = self.prepare()
        skipped = {c["key"] for c in self.doc["commands"] if c.get("missing")}
        runnable = [c for c in self.commands if c.key not in skipped]
        say(f"results: {self.json_path}")
        try:
            for run in range(self.args.runs):
                for spec in self.specs:
                    for position, cmd in enumerate(order_for(run, runnable)):
                        self.measure(run, position, spec, cmd, listings[spec.key])
        finally:
            self.doc["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            self.save()
            shutil.rmtree(self.dest_root, ignore_errors=True)
            shutil.rmtree(self.dest_root2, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        doc = json.loads(args.report.read_text())
        print(_report.render(doc))
        return 0
    bench = Benchmark(args)
    try:
        bench.run()
    except KeyboardInterrupt:
        say("interrupted: tables below cover the measurements made so far")
    table = _report.render(bench.doc)
    table_path = bench.json_path.with_suffix(".md")
    table_path.write_text(table)
    for src in (bench.json_path, table_path):
        shutil.copyfile(src, args.out / f"latest{src.suffix}")
    print(table)
    say(f"raw timings: {bench.json_path}\ntables: {table_path}")
    failed = [m for m in bench.doc["measurements"] if not m["ok"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

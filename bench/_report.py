"""Turning the raw measurements (the benchmark's JSON document) into Markdown tables.

Works on the JSON document alone, so ``bench_copy.py --report FILE`` can render a table
from an earlier, even interrupted, run.

Thread contract: main thread only.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

# (numerator, denominator, label, target per dataset key); None: no target on that set.
# Issue 17's targets (the second destination's on another device: ``--dest-dir2``).
RATIOS: list[tuple[str, str, str, dict[str, float]]] = [
    ("almc1", "naive", "almc 1 dest / naive verified copy", {"a": 0.85, "b": 0.7, "c": 0.7}),
    ("almc1", "rclone", "almc 1 dest / rclone copy + check", {"a": 0.5, "b": 0.5, "c": 0.5}),
    ("almc2", "almc1", "almc 2 dests / almc 1 dest", {"a": 1.2, "b": 1.2, "c": 1.2}),
]


@dataclass(frozen=True)
class Cell:
    """Summary of one command on one dataset."""

    seconds: list[float]  # successful runs only
    cpu: list[tuple[float, float]]  # (user, sys) of successful runs
    failures: list[str]
    skipped: str  # why it was not run at all ("rclone missing"), else ""
    by_run: dict[int, float]  # run number -> seconds, successful runs only

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None


def summarise(doc: dict[str, Any]) -> dict[tuple[str, str], Cell]:
    """One ``Cell`` per (dataset key, command key)."""
    skipped = {c["key"]: c.get("missing", "") for c in doc["commands"]}
    cells: dict[tuple[str, str], Cell] = {}
    for ds in doc["datasets"]:
        for cmd in doc["commands"]:
            runs = [
                m
                for m in doc["measurements"]
                if m["dataset"] == ds["key"] and m["command"] == cmd["key"]
            ]
            good = [m for m in runs if m["ok"]]
            cells[ds["key"], cmd["key"]] = Cell(
                seconds=[m["seconds"] for m in good],
                cpu=[(m["cpu_user"], m["cpu_sys"]) for m in good],
                failures=[m["error"] for m in runs if not m["ok"]],
                skipped=skipped.get(cmd["key"], "") if not runs else "",
                by_run={m["run"]: m["seconds"] for m in good},
            )
    return cells


def _time_cell(cell: Cell, total_bytes: int) -> str:
    if cell.skipped:
        return f"not run: {cell.skipped}"
    if cell.median is None:
        first = " ".join(cell.failures[0].split()) if cell.failures else "?"
        return f"**failed** ({len(cell.failures)}×): {_cell_text(first, 120)}"
    rate = total_bytes / cell.median / 2**20
    spread = f"{min(cell.seconds):.2f}–{max(cell.seconds):.2f}"
    text = f"{cell.median:.2f} s ({spread}) · {rate:,.0f} MiB/s"
    if cell.failures:
        text += f" ({len(cell.failures)} failed)"
    return text


def _cpu_cell(cell: Cell) -> str:
    if not cell.cpu:
        return "–"
    user = statistics.median(u for u, _ in cell.cpu)
    system = statistics.median(s for _, s in cell.cpu)
    return f"{user:.1f} / {system:.1f}"


def _cell_text(text: str, limit: int = 90) -> str:
    text = text.replace("|", "\\|").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _load_summary(doc: dict[str, Any]) -> str:
    loads = [m["load_before"][0] for m in doc["measurements"] if m.get("load_before")]
    if not loads:
        return "no measurement"
    return f"median {statistics.median(loads):.2f}, max {max(loads):.2f}"


def render(doc: dict[str, Any]) -> str:
    """The Markdown block for the README: facts, times, ratios with PASS/MISS, CPU."""
    cells = summarise(doc)
    facts = doc["machine"]
    datasets = doc["datasets"]
    heads = " | ".join(ds["label"] for ds in datasets)
    rule = "|".join("---" for _ in range(len(datasets) + 1))
    tools = ", ".join(f"{k}: {v or 'MISSING'}" for k, v in facts["tools"].items())
    drop = doc["cache_drop"]
    lines = [
        f"Measured {doc['started'][:16].replace('T', ' ')} UTC, {doc['runs']} run(s)"
        f"{' (--quick datasets)' if doc['quick'] else ''}, command order from a balanced "
        "Latin square; medians, (min–max).",
        f"Machine: {facts['cpu']}, {facts['logical_cores']} logical cores, "
        f"{facts['memory_gib']} GiB RAM, Linux {facts['kernel']}; source on "
        f"{facts['data_fs']}, destination `{facts['dest_dir']}` on {facts['dest_fs']}"
        + (
            f"; almc's second destination `{facts['dest_dir2']}` on {facts['dest_fs2']}."
            if facts.get("dest_dir2")
            else "."
        ),
        "Page cache dropped before each command: "
        + ("yes." if drop == "ok" else f"**NO** ({drop}): times are not cold-cache."),
        f"Load average (1 min) before each command: {_load_summary(doc)} "
        "(shared machine: compare the ratios, not absolute times).",
        f"Tools: {tools}.",
        "",
        f"| Command | {heads} |",
        f"|{rule}|",
    ]
    for cmd in doc["commands"]:
        row = [_time_cell(cells[ds["key"], cmd["key"]], ds["total_bytes"]) for ds in datasets]
        lines.append(f"| {cmd['label']} | " + " | ".join(row) + " |")
    lines += [
        "",
        "Throughput is source bytes per second (each byte once, also for 2 destinations).",
        "",
        "| Dataset | Ratio | Measured (ratio of medians) | Per run | Target | Result |",
        "|---|---|---|---|---|---|",
    ]
    for ds in datasets:
        for num, den, label, targets in RATIOS:
            target = targets.get(ds["key"])
            empty = Cell([], [], [], "not selected", {})
            top = cells.get((ds["key"], num), empty)
            bottom = cells.get((ds["key"], den), empty)
            a, b = top.median, bottom.median
            paired = [
                f"{top.by_run[r] / bottom.by_run[r]:.2f}"
                for r in sorted(top.by_run.keys() & bottom.by_run.keys())
                if bottom.by_run[r] > 0
            ]
            per_run = ", ".join(paired) or "–"
            if a is None or b is None or b == 0:
                measured, verdict = "n/a", "n/a (a command failed or did not run)"
            else:
                ratio = a / b
                measured = f"{ratio:.2f}×"
                verdict = "–" if target is None else ("PASS" if ratio <= target else "MISS")
            goal = "–" if target is None else f"≤ {target:g}×"
            lines.append(
                f"| {ds['label']} | {label} | {measured} | {per_run} | {goal} | {verdict} |"
            )
    lines += [
        "",
        "CPU seconds (user / system) of each command, medians:",
        "",
        f"| Command | {heads} |",
        f"|{rule}|",
    ]
    for cmd in doc["commands"]:
        row = [_cpu_cell(cells[ds["key"], cmd["key"]]) for ds in datasets]
        lines.append(f"| {cmd['label']} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"

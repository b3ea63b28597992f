"""Watcher benchmark: the initial scan of 100,000 files, and memory while watching.

Run from the repository root (Linux; RSS is read from /proc/self/status):

    /work/venv/bin/python bench/bench_watch.py              # full: 3 runs, 5 min live
    /work/venv/bin/python bench/bench_watch.py --quick      # 10,000 files, 1 min live

1. **Scan.** ``--files`` files (1 KiB each, 100 sub-folders) generated once under
   ``--data-dir`` (outside the repository; a marker file says the set is whole). Each
   measurement runs in a fresh child process (clean peak memory), page cache warm:

   - ``find -printf``: ``find DIR -type f -printf '%s %T@\\n'`` (a standard tool that
     stats every file, like the scan does): the floor;
   - ``almc restart``: ``Watcher.scan(known)`` with the catalog knowing every file
     (the app restarting, nothing changed): no events;
   - ``almc first``: ``Watcher.scan({})`` with an empty catalog: every file is new, so it
     is opened once and published as FileAppeared + FileStabilised.

2. **Live.** A started watcher (native and/or polling observer) on an empty folder
   while a writer thread creates ``--rate`` files a minute (each written in 4 chunks of
   16 KiB) for ``--minutes``; RSS and the watcher's structure sizes sampled every
   ``--sample`` seconds; at the end it waits until every file is stabilised. The
   catalog is a counting sink (its own memory is the catalog's business, not measured).

Prints Markdown tables; raw numbers go to ``bench/out/bench-watch-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

FILE_SIZE = 1024
FOLDERS = 100


# ---------------------------------------------------------------- helpers
def proc_status_kib(field: str) -> int:
    """A ``kB`` field of /proc/self/status (VmRSS, VmHWM), 0 where unavailable."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def generate(data_dir: Path, files: int) -> Path:
    """``files`` files of 1 KiB in ``FOLDERS`` sub-folders, generated once."""
    root = data_dir / f"scan-{files}"
    marker = data_dir / f"scan-{files}.complete.json"
    if marker.is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    print(f"generating {files:,} files in {root} ...", flush=True)
    payload = os.urandom(FILE_SIZE)
    per_folder = -(-files // FOLDERS)
    for i in range(files):
        folder = root / f"run{i // per_folder:03d}"
        if i % per_folder == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"img{i:06d}.tif").write_bytes(payload)
    marker.write_text(json.dumps({"files": files, "size": FILE_SIZE}))
    return root


class CountingSink:
    """Counts events by type (thread-safe); stands in for the catalog."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def publish(self, event: object) -> None:
        with self._lock:
            self.counts[type(event).__name__] += 1

    def get(self, name: str) -> int:
        with self._lock:
            return self.counts[name]


# ---------------------------------------------------------------- child: one scan
def child_scan(root: Path, mode: str) -> dict[str, Any]:
    from almc_assistant.core.watch import Watcher

    known: dict[Path, tuple[int, int, int, int]] = {}
    if mode == "restart":  # what the catalog would answer (built before timing)
        for dirpath, _, names in os.walk(root):
            for name in names:
                path = Path(dirpath) / name
                st = path.lstat()
                known[path] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    rss_before = proc_status_kib("VmRSS")
    sink = CountingSink()
    watcher = Watcher([root], sink, quiet_seconds=60.0)
    started = time.perf_counter()
    watcher.scan(known)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "events": dict(sink.counts),
        "rss_before_kib": rss_before,
        "hwm_kib": proc_status_kib("VmHWM"),
    }


def run_child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def time_find(root: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["find", str(root), "-type", "f", "-printf", "%s %T@\n"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def bench_scan(root: Path, files: int, runs: int) -> dict[str, Any]:
    results: dict[str, list[dict[str, Any]]] = {"find": [], "restart": [], "first": []}
    for run in range(runs):
        order = ["find", "restart", "first"]
        order = order[run % 3 :] + order[: run % 3]  # rotate: nobody always goes first
        for key in order:
            if key == "find":
                results[key].append({"seconds": time_find(root)})
            else:
                results[key].append(run_child(["--child-scan", str(root), key]))
            print(f"  run {run + 1} {key}: {results[key][-1]['seconds']:.2f} s", flush=True)
    return {"files": files, "runs": results}


# ---------------------------------------------------------------- child: live watching
def child_live(folder: Path, polling: bool, rate: float, minutes: float, sample: float,
               quiet: float) -> dict[str, Any]:  # fmt: skip
    from almc_assistant.core.watch import Watcher

    sink = CountingSink()
    watcher = Watcher([folder], sink, quiet_seconds=quiet, polling=polling, poll_interval=2.0)
    watcher.start()
    watcher.scan(lambda f: {})
    written = 0
    stop = threading.Event()
    chunk = os.urandom(16 * 1024)

    def writer() -> None:
        nonlocal written
        interval = 60.0 / rate
        t0 = time.monotonic()
        end = t0 + minutes * 60
        while not stop.is_set() and time.monotonic() < end:
            due = t0 + written * interval
            if stop.wait(max(0.0, due - time.monotonic())):
                return
            sub = folder / f"run{written // 1000:03d}"
            sub.mkdir(exist_ok=True)
            with open(sub / f"img{written:07d}.tif", "wb") as f:
                for _ in range(4):
                    f.write(chunk)
                    f.flush()
            written += 1

    samples: list[dict[str, Any]] = []
    t_start = time.monotonic()
    w = threading.Thread(target=writer, name="bench-writer")
    w.start()
    try:
        while w.is_alive():
            w.join(sample)
            st = watcher.stats()
            samples.append(
                {
                    "t": round(time.monotonic() - t_start, 1),
                    "written": written,
                    "stabilised": sink.get("FileStabilised"),
                    "rss_kib": proc_status_kib("VmRSS"),
                    "queued": st.queued,
                    "acquiring": st.acquiring,
                }
            )
            print(json.dumps(samples[-1]), file=sys.stderr, flush=True)
        deadline = time.monotonic() + quiet * 4 + 60
        while sink.get("FileStabilised") < written and time.monotonic() < deadline:
            time.sleep(0.5)
        stats = watcher.stats()
    finally:
        stop.set()
        w.join()
        watcher.stop()
    return {
        "observer": "polling" if polling else "native",
        "written": written,
        "events": dict(sink.counts),
        "samples": samples,
        "queued_high_water": stats.queued_high_water,
        "acquiring_high_water": stats.acquiring_high_water,
        "hwm_kib": proc_status_kib("VmHWM"),
    }


def bench_live(data_dir: Path, polling: bool, args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="live-", dir=data_dir))
    try:
        return run_child(
            [
                "--child-live",
                str(folder),
                "polling" if polling else "native",
                str(args.rate),
                str(args.minutes),
                str(args.sample),
                str(args.quiet),
            ]
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def slope_kib_per_1000(samples: list[dict[str, Any]]) -> float | None:
    """Least-squares RSS growth per 1,000 files written, over the second half."""
    half = [s for s in samples[len(samples) // 2 :] if s["written"]]
    if len(half) < 3:
        return None
    xs = [s["written"] / 1000 for s in half]
    ys = [s["rss_kib"] for s in half]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return None if den == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den


# ---------------------------------------------------------------- report
def report(doc: dict[str, Any]) -> str:
    lines = [f"Machine: {doc['machine']}; load before: {doc['load']}", ""]
    scan = doc.get("scan")
    if scan:
        files = scan["files"]
        med = {k: statistics.median(r["seconds"] for r in v) for k, v in scan["runs"].items()}
        lines += [
            f"Initial scan of {files:,} files (median of {len(scan['runs']['find'])} runs, "
            "warm page cache)",
            "",
            "| Scan | Seconds | Files/s | vs `find -printf` | Peak RSS |",
            "|---|---:|---:|---:|---:|",
        ]
        labels = {
            "find": "`find -type f -printf '%s %T@'` (floor)",
            "restart": "almc, catalog knows every file (restart)",
            "first": "almc, empty catalog (first start: opens every file)",
        }
        for key in ("find", "restart", "first"):
            hwm = [r.get("hwm_kib", 0) for r in scan["runs"][key]]
            peak = f"{max(hwm) / 1024:.0f} MiB" if any(hwm) else "—"
            lines.append(
                f"| {labels[key]} | {med[key]:.2f} | {files / med[key]:,.0f} | "
                f"{med[key] / med['find']:.1f}× | {peak} |"
            )
        lines.append("")
    for live in doc.get("live", []):
        s = live["samples"]
        rss = [x["rss_kib"] for x in s]
        slope = slope_kib_per_1000(s)
        lines += [
            f"Watching ({live['observer']} observer) while {live['written']:,} files arrive "
            f"({doc['args']['rate']:g}/min for {doc['args']['minutes']:g} min, quiet "
            f"{doc['args']['quiet']:g} s):",
            "",
            "| RSS first sample | RSS max | RSS last | growth / 1,000 files (2nd half) "
            "| max acquiring | max queued | stabilised |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {rss[0] / 1024:.1f} MiB | {max(rss) / 1024:.1f} MiB | {rss[-1] / 1024:.1f} MiB "
            f"| {'—' if slope is None else f'{slope:+.0f} KiB'} | "
            f"{live['acquiring_high_water']:,} | {live['queued_high_water']:,} | "
            f"{live['events'].get('FileStabilised', 0):,} / {live['written']:,} |",
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child-scan":
        print(json.dumps(child_scan(Path(sys.argv[2]), sys.argv[3])))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--child-live":
        folder, kind, rate, minutes, sample, quiet = sys.argv[2:8]
        result = child_live(
            Path(folder), kind == "polling", float(rate), float(minutes), float(sample),
            float(quiet),
        )  # fmt: skip
        print(json.dumps(result))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path("/work/bench-data/watch"))
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rate", type=float, default=1000.0, help="files a minute (live)")
    ap.add_argument("--minutes", type=float, default=5.0, help="live duration")
    ap.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    ap.add_argument("--quiet", type=float, default=10.0, help="quiet period (live)")
    ap.add_argument("--observers", default="native,polling")
    ap.add_argument("--skip", default="", help="scan,live: parts to leave out")
    ap.add_argument("--quick", action="store_true", help="10,000 files, 1 run, 1 min live")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = ap.parse_args()
    if args.quick:
        args.files, args.runs, args.minutes, args.quiet = 10_000, 1, 1.0, 5.0
    args.data_dir.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    skip = set(filter(None, args.skip.split(",")))
    if "scan" not in skip:
        root = generate(args.data_dir, args.files)
        print(f"scan benchmark on {root}", flush=True)
        doc["scan"] = bench_scan(root, args.files, args.runs)
    if "live" not in skip:
        doc["live"] = []
        for kind in filter(None, args.observers.split(",")):
            print(f"live benchmark, {kind} observer, {args.minutes:g} min ...", flush=True)
            doc["live"].append(bench_live(args.data_dir, kind == "polling", args))
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (args.out / f"bench-watch-{stamp}.json").write_text(json.dumps(doc, indent=1))
    text = report(doc)
    (args.out / "bench-watch-latest.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Catalog benchmark: a catalog of 1,000,000 files; how fast the questions are answered.

Run from the repository root:

    PYTHONPATH=src python bench/bench_catalog.py [--files 1000000] [--users 100] [--runs 21]

Builds a real SQLite catalog (WAL, the app's schema) in a temporary folder with
``--files`` files spread over ``--users`` owners, 80 % of them with verified copies on a
backed-up destination (so they are safe), then times, as medians over ``--runs`` runs
after one warm-up:

- ``unsafe_files(user)``: the list behind ``status`` (target: under 50 ms);
- ``pending(user)``: the logout reminder's question;
- ``unsafe_totals(user)``: sizes by session;
- ``record_seen_many``: recording a scan of 100,000 new files (files per second);
- ``quick_check``: the integrity check the headless watcher can run at start.

Prints a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from almc_assistant.core.catalog import Catalog, FileState
from almc_assistant.core.config import PolicySettings
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.policy import Policy

NS = 1_000_000_000


def build(db: Path, files: int, users: int, policy: Policy) -> None:
    """Insert rows the way the catalog stores them, in big transactions (setup only)."""
    rng = random.Random(7)
    now = time.time()
    with Catalog(db, safety=policy.is_safe, safety_key=policy.key) as cat:
        conn = cat.db.conn()
        conn.execute("BEGIN")
        for u in range(users):
            conn.execute(
                "INSERT INTO sessions (id, owner, started_at, ended_at) VALUES (?, ?, ?, ?)",
                (u + 1, f"user{u:03d}", now - 86_400, None),
            )
        batch: list[tuple[object, ...]] = []
        copies: list[tuple[object, ...]] = []
        for i in range(files):
            u = i % users
            safe = rng.random() < 0.8
            path = f"/data/acq/user{u:03d}/run{i // 1000:05d}/img{i:07d}.tif"
            size = rng.randint(1_000_000, 8_000_000)
            born = now - rng.uniform(0, 60 * 86_400)
            batch.append(
                (
                    i + 1,
                    path,
                    "/data/acq",
                    size,
                    int(born * NS),
                    f"user{u:03d}",
                    born,
                    born,
                    u + 1,
                    FileState.COMPLETE.value,
                    born,
                    int(safe),
                )
            )
            if safe:
                copies.append(
                    (i + 1, "/mnt/bit", "/mnt/bit" + path, size, int(born * NS), "ab" * 32, born)
                )
            if len(batch) == 50_000:
                _flush(conn, batch, copies)
        _flush(conn, batch, copies)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")


def _flush(conn, batch, copies) -> None:  # type: ignore[no-untyped-def]
    conn.executemany(
        "INSERT INTO files (id, path, root, size, mtime_ns, owner, first_seen, born,"
        " session_id, state, state_at, safe) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        batch,
    )
    conn.executemany(
        "INSERT INTO copies (file_id, destination_root, path, size, mtime_ns, blake3,"
        " verified_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        copies,
    )
    batch.clear()
    copies.clear()


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--scan", type=int, default=100_000, help="files in the recorded scan")
    args = ap.parse_args()
    policy = Policy(
        PolicySettings(), [Destination("BIT", Path("/mnt/bit"), DestinationKind.INSTITUTIONAL)]
    )
    with tempfile.TemporaryDirectory(prefix="almc-bench-") as tmp:
        db = Path(tmp) / "catalog.sqlite3"
        t0 = time.perf_counter()
        build(db, args.files, args.users, policy)
        built = time.perf_counter() - t0
        size_mb = db.stat().st_size / 1e6
        rows: list[tuple[str, str]] = []
        with Catalog(db, safety=policy.is_safe, safety_key=policy.key) as cat:
            user = "user042"
            unsafe = len(cat.unsafe_files(user))
            rows.append(
                (
                    f"unsafe_files(user): {unsafe} files with their copies",
                    f"{median_ms(lambda: cat.unsafe_files(user), args.runs):.1f} ms",
                )
            )
            rows.append(
                (
                    "pending(user) (logout reminder)",
                    f"{median_ms(lambda: cat.pending(user), args.runs):.2f} ms",
                )
            )
            rows.append(
                (
                    "unsafe_totals(user) (sizes by session)",
                    f"{median_ms(lambda: cat.unsafe_totals(user), args.runs):.2f} ms",
                )
            )
            folder = Path("/data/acq/user042")
            known = median_ms(lambda: cat.known_files(folder), 5)
            rows.append(("known_files(folder of one user) (rescan)", f"{known:.0f} ms"))
            scan = [
                (Path(f"/data/new/s{i:07d}.tif"), 4_000_000, i * NS, "user042", Path("/data/new"))
                for i in range(args.scan)
            ]
            t0 = time.perf_counter()
            for start in range(0, len(scan), 2000):  # as the catalog writer batches them
                cat.record_seen_many(scan[start : start + 2000])
            rate = args.scan / (time.perf_counter() - t0)
            rows.append((f"record a scan of {args.scan:,} new files", f"{rate:,.0f} files/s"))
            t0 = time.perf_counter()
            cat.db.conn().execute("PRAGMA quick_check(1)").fetchone()
            rows.append(
                ("quick_check (integrity, at watcher start)", f"{time.perf_counter() - t0:.1f} s")
            )
    print(
        f"Catalog of {args.files:,} files, {args.users} users, {size_mb:.0f} MB "
        f"(built in {built:.0f} s); medians of {args.runs} runs; "
        f"Python {sys.version.split()[0]}, SQLite {__import__('sqlite3').sqlite_version}.\n"
    )
    print("| question | time |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared-workstation benchmark: a user's catalog with many rows of other owners.

Run from the repository root:

    PYTHONPATH=src python bench/bench_staff_view.py [--foreign 200000] [--own 2000] [--runs 5]

Builds a real catalog holding ``--own`` files of user ``b`` (half of them with a verified
copy on a backed-up destination) and ``--foreign`` files of another owner (what ``b``'s
watcher records when someone fills a common folder), then times, as medians:

- ``status`` for ``b`` (the service's query; must not grow with the other owner's rows);
- staff reading ``b``'s catalog as hints: the snapshot copy, opening it, dropping the
  other owner's rows and copies outside the trusted destinations, and deciding safety
  again (``core.staff_view``; the per-row ``lstat`` runs on paths that do not exist here).

Prints a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from almc_assistant.core.catalog import Catalog, FileState
from almc_assistant.core.config import Config, PolicySettings, RetentionSettings
from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.policy import Policy, Retention
from almc_assistant.core.staff_view import _copy_foreign, _keep_only_owner
from almc_assistant.core.status import build_status

NS = 1_000_000_000


def build(db: Path, own: int, foreign: int, policy: Policy, bit: Path) -> None:
    with Catalog(db, safety=policy.is_safe) as cat:
        rows = [(Path(f"/acq/other/f{i:07d}.tif"), 1 << 40, NS, "a", None) for i in range(foreign)]
        for start in range(0, len(rows), 20_000):
            cat.record_seen_many(rows[start : start + 20_000], state=FileState.COMPLETE)
        mine = [(Path(f"/acq/b/f{i:06d}.nd2"), 1 << 20, NS, "b", None) for i in range(own)]
        cat.record_seen_many(mine, state=FileState.COMPLETE)
        with cat.transaction():
            for path, size, mtime, _, _ in mine[: own // 2]:
                copy = CopyRecord(
                    source=path,
                    destination_root=bit,
                    path=bit / path.name,
                    size=size,
                    mtime_ns=mtime,
                    blake3="0" * 64,
                    verified_at=time.time(),
                )
                cat.record_copy(copy, owner="b")


def median(fn: Callable[[], object], runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--foreign", type=int, default=200_000)
    ap.add_argument("--own", type=int, default=2_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    bit = Path("/bit")
    dest = Destination("BIT", bit, DestinationKind.INSTITUTIONAL, origin="facility")
    policy = Policy(PolicySettings(), [dest])
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "b" / "catalog.sqlite3"
        build(db, args.own, args.foreign, policy, bit)
        retention = Retention(RetentionSettings())
        with Catalog(db, safety=policy.is_safe) as cat:

            def status() -> object:
                return build_status(
                    cat,
                    "b",
                    policy=policy,
                    retention=retention,
                    volumes=(),
                    problems=(),
                    now=time.time(),
                )

            report = build_status(
                cat,
                "b",
                policy=policy,
                retention=retention,
                volumes=(),
                problems=(),
                now=time.time(),
            )
            t_status = median(status, args.runs)
        config = Config(facility_destinations=(dest,))
        counter = iter(range(1_000_000))

        def staff() -> None:
            into = Path(tmp) / f"snap{next(counter)}"
            into.mkdir(mode=0o700)
            snap = into / "catalog.sqlite3"
            _copy_foreign(db, snap, os.geteuid(), required=True)
            with Catalog(snap, safety=Policy(config.policy, [dest]).is_safe) as hints:
                _keep_only_owner(hints, "b", os.geteuid(), [bit])
                hints.recompute_safety()

        t_staff = median(staff, args.runs)
    print(f"| catalog: {args.own:,} files of b, {args.foreign:,} of another owner | time |")
    print("| --- | --- |")
    print(
        f"| `status` for b ({report.total_files:,} unsafe files listed) | {t_status * 1e3:.0f} ms |"
    )
    print(f"| staff: snapshot, filter and re-decide b's catalog | {t_staff:.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

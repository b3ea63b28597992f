"""Long run of the cleanup model (tests/core/cleanup/model.py): random sequences of acquire,
modify (same-size, mtime-restored edits too), copy through the service, concurrent
copies, corrupt a copy, replace a copy by a link, unmount a destination, cleanup --apply;
the invariants are checked after every step. Run as root for real tmpfs disks.

    .venv/bin/python bench/model_cleanup.py --examples 200 --steps 50
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]


def main() -> int:
    from hypothesis import HealthCheck, settings
    from hypothesis.stateful import run_state_machine_as_test
    from tests.core.cleanup.model import STEPS, CleanupModel

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="sequences to run")
    parser.add_argument("--steps", type=int, default=50, help="steps per sequence (at most)")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed")
    args = parser.parse_args()
    start = time.monotonic()
    run_state_machine_as_test(
        CleanupModel,
        settings=settings(
            max_examples=args.examples,
            stateful_step_count=args.steps,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            derandomize=args.seed is None,
        ),
    )
    took = time.monotonic() - start
    print(
        f"{args.examples} sequences, {STEPS['count']} steps in {took:.0f} s: "
        f"{STEPS['verified']} copies called verified (each checked), "
        f"{STEPS['deleted']} files deleted by cleanup (each with an identical independent "
        f"copy), {STEPS['kept']} kept; no invariant broken"
    )
    rules = {k[5:]: v for k, v in STEPS.items() if k.startswith("rule ")}
    print("steps by rule: " + ", ".join(f"{k} {v}" for k, v in sorted(rules.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

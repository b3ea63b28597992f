"""Total fuzzing time, executions and findings over the fuzzer's logs.

Rerun: ``.venv/bin/python -m bench.fuzz.summary`` (reads ``bench/out/fuzzlogs/run-*.log``,
written by ``bench/fuzz/loop.sh``). Time per run is executions / average executions per
second, as libFuzzer's final statistics give them.

Thread contract: a standalone program, one thread.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_LOGS = Path(__file__).resolve().parents[2] / "bench" / "out" / "fuzzlogs"


def main() -> None:
    runs = executions = findings = 0
    seconds = 0.0
    for log in sorted(_LOGS.glob("run-*.log")):
        text = log.read_text(errors="replace")
        units = re.search(r"stat::number_of_executed_units: (\d+)", text)
        rate = re.search(r"stat::average_exec_per_sec:\s+(\d+)", text)
        if not units:  # killed by its finding before the final statistics: last progress
            progress = re.findall(r"^#(\d+)\s.*exec/s: (\d+)", text, re.MULTILINE)
            if not progress:
                continue
            units, rate = (re.match(r"(\d+)", v) for v in progress[-1])
        runs += 1
        assert units is not None
        executions += int(units.group(1))
        if rate and int(rate.group(1)):
            seconds += int(units.group(1)) / int(rate.group(1))
        findings += text.count("Uncaught Python exception")
        findings += text.count("ERROR: libFuzzer: timeout") + text.count("out-of-memory")
    print(
        f"{runs} runs, {seconds / 60:.1f} minutes of fuzzing, {executions:,} executions, "
        f"{findings} findings (crash, timeout or out-of-memory)"
    )


if __name__ == "__main__":
    sys.exit(main())

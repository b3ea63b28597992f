"""Benchmark: peak memory (and time) of one copy job over very many files.

Usage (from the repository root)::

    python bench/bench_many_files.py [--files 100000] [--size 4096] [--data-dir DIR]
                                     [--dest DIR] [--almc-args ARGS] [--rerun] [--repeat N]

Generates ``--files`` files of ``--size`` random bytes once (100 per folder, as a plate
export: ``DATA_DIR/many-N x S/well-XXXX/``), copies them with ``almc-assistant copy
--json`` into a fresh folder of ``--dest`` (default ``DATA_DIR-dest``), checks every file
arrived verified, and prints the wall time and the peak resident memory of the copy
process (``ru_maxrss`` of the child). The copy is deleted afterwards.

``--rerun`` copies the same tree a second time into the same destination (an
already-copied job: nothing is written, every file is proven again) and prints both
times and their ratio; as root the page cache is dropped before each copy. ``--repeat N``
does it all N times (issue 17: ``--files 5000 --size 16384 --rerun --repeat 3``).

Thread contract: a script; main thread only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PER_FOLDER = 100


def generate(root: Path, files: int, size: int) -> None:
    marker = root.with_name(root.name + ".complete")
    if marker.exists():
        return
    shutil.rmtree(root, ignore_errors=True)
    block = os.urandom(max(size, 1) * 64)
    for i in range(files):
        folder = root / f"well-{i // PER_FOLDER:04d}"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        start = (i * 4099) % (len(block) - size + 1)
        (folder / f"f{i:06d}.tif").write_bytes(block[start : start + size])
    os.sync()
    marker.write_text("")


def drop_caches() -> None:
    """Sync and drop the page cache when allowed (root), so each copy reads from disk."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        pass


def copy_once(argv: list[str], env: dict[str, str]) -> tuple[float, int, dict[str, object]]:
    """One ``almc-assistant copy --json``: seconds, exit status, its JSON document."""
    drop_caches()
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    doc = json.loads(done.stdout) if done.stdout.strip() else {}
    return seconds, done.returncode, doc


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=100_000)
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--data-dir", type=Path, default=Path("/work/bench-data"))
    p.add_argument("--dest", type=Path)
    p.add_argument("--almc-args", default="")
    p.add_argument("--rerun", action="store_true", help="copy twice; time the rerun too")
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args(argv)
    src = args.data_dir / f"many-{args.files}x{args.size}"
    print(f"data: {src} (generated once)", file=sys.stderr)
    generate(src, args.files, args.size)
    dest_root = args.dest or args.data_dir.with_name(args.data_dir.name + "-dest")
    dest = dest_root / f"many-{os.getpid()}"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    argv_ = [sys.executable, "-m", "almc_assistant", "copy", str(src), "--to", str(dest)]
    argv_ += [*shlex.split(args.almc_args), "--json"]
    worst = 0
    for _ in range(args.repeat):
        try:
            seconds, code, doc = copy_once(argv_, env)
            peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            again = copy_once(argv_, env) if args.rerun else None
        finally:
            shutil.rmtree(dest, ignore_errors=True)
        worst = max(worst, code, again[1] if again else 0)
        verified = doc.get("verified")
        if isinstance(verified, list):
            verified = len(verified)
        print(
            f"{args.files:,} files of {args.size:,} bytes: {seconds:.2f} s, "
            f"peak RSS {peak_kib / 1024:.0f} MiB, exit {code}, verified {verified}"
        )
        if again is not None:
            skipped = again[2].get("skipped")
            if isinstance(skipped, list):
                skipped = len(skipped)
            print(
                f"  rerun (already copied): {again[0]:.2f} s, exit {again[1]}, "
                f"skipped {skipped}; rerun / first = {again[0] / seconds:.2f}x"
            )
    return worst


if __name__ == "__main__":
    sys.exit(main())

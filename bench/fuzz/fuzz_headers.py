"""Fuzz the file check's header walkers with atheris (coverage-guided, libFuzzer).

Rerun (from the repository root; seeds from ../shared/corpus plus generated ones)::

    nice -n 19 .venv/bin/python -m bench.fuzz.fuzz_headers -max_total_time=600

Responsibility: feed arbitrary bytes to every walker that reads headers: the TIFF page
walker and verdict (``tiff_check``), the ND2 chunk map, the JPEG / JPEG 2000 / JPEG-LS /
JPEG XL header probes and each native format's structure walker, exactly as ``check_file``
dispatches them after sniffing. A walker may only report (a ``Finding``, ``NotTiff`` or the
ND2 ``_Damage``); any other exception is a crash. libFuzzer's ``-timeout`` (default 10 s
here) catches hangs and ``-rss_limit_mb`` (default 1024) unbounded memory.

Thread contract: a standalone program, one thread. Needs ``pip install atheris`` (its
wheels bundle libFuzzer; no clang needed). ``ALMC_FUZZ_SEEDS=DIR`` keeps the generated seed
folder elsewhere (default ``bench/out/fuzz-seeds``, ignored by git); the corpus is only read.
"""

from __future__ import annotations

import hashlib
import sys

import atheris

with atheris.instrument_imports():
    from bench.fuzz.dispatch import run_walkers

from bench.fuzz import seeds


def test_one(data: bytes) -> None:
    """Run the walkers; keep the input of any exception before libFuzzer reports it.

    (A run stopped by its ``-timeout`` alarm while reporting may not write the input.)
    """
    try:
        run_walkers(data)
    except Exception:
        digest = hashlib.sha1(data).hexdigest()
        (seeds.out_dir() / "findings" / f"exception-{digest}").write_bytes(data)
        raise


def main() -> None:
    argv = list(sys.argv)
    if not any(a.startswith("-timeout") for a in argv):
        argv.append("-timeout=10")
    if not any(a.startswith("-rss_limit_mb") for a in argv):
        argv.append("-rss_limit_mb=1024")
    if not any(a.startswith("-artifact_prefix") for a in argv):
        crashes = seeds.out_dir() / "findings"
        crashes.mkdir(parents=True, exist_ok=True)
        argv.append(f"-artifact_prefix={crashes}/")
    if not any(a.startswith("-max_len") for a in argv):
        argv.append("-max_len=65536")
    if not any(not a.startswith("-") for a in argv[1:]):
        argv += [str(d) for d in seeds.seed_dirs()]
    atheris.Setup(argv, test_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

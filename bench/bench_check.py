"""Benchmark the file check: TIFF files per second, a 100,000-page TIFF, a multi-GB ND2.

Run from the repository root (takes about a minute, needs ~200 MB in the work folder):

    PYTHONPATH=src:. .venv/bin/python bench/bench_check.py [--corpus ../shared/corpus]
    PYTHONPATH=src:. .venv/bin/python bench/bench_check.py --only files   # files/s only

Each measurement is set against the standard tool doing the same job in the same run:
tifffile iterating every ``TiffPage`` (the correct but slow per-page audit; ``useframes``
is faster but misses compressed pages, DOMAIN.md 3.4) and nd2 loading metadata.
Headers only, never pixels. Prints a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tifffile
from tests.core.inspect import native_samples as ns

from almc_assistant.core.inspect import Verdict, check_file, check_paths
from almc_assistant.core.inspect.nd2_check import _scan_map
from almc_assistant.core.inspect.signatures import sniff
from bench.nd2_inflate import inflate

Row = tuple[str, str, str, str]
WORKERS = min(4, os.cpu_count() or 1)  # check_paths' default


def best_of(n: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def interleaved(rounds: int, *fns: Callable[[], object]) -> list[float]:
    """Best time of each function, run in alternation (a shared, busy machine drifts)."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], best_of(1, fn))
    return best


def drop_cache(path: Path) -> None:
    """Evict one file's pages from the page cache (so the next read is from disk)."""
    if hasattr(os, "posix_fadvise"):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def many_tiffs(work: Path, count: int) -> list[Row]:
    folder = work / "tiffs"
    folder.mkdir()
    plane = np.zeros((64, 64), np.uint16)
    for i in range(count):
        tifffile.imwrite(folder / f"r01c01f{i:05d}p01-ch1sk1fk1fl1.tiff", plane)
    files = sorted(folder.iterdir())

    def ours() -> None:
        report = check_paths([folder])
        assert all(c.verdict == Verdict.TIFF_UNCOMPRESSED_OK for c in report.files)

    def ours_serial() -> None:
        for f in files:
            check_file(f)

    def baseline() -> None:
        for f in files:
            with tifffile.TiffFile(f) as tif:
                for page in tif.pages:
                    page.compression  # noqa: B018

    t_ours, t_serial, t_base = interleaved(3, ours, ours_serial, baseline)
    return [
        (f"{count:,} TIFFs, check_paths (folder walk, datasets, {WORKERS} threads)",
         f"{count / t_ours:,.0f} files/s", f"{count / t_base:,.0f} files/s",
         f"{t_base / t_ours:.1f}x"),
        (f"{count:,} TIFFs, check_file one by one", f"{count / t_serial:,.0f} files/s",
         f"{count / t_base:,.0f} files/s", f"{t_base / t_serial:.1f}x"),
    ]  # fmt: skip


def many_natives(work: Path, count: int) -> list[Row]:
    """Other vendors' native files (CZI, LIF, LOF, OIB, IMS, OIR, ETS), structure walked.

    No standard tool reads them all; the baseline column is the same files' first 4 KiB
    read and sniffed only (what the check did before it walked their structure).
    """
    folder = work / "natives"
    folder.mkdir()
    kinds = [("czi", ns.czi), ("lif", ns.lif), ("lof", ns.lof), ("oib", ns.ole2),
             ("ims", ns.hdf5), ("oir", ns.oir), ("ets", ns.ets)]  # fmt: skip
    made = [(ext, build()) for ext, build in kinds]
    for i in range(count):
        ext, data = made[i % len(made)]
        (folder / f"sample{i:05d}.{ext}").write_bytes(data)
    files = sorted(folder.iterdir())

    def ours() -> None:
        report = check_paths([folder])
        assert all(c.verdict == Verdict.NATIVE_OK for c in report.files)

    def ours_serial() -> None:
        for f in files:
            check_file(f)

    def sniff_only() -> None:
        for f in files:
            with open(f, "rb") as fh:
                head = fh.read(4096)
                fh.seek(-40, os.SEEK_END)
                sniff(head, fh.read(40))

    t_ours, t_serial, t_base = interleaved(3, ours, ours_serial, sniff_only)
    return [
        (f"{count:,} native files (7 formats, structure walked), check_paths ({WORKERS} "
         "threads)", f"{count / t_ours:,.0f} files/s",
         f"{count / t_base:,.0f} files/s (sniff only)", f"{t_base / t_ours:.2f}x"),
        (f"{count:,} native files (7 formats, structure walked), check_file one by one",
         f"{count / t_serial:,.0f} files/s", f"{count / t_base:,.0f} files/s (sniff only)",
         f"{t_base / t_serial:.2f}x"),
    ]  # fmt: skip


def many_pages(work: Path, pages: int) -> list[Row]:
    path = work / "pages.tif"
    tifffile.imwrite(path, np.zeros((pages, 2, 2), np.uint8), photometric="minisblack")

    def ours() -> None:
        result = check_file(path)
        assert result.details["pages"] == pages, result.reasons

    def baseline() -> None:
        with tifffile.TiffFile(path) as tif:
            for page in tif.pages:
                page.compression  # noqa: B018

    t_ours, t_base = interleaved(2, ours, baseline)
    return [
        (f"one TIFF with {pages:,} pages (every page audited)", f"{t_ours:.2f} s",
         f"{t_base:.2f} s", f"{t_base / t_ours:.1f}x"),
    ]  # fmt: skip


def big_nd2(work: Path, corpus: Path | None, gib: int) -> list[Row]:
    if corpus is None:
        return [("multi-GB ND2", "skipped: no corpus", "-", "-")]
    import nd2

    path = work / "big.nd2"
    size = inflate(corpus / "files" / "example-timelapse.nd2", path, gib << 30)
    drop_cache(path)
    start = time.perf_counter()
    first = check_file(path)
    t_cold = time.perf_counter() - start
    assert first.verdict == Verdict.NATIVE_OK, first.reasons

    def baseline() -> None:
        with nd2.ND2File(path) as f:
            f.sizes  # noqa: B018
            f.metadata  # noqa: B018

    t_ours, t_base = interleaved(5, lambda: check_file(path), baseline)
    return [
        (f"ND2 of {size / 2**30:.1f} GiB (real NIS file grown, see nd2_inflate.py), first "
         "check after evicting it from the cache", f"{t_cold * 1000:.0f} ms", "-", "-"),
        (f"ND2 of {size / 2**30:.1f} GiB, repeated check (nd2: sizes + metadata)",
         f"{t_ours * 1000:.1f} ms", f"{t_base * 1000:.1f} ms", f"{t_base / t_ours:.1f}x"),
    ]  # fmt: skip


def chunk_map(entries: int) -> list[Row]:
    """A chunk map as large as a 1,000,000-frame acquisition's."""
    body = bytearray()
    for i in range(entries):
        body += f"ImageDataSeq|{i}!".encode() + struct.pack("<QQ", 4096 * (i + 1), 4000)
    body += b"ND2 CHUNK MAP SIGNATURE 0000001!" + struct.pack("<Q", 0)
    data = bytes(body)
    t = best_of(3, lambda: _scan_map(data, 1 << 62))
    return [(f"ND2 chunk map with {entries:,} frame entries (scan only)", f"{t * 1000:.0f} ms",
             "-", "-")]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=100_000)
    parser.add_argument("--nd2-gib", type=int, default=8)
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus"))
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--only",
        choices=["files"],
        default=None,
        help="files: only the files-per-second rows (TIFFs, natives)",
    )
    args = parser.parse_args()
    corpus = args.corpus if (args.corpus / "CATALOG.tsv").is_file() else None
    work = Path(tempfile.mkdtemp(prefix="almc-bench-", dir=args.workdir))
    try:
        rows = many_tiffs(work, args.files) + many_natives(work, args.files)
        if args.only is None:
            rows += many_pages(work, args.pages)
            rows += big_nd2(work, corpus, args.nd2_gib) + chunk_map(1_000_000)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("| measurement | almc-assistant | standard tool | ratio |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()

"""Benchmark: copies to an SFTP server on loopback, almc-assistant vs rclone copy + check.

Usage (from the repository root; as root the page cache is dropped between steps)::

    python bench/bench_remote.py [--small] [--data-dir DIR] [--workers N] [--json FILE]

Datasets: one 2 GiB file and 2,000 files of 2 MiB (``--small``: 256 MiB and 100 x 2 MiB).
For each, in one run against the same sshd (``b3sum`` on the server):

- almc: our rclone backend (private ``rclone rcd``), each file read once and streamed to
  a partial name, proven by the server's own BLAKE3, published, recorded in the manifest;
  files in ``--workers`` threads (default 4, rclone's ``--transfers`` default).
- rclone: ``rclone copy`` then ``rclone check --download`` (the only rclone check that
  looks at the stored bytes rather than rclone's own upload-time hash).

Prints a Markdown table with the ratio almc / (copy + check); the target is at most 0.6.
Thread contract: a script; the main thread drives, a thread pool copies.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from tests.core.remote.servers import SshServer  # noqa: E402

from almc_assistant.core.remote.rcd import RcDaemon  # noqa: E402
from almc_assistant.core.remote.rclone_backend import RcloneBackend  # noqa: E402
from almc_assistant.core.remote.rclonebin import rclone_binary  # noqa: E402
from almc_assistant.core.remote.sendfile import send_file  # noqa: E402
from almc_assistant.core.remote.spec import PrivateRcloneConfig, parse_remote  # noqa: E402

MiB = 1024 * 1024


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def make_data(root: Path, small: bool) -> dict[str, Path]:
    big_size = (256 if small else 2048) * MiB
    count = 100 if small else 2000
    sets = {
        "one large file": root / f"large-{big_size // MiB}M",
        "many 2 MiB files": root / f"small-{count}",
    }
    big = sets["one large file"] / "big.bin"
    if not big.exists():
        big.parent.mkdir(parents=True, exist_ok=True)
        with open(big.with_suffix(".tmp"), "wb") as f:
            for _ in range(big_size // (16 * MiB)):
                f.write(os.urandom(16 * MiB))
        big.with_suffix(".tmp").rename(big)
    folder = sets["many 2 MiB files"]
    if not (folder / "done").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            (folder / f"f{i:05d}.bin").write_bytes(os.urandom(2 * MiB))
        (folder / "done").write_text("")
    return sets


def bench_account() -> str:
    """As root: a plain account with /bin/sh for the server side, so each server command
    costs what it costs on a research-storage server, not this machine's root login
    scripts (root's ~/.bashrc here runs ``pyenv init``: about 0.4 s per SSH command)."""
    if os.geteuid() != 0:
        return ""
    name = "almc-bench"
    if subprocess.run(["id", name], capture_output=True).returncode:
        subprocess.run(
            ["useradd", "--system", "-M", "-d", "/nonexistent", "-s", "/bin/sh", name],
            check=True,
        )
        subprocess.run(["usermod", "-p", "*", name], check=True)
    return name


def drop_caches() -> None:
    os.sync()
    if os.geteuid() == 0:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")


def run_almc(daemon: RcDaemon, spec: str, src: Path, workers: int) -> tuple[float, str]:
    files = sorted(p for p in src.iterdir() if p.suffix == ".bin")
    start = time.perf_counter()
    dest = RcloneBackend(daemon, parse_remote(spec)).open()

    def one(path: Path) -> bool:
        _, [outcome] = send_file(path, path.name, [dest])
        if not outcome.verified:
            raise RuntimeError(f"{path}: {outcome.error}")
        return True

    with ThreadPoolExecutor(workers) as pool:
        assert all(pool.map(one, files))
    dest.close()
    proof = dest.server_hash.kind.value if dest.server_hash else "downloaded-back"
    return time.perf_counter() - start, proof


def run_rclone(config: Path, spec: str, src: Path) -> tuple[float, float]:
    rclone = str(rclone_binary())
    common = ["--config", str(config), "--exclude", "done"]
    t0 = time.perf_counter()
    subprocess.run([rclone, "copy", str(src), spec, *common], check=True)
    t1 = time.perf_counter()
    subprocess.run([rclone, "check", "--download", str(src), spec, *common], check=True)
    return t1 - t0, time.perf_counter() - t1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", action="store_true", help="256 MiB and 100 x 2 MiB")
    ap.add_argument("--data-dir", type=Path, default=Path("/work/bench-data/remote"))
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--json", type=Path, help="write the numbers here too")
    args = ap.parse_args()
    sets = make_data(args.data_dir, args.small)
    rows = []
    with tempfile.TemporaryDirectory(prefix="almc-bench-remote-") as tmp:
        root = Path(tmp)
        conf = PrivateRcloneConfig(root / "config")
        conf.ensure()
        (root / "sshd").mkdir(mode=0o755)
        root.chmod(0o755)
        server = SshServer(root / "sshd", user=bench_account())
        daemon = RcDaemon(conf.path).start()
        try:
            spec = server.create_remote(daemon, "bench")
            for label, src in sets.items():
                out = server.data / "dest"
                drop_caches()
                almc, proof = run_almc(daemon, spec, src, args.workers)
                shutil.rmtree(out)
                drop_caches()
                copy, check = run_rclone(conf.path, spec, src)
                shutil.rmtree(out)
                ratio = almc / (copy + check)
                rows.append(
                    {
                        "dataset": label,
                        "almc_s": almc,
                        "proof": proof,
                        "rclone_copy_s": copy,
                        "rclone_check_download_s": check,
                        "ratio": ratio,
                    }
                )
                say(
                    f"{label}: almc {almc:.1f} s ({proof}); rclone copy {copy:.1f} s + "
                    f"check --download {check:.1f} s; ratio {ratio:.2f}"
                )
        finally:
            daemon.stop()
            server.kill()
    print(
        "| dataset | almc (server BLAKE3) | rclone copy | + check --download | ratio "
        "| target ≤ 0.6 |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        mark = "PASS" if r["ratio"] <= 0.6 else "MISS"
        print(
            f"| {r['dataset']} | {r['almc_s']:.1f} s | {r['rclone_copy_s']:.1f} s | "
            f"{r['rclone_check_download_s']:.1f} s | {r['ratio']:.2f} | {mark} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

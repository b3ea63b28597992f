"""Benchmark: copies to an SFTP server on loopback, almc-assistant vs rclone copy + check.

Usage (from the repository root; as root the page cache is dropped between steps)::

    python bench/bench_remote.py [--small] [--repeat N] [--data-dir DIR] [--workers N]
                                 [--json FILE] [--daemon-per-job]

Datasets: one 2 GiB file and 2,000 files of 2 MiB (``--small``: 256 MiB and 100 x 2 MiB).
For each, in one run against the same sshd (``b3sum`` on the server):

- almc: ``run_copy`` of the copy engine with the SFTP remote as destination (the one
  per-file pipeline), each file read once and streamed to a partial name, proven by the
  server's own BLAKE3 (small files: many per server command), published, recorded in the
  manifest; ``--workers`` files at once (default 4, rclone's ``--transfers`` default).
  The jobs share one running ``rclone rcd``, as the app's jobs share the service's
  (``--daemon-per-job``: each job starts its own, about 0.3 s more per job).
- rclone: ``rclone copy`` then ``rclone check --download`` (the only rclone check that
  looks at the stored bytes rather than rclone's own upload-time hash).
- two kinds at once: almc to a local folder alone, then to the local folder and the SFTP
  remote in one job (each byte read once for both).

As root, the server's folder is a tmpfs of its own (``--server-tmpfs-gib``, default 6): on
loopback the server would otherwise write to the same ext4 file system as the local
destination, and an ``fsync`` of a local copy (ext4, ``data=ordered``) would also flush
the server's unwritten data, a coupling two real machines never have.

``--repeat N`` runs the four measurements of a dataset N times in turn and keeps the
best time of each (the machine is shared: load from others only ever adds time).

Prints Markdown tables: almc / (copy + check), target at most 0.6; local + SFTP together
/ the slower alone, target at most 1.2.
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
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from tests.core.remote.servers import SshServer  # noqa: E402

from almc_assistant.core.events import ListSink  # noqa: E402
from almc_assistant.core.remote.rclonebin import rclone_binary  # noqa: E402
from almc_assistant.core.remote.session import RemoteSession  # noqa: E402
from almc_assistant.core.remote.spec import PrivateRcloneConfig  # noqa: E402
from almc_assistant.core.transfer import CopyRequest, CopyVerified, run_copy  # noqa: E402

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


def run_almc(
    session: RemoteSession | None,
    config: Path,
    spec: str,
    src: Path,
    workers: int,
    local: Path | None = None,
) -> tuple[float, str]:
    """One job of the copy engine to the remote ``spec`` (and ``local`` if given)."""
    files = sorted(p for p in src.iterdir() if p.suffix == ".bin")
    sink = ListSink()
    start = time.perf_counter()
    result = run_copy(
        CopyRequest(
            sources=files,
            destinations=[local] if local else [],
            remotes=(spec,) if spec else (),
            workers=workers,
            create_missing=True,
            rclone_config=config,
            remote_session=session,
        ),
        sink,
    )
    seconds = time.perf_counter() - start
    s = result.summary
    if (
        result.error is not None
        or s.failed
        or s.verified != len(files) * (bool(spec) + bool(local))
    ):
        raise RuntimeError(f"{src}: {result.error or s}")
    proofs = {
        e.copy.proof_kind for e in sink.events if isinstance(e, CopyVerified) and e.copy.proof
    }
    return seconds, ",".join(sorted(proofs)) or "read-back"


def run_rclone(config: Path, spec: str, src: Path) -> tuple[float, float]:
    rclone = str(rclone_binary())
    common = ["--config", str(config), "--exclude", "done"]
    t0 = time.perf_counter()
    subprocess.run([rclone, "copy", str(src), spec, *common], check=True)
    t1 = time.perf_counter()
    subprocess.run([rclone, "check", "--download", str(src), spec, *common], check=True)
    return t1 - t0, time.perf_counter() - t1


def one_round(
    shared: RemoteSession | None,
    config: Path,
    spec: str,
    src: Path,
    args: argparse.Namespace,
    local: Path,
) -> dict[str, object]:
    """Each of the four measurements once, the page cache dropped before each."""
    out = Path(spec.partition(":")[2])  # the server's folder (sshd on this machine)
    row: dict[str, object] = {}
    drop_caches()
    row["almc_s"], row["proof"] = run_almc(shared, config, spec, src, args.workers)
    shutil.rmtree(out)
    drop_caches()
    row["rclone_copy_s"], row["rclone_check_download_s"] = run_rclone(config, spec, src)
    shutil.rmtree(out)
    drop_caches()
    row["local_s"], _ = run_almc(shared, config, "", src, args.workers, local)
    shutil.rmtree(local)
    drop_caches()
    row["both_s"], _ = run_almc(shared, config, spec, src, args.workers, local)
    shutil.rmtree(local)
    shutil.rmtree(out)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", action="store_true", help="256 MiB and 100 x 2 MiB")
    ap.add_argument("--data-dir", type=Path, default=Path("/work/bench-data/remote"))
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--json", type=Path, help="write the numbers here too")
    ap.add_argument("--server-tmpfs-gib", type=int, default=6, help="0: the server on our disk")
    ap.add_argument("--daemon-per-job", action="store_true", help="no shared rclone daemon")
    ap.add_argument(
        "--repeat", type=int, default=1, help="rounds per dataset; the best time of each"
    )
    args = ap.parse_args()
    sets = make_data(args.data_dir, args.small)
    rows = []
    with tempfile.TemporaryDirectory(prefix="almc-bench-remote-") as tmp:
        root = Path(tmp)
        conf = PrivateRcloneConfig(root / "config")
        conf.ensure()
        (root / "sshd").mkdir(mode=0o755)
        root.chmod(0o755)
        account = bench_account()
        server = SshServer(root / "sshd", user=account)
        mounted = False
        if os.geteuid() == 0 and args.server_tmpfs_gib:
            size = f"size={args.server_tmpfs_gib}g"
            subprocess.run(["mount", "-t", "tmpfs", "-o", size, "almc-bench", str(server.data)])
            shutil.chown(server.data, account)
            mounted = True
        session = RemoteSession(conf.path)
        try:
            spec = server.create_remote(session.daemon(), "bench")
            shared = None if args.daemon_per_job else session
            if shared is None:
                session.stop()
            local = args.data_dir / "out-local"
            for label, src in sets.items():
                row: dict[str, object] = {"dataset": label}
                best: dict[str, float] = {}
                for _ in range(args.repeat):  # the best of each, rounds interleaved
                    for key, value in one_round(shared, conf.path, spec, src, args, local).items():
                        if isinstance(value, float):
                            best[key] = min(best.get(key, value), value)
                        else:
                            row[key] = value
                row.update(best)
                row["ratio"] = best["almc_s"] / (
                    best["rclone_copy_s"] + best["rclone_check_download_s"]
                )
                row["ratio_both"] = best["both_s"] / max(best["local_s"], best["almc_s"])
                rows.append(row)
                say(json.dumps(row))
        finally:
            session.stop()
            server.kill()
            if mounted:
                subprocess.run(["umount", str(server.data)], check=True)
    print(
        "| dataset | almc (server BLAKE3) | rclone copy | + check --download | ratio "
        "| target ≤ 0.6 |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        mark = "PASS" if r["ratio"] <= 0.6 else "MISS"  # type: ignore[operator]
        print(
            f"| {r['dataset']} | {r['almc_s']:.1f} s | {r['rclone_copy_s']:.1f} s | "
            f"{r['rclone_check_download_s']:.1f} s | {r['ratio']:.2f} | {mark} |"
        )
    print()
    print("| dataset | local alone | SFTP alone | local + SFTP, one job | ratio | target ≤ 1.2 |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        mark = "PASS" if r["ratio_both"] <= 1.2 else "MISS"  # type: ignore[operator]
        print(
            f"| {r['dataset']} | {r['local_s']:.1f} s | {r['almc_s']:.1f} s | "
            f"{r['both_s']:.1f} s | {r['ratio_both']:.2f} | {mark} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Which SFTP requests a new name in one folder costs through sshfs, and how long it holds
the folder's lock: the profile behind the one-folder floor (``bench_folder_floor.py``).

Usage (as root; the stand-in of bench/netshare.py, its SFTP server logging every request)::

    python bench/probe_folder_requests.py [--delays 1,10] [--files 40]
                                          [--methods cp,direct,bare,rename,almc]

Per one-way delay, one :class:`netshare.NetShare` with ``sftp_log``; each method copies
``--files`` files of 64 KiB into a fresh folder, **one file at a time** (one thread, one
process), so that every request in the server's log between two files belongs to one
file and a name operation's system call lasts exactly as long as it holds its folder's
lock (nobody else waits for it):

- ``cp``: one ``cp -r``;
- ``direct``: ``O_EXCL`` create under the final name, one write, close;
- ``bare``: ``O_EXCL`` create in a staging folder, write, close, ``link`` to the final
  name, unlink the staging name (almc's publish, without verification);
- ``rename``: the same with ``rename`` instead of ``link`` + unlink (sshfs sends
  ``posix-rename@openssh.com``, which **replaces** an existing name: measured only to
  show what a replacing publish would cost; almc never publishes so);
- ``primed``: ``bare`` with an ``lstat`` of the final name just before the ``link``
  (does a look-up ahead take the ``link``'s own look-up off the folder's lock?);
- ``almc``: ``almc-assistant copy --workers 1`` (everything it does per file).

Prints, per method, the SFTP requests per file by type (from the server's log: requests
the job's start and end make are in the per-file mean too, for ``almc`` and ``cp``),
the requests per file that name the final folder or a name in it, and for ``direct``,
``bare`` and ``rename`` the median seconds of the one name operation in the final
folder (``open``/``link``/``rename``), also in round trips. Writes
``OUT/probe-folder-requests-STAMP.json``.

Thread contract: a script; main thread only.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _harness
from netshare import NetShare

REPO = Path(__file__).resolve().parent.parent
ALMC = [sys.executable, "-m", "almc_assistant"]
REQUEST = re.compile(r"request \d+: (?!sent )([A-Za-z][\w@.-]*)")
QUOTED = re.compile(r'"([^"]*)"')


def one_by_one(src: Path, dest: Path, method: str) -> list[float]:
    """Copy ``src``'s files into the new folder ``dest`` one after another; return the
    seconds of each file's name operation in ``dest``."""
    dest.mkdir()
    stage = dest.parent / f".stage-{secrets.token_hex(4)}"
    if method != "direct":
        stage.mkdir()
    final = os.open(dest, os.O_RDONLY | os.O_DIRECTORY)
    staged = os.open(stage if method != "direct" else dest, os.O_RDONLY | os.O_DIRECTORY)
    times = []
    try:
        for path in sorted(src.iterdir()):
            data = path.read_bytes()
            if method == "direct":
                t0 = time.perf_counter()
                fd = os.open(path.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=final)
                times.append(time.perf_counter() - t0)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
                continue
            tmp = f".part-{secrets.token_hex(6)}"
            _harness.write_new(tmp, data, staged)
            if method == "primed":  # a look-up of the final name just before the link
                try:
                    os.lstat(path.name, dir_fd=final)
                except FileNotFoundError:
                    pass
            t0 = time.perf_counter()
            if method in ("bare", "primed"):
                os.link(tmp, path.name, src_dir_fd=staged, dst_dir_fd=final)
                times.append(time.perf_counter() - t0)
                os.unlink(tmp, dir_fd=staged)
            else:
                os.rename(tmp, path.name, src_dir_fd=staged, dst_dir_fd=final)
                times.append(time.perf_counter() - t0)
    finally:
        os.close(final)
        os.close(staged)
        if method != "direct":
            stage.rmdir()
    return times


def lookup_rtt(mnt: Path, probes: int = 20) -> float:
    """Median seconds of one ``lstat`` of an absent name on the mount: one SFTP request
    and its answer (sshfs caches no negative answer), the round trip as files see it."""
    times = []
    for _ in range(probes):
        t0 = time.perf_counter()
        try:
            os.lstat(mnt / f"absent-{secrets.token_hex(6)}")
        except FileNotFoundError:
            pass
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(method: str, src: Path, dest: Path) -> list[float]:
    if method == "cp":
        subprocess.run(["cp", "-r", str(src), str(dest)], check=True)
        return []
    if method == "almc":
        dest.mkdir()
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
        subprocess.run(
            [*ALMC, "copy", str(src), "--to", str(dest), "--workers", "1", "--json"],
            env=env,
            check=True,
            capture_output=True,
        )
        return []
    return one_by_one(src, dest, method)


def count(log: str, final: str) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """Requests by type in ``log``; and by type, those naming ``final`` or a name in it
    (the path is on the request's line or on the server's next line about it)."""
    kinds: collections.Counter[str] = collections.Counter()
    in_final: collections.Counter[str] = collections.Counter()
    pending: str | None = None
    for line in log.splitlines():
        m = REQUEST.search(line)
        if m:
            pending = m.group(1)
            kinds[pending] += 1
        paths = QUOTED.findall(line)
        if pending is not None and paths:
            # a link or rename names two paths: the new one (last) is the final folder's
            if paths[-1] == final or paths[-1].startswith(final + "/"):
                in_final[pending] += 1
            pending = None
    return kinds, in_final


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=Path("/work/bench-data"))
    p.add_argument("--delays", default="1,10")
    p.add_argument("--files", type=int, default=40)
    p.add_argument("--methods", default="cp,direct,bare,rename,almc")
    p.add_argument("--sshfs-options", default="", help="more -o options for sshfs (default: none)")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = p.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    run_ = _harness.ShareRun.start(args.out, "probe-folder-requests")
    out_json, store, mnt, doc = run_.out_json, run_.store, run_.mnt, run_.doc
    src = Path(f"/tmp/almc-probe-src-{os.getpid()}") / "data"
    src.mkdir(parents=True)
    for i in range(args.files):
        (src / f"f{i:05d}.bin").write_bytes(os.urandom(64 << 10))
    try:
        for delay in (float(d) for d in args.delays.split(",") if d.strip()):
            with NetShare(
                store, mnt, delay_ms=delay, sftp_log=True, sshfs_options=args.sshfs_options
            ) as share:
                rtt = lookup_rtt(mnt)
                print(
                    f"{delay:g} ms each way: TCP connect {share.rtt_ms():.2f} ms, one SFTP "
                    f"look-up {rtt * 1000:.2f} ms (the round trip below)",
                    flush=True,
                )
                for method in methods:
                    name = f"{method}-{secrets.token_hex(3)}"
                    dest = mnt / name
                    _harness.drop_caches()
                    before = len(share.server_log())
                    started = time.perf_counter()
                    times = run(method, src, dest)
                    seconds = time.perf_counter() - started
                    log = share.server_log()[before:]
                    final = str(store.resolve() / name)
                    if method == "almc":  # almc copies a folder into ROOT/NAME
                        final += "/" + src.name
                    kinds, in_final = count(log, final)
                    n = args.files
                    row = {
                        "delay_ms": delay,
                        "rtt_s": rtt,
                        "method": method,
                        "files": n,
                        "seconds": seconds,
                        "per_file_rtts": seconds / n / rtt,
                        "requests_per_file": {k: v / n for k, v in kinds.most_common()},
                        "all_per_file": sum(kinds.values()) / n,
                        "final_folder_per_file": {k: v / n for k, v in in_final.most_common()},
                        "name_op_median_s": statistics.median(times) if times else None,
                    }
                    doc["results"].append(row)
                    out_json.write_text(json.dumps(doc, indent=1))
                    _harness.remove_tree(store / name)
                    op = ""
                    if times:
                        med = statistics.median(times)
                        op = f"; name op {med * 1000:.1f} ms = {med / rtt:.2f} RTT"
                    print(
                        f"{rtt * 1000:.1f} ms {method:<7} {seconds / n * 1000:6.1f} ms/file "
                        f"= {seconds / n / rtt:4.1f} RTT{op}; requests/file "
                        f"{row['all_per_file']:.1f}: "
                        + ", ".join(f"{k} {v / n:.2f}" for k, v in kinds.most_common())
                        + "; naming the final folder: "
                        + ", ".join(f"{k} {v / n:.2f}" for k, v in in_final.most_common()),
                        flush=True,
                    )
    finally:
        _harness.remove_tree(store)
        _harness.remove_tree(src.parent)
    doc["load_after"] = os.getloadavg()
    out_json.write_text(json.dumps(doc, indent=1))
    print(f"load average {doc['load_before']} -> {doc['load_after']}; raw: {out_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

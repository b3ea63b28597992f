"""Running one benchmark command: cache drops, timed steps, CPU time, clean-up.

A command is a list of steps. A ``Shell`` step runs one ``bash -c`` line and is timed; a
``DropCaches`` step (``sync`` then ``echo 3 > /proc/sys/vm/drop_caches``) sits between
steps that must not profit from the page cache, and is *not* counted in the time (the
``sync`` before a drop has nothing left to write: every timed copy step ends with its own
``sync`` or ``fsync``). Every step's output goes to a log file, never to a pipe.

Thread contract: main thread only.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DROP_CACHES = Path("/proc/sys/vm/drop_caches")


@dataclass(frozen=True)
class Shell:
    """A timed step: one bash command line, with extra environment variables."""

    line: str
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DropCaches:
    """An untimed step: write dirty pages, then drop the page cache."""


Step = Shell | DropCaches


@dataclass
class Outcome:
    """What one run of one command measured."""

    seconds: float = 0.0  # wall time of the timed steps
    cpu_user: float = 0.0  # CPU time of the timed steps' processes and their children
    cpu_sys: float = 0.0
    ok: bool = True
    error: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)


def drop_caches() -> str | None:
    """Sync and drop the page cache; None when done, else why it could not be."""
    os.sync()
    try:
        DROP_CACHES.write_text("3\n")
    except OSError as exc:
        return f"cannot drop the page cache ({DROP_CACHES}: {exc.strerror or exc})"
    return None


def run_steps(steps: list[Step], log_path: Path, timeout: float) -> Outcome:
    """Run ``steps`` in order, stopping at the first failure; time the ``Shell`` ones."""
    outcome = Outcome()
    with open(log_path, "ab") as log:
        for step in steps:
            if isinstance(step, DropCaches):
                started = time.perf_counter()
                problem = drop_caches()
                outcome.steps.append(
                    {"drop_caches": problem or "ok", "seconds": time.perf_counter() - started}
                )
                continue
            record = _run_shell(step, log, timeout)
            outcome.steps.append(record)
            outcome.seconds += record["seconds"]
            outcome.cpu_user += record["cpu_user"]
            outcome.cpu_sys += record["cpu_sys"]
            if record["returncode"] != 0:
                outcome.ok = False
                outcome.error = record["error"]
                break
    return outcome


def _run_shell(step: Shell, log: Any, timeout: float) -> dict[str, Any]:
    log.write(f"\n$ {step.line}\n".encode())
    log.flush()
    env = {**os.environ, **step.env}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(
        ["bash", "-c", step.line],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its own process group, so a timeout kills it all
    )
    error = ""
    try:
        returncode = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        returncode = -9
        error = f"timed out after {timeout:.0f} s"
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if returncode != 0 and not error:
        error = f"exit status {returncode}"
    return {
        "line": step.line,
        "env": step.env,
        "returncode": returncode,
        "error": error,
        "seconds": seconds,
        "cpu_user": after.ru_utime - before.ru_utime,
        "cpu_sys": after.ru_stime - before.ru_stime,
    }


def tail(path: Path, lines: int = 2) -> str:
    """The last output lines of a log file (not the echoed commands), for an error message."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    output = [line for line in text.splitlines() if line.strip() and not line.startswith("$ ")]
    return " / ".join(output[-lines:]) or "(no output)"


def remove_tree(path: Path) -> None:
    """Delete a destination tree and flush the deletion before the next command."""
    if path.exists():
        shutil.rmtree(path)
    os.sync()


def tool_versions() -> dict[str, str | None]:
    """Version line of each external tool, or None when it is not installed."""
    probes = {
        "cp": ["cp", "--version"],
        "rsync": ["rsync", "--version"],
        "rclone": ["rclone", "version", "--config", "/dev/null"],
        "b3sum": ["b3sum", "--version"],
    }
    found: dict[str, str | None] = {}
    for tool, argv in probes.items():
        if shutil.which(tool) is None:
            found[tool] = None
            continue
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            found[tool] = None
            continue
        found[tool] = out.strip().splitlines()[0] if out.strip() else "unknown version"
    return found


def file_system_of(path: Path) -> str:
    """File system type and device holding ``path`` (``ext4 on /dev/vda``)."""
    try:
        out = subprocess.run(
            ["findmnt", "-n", "-o", "FSTYPE,SOURCE", "-T", str(path)],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{out[0]} on {out[1]}" if len(out) >= 2 else "unknown"


def machine_facts(data_dir: Path, dest_dir: Path, dest_dir2: Path | None) -> dict[str, Any]:
    """Facts that make a result interpretable: CPU, memory, kernel, file systems, tools."""
    cpu = "unknown"
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = match.group(1) if match else cpu
    except OSError:
        pass
    mem_total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "hostname": platform.node(),
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "memory_gib": round(mem_total / 2**30, 1),
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "data_dir": str(data_dir),
        "data_fs": file_system_of(data_dir),
        "dest_dir": str(dest_dir),
        "dest_fs": file_system_of(dest_dir),
        "dest_dir2": str(dest_dir2) if dest_dir2 else None,
        "dest_fs2": file_system_of(dest_dir2) if dest_dir2 else None,
        "tools": tool_versions(),
    }


@dataclass
class ShareRun:
    """Where one run of a stand-in probe keeps its results and its share: the JSON
    (``OUT/PREFIX-STAMP.json``), the server's folder and the mount point (per process),
    and the document written there (the argv and the load average to begin with)."""

    out_json: Path
    store: Path
    mnt: Path
    doc: dict[str, Any]

    @classmethod
    def start(cls, out: Path, prefix: str) -> ShareRun:
        import datetime as dt
        import sys

        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        out.mkdir(parents=True, exist_ok=True)
        tag = f"/tmp/almc-{prefix}-{{}}-{os.getpid()}"
        run = cls(
            out / f"{prefix}-{stamp}.json",
            Path(tag.format("store")),
            Path(tag.format("mnt")),
            {"argv": sys.argv, "load_before": os.getloadavg(), "results": []},
        )
        run.store.mkdir()
        return run


def write_new(name: str, data: bytes, dir_fd: int) -> None:
    """Create ``name`` in the open folder ``dir_fd`` (``O_EXCL``) and write ``data``."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=dir_fd)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)

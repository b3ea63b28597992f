"""``verify``: re-read every file a destination's manifest lists and compare BLAKE3.

Thread contract: :func:`verify_destination` runs on the caller's thread with ``workers``
reader threads of its own (joined before it returns); ``EntryChecked`` events are
published from those threads, ``JobProgressed``-style progress is not published (the
CLI counts ``EntryChecked`` events).

Each file's cached pages are dropped before it is read (where the platform allows), so
the check reads the storage, not the memory. Outcomes per path (rclone's vocabulary):
``match``, ``differs``, ``missing``, ``error`` (unreadable), and ``extra`` for files at the
destination the manifest does not list (the engine's own records are not counted).
"""

from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path

from almc_assistant.core.errors import UsageError, describe_os_error
from almc_assistant.core.events import EventSink
from almc_assistant.core.transfer.events import EntryChecked
from almc_assistant.core.transfer.hashing import hash_from_storage
from almc_assistant.core.transfer.manifest import read_manifest
from almc_assistant.core.transfer.naming import MANIFEST_NAME, is_own_record

_BUFFER = 4 << 20


@dataclass(slots=True)
class VerifyReport:
    root: Path
    matched: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (relpath, message)
    bytes_read: int = 0

    @property
    def ok(self) -> bool:
        return not (self.differing or self.missing or self.errors)


def _listed_files(root: Path) -> list[str]:
    out: list[str] = []
    stack = [(root, "")]
    while stack:
        folder, rel = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            erel = f"{rel}{e.name}"
            if e.is_dir(follow_symlinks=False):
                stack.append((Path(e.path), erel + "/"))
            elif not is_own_record(erel):
                out.append(erel)
    return out


def verify_destination(dest: Path, sink: EventSink, *, workers: int = 2) -> VerifyReport:
    """Check ``dest`` against its manifest. Raises :class:`UsageError` without a manifest."""
    root = Path(os.path.normpath(Path(dest).absolute()))
    if not (root / MANIFEST_NAME).is_file():
        raise UsageError(
            f"{root} has no {MANIFEST_NAME}: it was not written by 'almc-assistant copy', "
            "or it is not the destination folder itself.",
            title="Nothing to verify",
            next_step="Give the destination folder you copied to (the one holding "
            f"{MANIFEST_NAME}).",
            paths=(root,),
        )
    entries = read_manifest(root)
    report = VerifyReport(root)
    lock = threading.Lock()
    todo: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
    for item in sorted(entries.items()):
        todo.put(item)

    def check(relpath: str, expected: str, buf: bytearray) -> None:
        path = root.joinpath(*relpath.split("/"))
        actual: str | None = None
        detail = ""
        size = 0
        try:
            actual, size = hash_from_storage(path, buf)
            outcome = "match" if actual == expected else "differs"
        except FileNotFoundError:
            outcome, detail = "missing", f"{path} is listed in the manifest but missing."
        except OSError as exc:
            outcome = "error"
            detail = describe_os_error(exc, action="read", path=path).detail
        if outcome == "differs":
            detail = f"{path} no longer matches the BLAKE3 recorded when it was copied."
        with lock:
            report.bytes_read += size
            {"match": report.matched, "differs": report.differing, "missing": report.missing}.get(
                outcome, []
            ).append(relpath)
            if outcome == "error":
                report.errors.append((relpath, detail))
        sink.publish(
            EntryChecked(
                destination_root=root,
                relative_path=relpath,
                outcome=outcome,
                expected=expected,
                actual=actual,
                detail=detail,
                size=size,
            )
        )

    def loop() -> None:
        buf = bytearray(_BUFFER)
        while True:
            try:
                relpath, expected = todo.get_nowait()
            except queue.Empty:
                return
            check(relpath, expected, buf)

    threads = [threading.Thread(target=loop, name=f"almc-verify-{i}") for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for relpath in sorted(set(_listed_files(root)) - set(entries)):
        report.extra.append(relpath)
        sink.publish(
            EntryChecked(
                destination_root=root,
                relative_path=relpath,
                outcome="extra",
                detail=f"{root / relpath} is not listed in the manifest.",
            )
        )
    for lst in (report.matched, report.differing, report.missing):
        lst.sort()
    return report

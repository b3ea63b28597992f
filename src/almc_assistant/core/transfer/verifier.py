"""``verify``: re-read every file a destination's manifest lists and compare BLAKE3.

Thread contract: :func:`verify_destination` runs on the caller's thread with ``workers``
reader threads of its own (joined before it returns); ``EntryChecked`` events are
published from those threads, ``JobProgressed``-style progress is not published (the
CLI counts ``EntryChecked`` events).

Each file's cached pages are dropped before it is read (where the platform allows), so
the check reads the storage, not the memory. Outcomes per path (rclone's vocabulary):
``match``, ``differs``, ``missing``, ``error`` (unreadable), and ``extra`` for files at the
destination the manifest does not list (the engine's own records are not counted).
A file replaced by a symbolic link, a folder or a FIFO is an ``error`` (never followed,
never opened in a way that blocks).

The manifest itself is not trusted (:func:`manifest.load_manifest`): a link, FIFO or
folder at its name, or an oversized file, stops the check with an error naming it;
torn, foreign and unsafe lines (``..``, absolute paths: never read) are reported. The
receipts under ``almc-receipts`` say what was copied: a copy they list that the manifest
lost (a truncated or emptied manifest) is checked against the receipt's BLAKE3 and
reported as "not in the manifest". An empty manifest is never "all good", and neither is
a destination on a caching mount (reads there prove a local cache, not the storage).
"""

from __future__ import annotations

import io
import json
import logging
import os
import queue
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from almc_assistant.core.errors import UsageError, describe_os_error
from almc_assistant.core.events import EventSink
from almc_assistant.core.fslimits import detect_filesystem
from almc_assistant.core.transfer.events import EntryChecked
from almc_assistant.core.transfer.hashing import hash_existing
from almc_assistant.core.transfer.manifest import load_manifest, resolve, shown, unsafe_path
from almc_assistant.core.transfer.naming import MANIFEST_NAME, RECEIPTS_DIR, is_own_record

log = logging.getLogger(__name__)

_BUFFER = 4 << 20
_MAX_RECEIPT = 256 << 20
_NOFOLLOW = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


class _Unreadable(Exception):
    """A listed path that is not a file we can read as a copy."""


@dataclass(slots=True)
class VerifyReport:
    root: PurePath  # on a remote a PurePosixPath (``remotepaths``)
    matched: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (relpath, message)
    bytes_read: int = 0
    set_aside: list[tuple[int, str]] = field(default_factory=list)  # manifest lines
    cache_only: str = ""  # why reads here prove a local cache (a caching mount)
    unlisted: list[str] = field(default_factory=list)  # in a receipt, not in the manifest
    listed: int = 0  # entries in the manifest
    proofs: dict[str, int] = field(default_factory=dict)  # a remote: proof words -> copies

    def note(
        self,
        lock: threading.Lock,
        sink: EventSink,
        relpath: str,
        outcome: str,
        *,
        expected: str,
        actual: str | None,
        detail: str,
        size: int,
        proof: str = "",
    ) -> None:
        """Count one listed file's outcome (under ``lock``, shared by the checking threads)
        and tell ``sink`` (``EntryChecked``)."""
        with lock:
            self.bytes_read += size
            if proof:
                self.proofs[proof] = self.proofs.get(proof, 0) + 1
            {"match": self.matched, "differs": self.differing, "missing": self.missing}.get(
                outcome, []
            ).append(relpath)
            if outcome == "error":
                self.errors.append((relpath, detail))
        sink.publish(
            EntryChecked(
                destination_root=self.root,
                relative_path=relpath,
                outcome=outcome,
                expected=expected,
                actual=actual,
                detail=detail,
                size=size,
            )
        )

    @property
    def ok(self) -> bool:
        return self.listed > 0 and not (
            self.differing
            or self.missing
            or self.errors
            or self.set_aside
            or self.unlisted
            or self.cache_only
        )


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
            erel = f"{rel}{shown(e.name)}"
            if e.is_dir(follow_symlinks=False):
                stack.append((Path(e.path), erel + "/"))
            elif not is_own_record(erel):
                out.append(erel)
    return out


def _receipt_copies(root: Path) -> dict[str, str]:
    """``relpath -> blake3`` of the copies the receipts at ``root`` list as verified."""
    out: dict[str, str] = {}
    folder = root / RECEIPTS_DIR
    try:
        names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".json"))
    except OSError:
        return out
    for name in names:
        try:
            with io.FileIO(os.open(folder / name, _NOFOLLOW), "r") as f:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    continue
                doc = json.loads(f.read(_MAX_RECEIPT + 1)[:_MAX_RECEIPT])
            for row in doc["verified"]:
                rel, digest = str(row["relative_path"]), str(row["blake3"])
                if unsafe_path(rel) is None and len(digest) == 64:
                    out[shown(rel)] = digest
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("receipt %s cannot be read; not used by verify", folder / name)
    return out


def verify_destination(dest: Path, sink: EventSink, *, workers: int = 2) -> VerifyReport:
    """Check ``dest`` against its manifest. Raises :class:`UsageError` when ``dest`` is
    missing or has no manifest, :class:`AlmcError` when the manifest is unusable."""
    root = Path(os.path.normpath(Path(dest).absolute()))
    if not root.is_dir():
        raise UsageError(
            f"{root} does not exist or is not a folder.",
            title="Nothing to verify",
            next_step="Check the path (is the drive connected, the share mounted?).",
            paths=(root,),
        )
    loaded = load_manifest(root)
    if not loaded.exists:
        raise UsageError(
            f"{root} has no {MANIFEST_NAME}: it was not written by 'almc-assistant copy', "
            "or it is not the destination folder itself.",
            title="Nothing to verify",
            next_step="Give the destination folder you copied to (the one holding "
            f"{MANIFEST_NAME}).",
            paths=(root,),
        )
    entries = dict(loaded.entries)
    unlisted = {r: d for r, d in _receipt_copies(root).items() if r not in entries}
    entries.update(unlisted)
    report = VerifyReport(
        root,
        set_aside=loaded.set_aside,
        unlisted=sorted(unlisted),
        listed=len(loaded.entries),
        cache_only=detect_filesystem(root).pending_upload,
    )
    lock = threading.Lock()
    todo: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
    for item in sorted(entries.items()):
        todo.put(item)

    def check(relpath: str, expected: str, buf: bytearray) -> None:
        found = resolve(root, relpath)
        path = found or root.joinpath(*relpath.split("/"))
        actual: str | None = None
        detail = ""
        size = 0
        try:
            if found is None:
                raise _Unreadable(f"{path}: no single file has this name (not valid UTF-8?)")
            actual = hash_existing(path, buf)
            if actual is None:
                raise _Unreadable(f"{path} is a link, a folder or a special file, not a copy")
            size = path.stat(follow_symlinks=False).st_size
            outcome = "match" if actual == expected else "differs"
        except _Unreadable as exc:
            outcome, detail = "error", str(exc)
        except FileNotFoundError:
            outcome, detail = "missing", f"{path} is listed in the manifest but missing."
        except OSError as exc:
            outcome = "error"
            detail = describe_os_error(exc, action="read", path=path).detail
        if outcome == "differs":
            detail = f"{path} no longer matches the BLAKE3 recorded when it was copied."
        report.note(
            lock, sink, relpath, outcome, expected=expected, actual=actual, detail=detail, size=size
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

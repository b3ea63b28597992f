"""The manifest at each destination root, in the ``b3sum`` text format.

Thread contract: one :class:`Manifest` per destination root per job, shared by workers;
:meth:`Manifest.record` and :meth:`Manifest.lookup` are thread-safe.

Format: one line per verified file, ``<64 hex>  <path relative to the root>`` with ``/``
separators, exactly what ``b3sum`` prints, so ``cd DEST && b3sum --check
almc-manifest.b3sum`` verifies the copies with a standard tool. Paths holding a backslash
or a newline are escaped the way ``b3sum`` does it (a leading ``\\``, then ``\\\\`` and
``\\n``).

Crash safety: each verified copy is appended as soon as it has its final name (the file
is opened per record, never held open), so a ``kill -9`` loses nothing;
:meth:`Manifest.close` rewrites the file without duplicates through a temporary name,
``fsync`` and an atomic replace. A torn last line from a crash is ignored on load.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

from almc_assistant.core.transfer import cache
from almc_assistant.core.transfer.naming import MANIFEST_NAME

log = logging.getLogger(__name__)

_LINE = re.compile(r"^(\\?)([0-9a-f]{64})  (.+)$")


def format_line(digest: str, relpath: str) -> str:
    """One manifest line (with its newline)."""
    if "\\" in relpath or "\n" in relpath:
        escaped = relpath.replace("\\", "\\\\").replace("\n", "\\n")
        return f"\\{digest}  {escaped}\n"
    return f"{digest}  {relpath}\n"


def parse_line(line: str) -> tuple[str, str] | None:
    """``(digest, relpath)`` of one line, or ``None`` for a torn or foreign line."""
    m = _LINE.match(line.rstrip("\n"))
    if m is None:
        return None
    escaped, digest, path = m.groups()
    if escaped:
        path = re.sub(r"\\(.)", lambda c: "\n" if c.group(1) == "n" else c.group(1), path)
    return digest, path


def read_manifest(root: Path) -> dict[str, str]:
    """``relpath -> digest`` of ``root``'s manifest (empty when there is none)."""
    entries: dict[str, str] = {}
    try:
        with open(root / MANIFEST_NAME, encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                parsed = parse_line(line)
                if parsed is None:
                    if line.strip():
                        log.warning("ignoring an unreadable manifest line in %s", root)
                    continue
                entries[parsed[1]] = parsed[0]
    except FileNotFoundError:
        pass
    return entries


class Manifest:
    """The manifest of one destination root during a job."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / MANIFEST_NAME
        self._lock = threading.Lock()
        self._entries = read_manifest(root)
        self._dirty = False

    def lookup(self, relpath: str) -> str | None:
        with self._lock:
            return self._entries.get(relpath)

    def record(self, relpath: str, digest: str) -> None:
        """Append a verified copy (written to the OS at once)."""
        self.record_many([(relpath, digest)])

    def record_many(self, entries: list[tuple[str, str]]) -> None:
        """Append several verified copies ``(relpath, digest)`` with one write."""
        with self._lock:
            lines = []
            for relpath, digest in entries:
                if self._entries.get(relpath) != digest:
                    self._entries[relpath] = digest
                    lines.append(format_line(digest, relpath))
            if not lines:
                return
            self._dirty = True
            # opened per write, not held: an open file would keep the drive from being
            # ejected or remounted between files
            with self.path.open("a", encoding="utf-8", errors="surrogateescape", newline="\n") as f:
                f.write("".join(lines))

    def close(self) -> None:
        """Rewrite the manifest sorted and without duplicates, durably."""
        with self._lock:
            if not self._dirty:
                return
            tmp = self.path.with_name(MANIFEST_NAME + ".tmp")
            with open(tmp, "w", encoding="utf-8", errors="surrogateescape", newline="\n") as f:
                for relpath in sorted(self._entries):
                    f.write(format_line(self._entries[relpath], relpath))
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(self.path)
            cache.fsync_dir(self.root)
            self._dirty = False

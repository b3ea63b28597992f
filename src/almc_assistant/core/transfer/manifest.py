"""The manifest at each destination root, in the ``b3sum`` text format.

Thread contract: one :class:`Manifest` per destination root per job, shared by workers;
its methods are thread-safe. Writes are serialised with every other job, process and
user on the same root by :mod:`destlock`.

Format: one line per verified file, ``<64 hex>  <path relative to the root>`` with ``/``
separators, exactly what ``b3sum`` prints, so ``cd DEST && b3sum --check
almc-manifest.b3sum`` verifies the copies with a standard tool. As ``b3sum`` does, a path
holding a backslash or a newline is escaped (a leading ``\\``, then ``\\\\`` and ``\\n``),
and a name that is not valid UTF-8 is written with U+FFFD in place of its bad bytes
(``b3sum --check`` reports that one line as unreadable and checks the rest; ``verify``
finds the file by matching the folder's real names; the receipt keeps the exact name).
The file is always valid UTF-8.

Crash safety: each verified copy is appended, under the destination's lock, with one
``write`` of whole lines as soon as it has its final name (the file is opened per record,
never held open), so a ``kill -9`` loses nothing. Appends are group-committed: while one
worker appends, the lines other workers record meanwhile wait and go together in the next
single ``write`` (each :meth:`Manifest.record_many` returns only once its own lines are
written), so on a network share the manifest's round trips are paid per group, not per
file. The last byte is read (to find a torn line) only when the file's size is not the
one our own last append left. A torn last line (a crash or a full disk
mid-write) is detected before the next append and fenced off with a newline, and a short
write is truncated away at once; a failed append does not fail the copy (it is verified
and in place): the lines are kept and written by :meth:`Manifest.close`, which raises the
error if it still cannot write them. :meth:`Manifest.close` rewrites the file sorted and
without duplicates under the lock (re-reading it from disk, so other jobs' lines stay),
through a temporary name opened ``O_EXCL``, ``fsync`` and an atomic replace (skipped when
the manifest is another user's in a sticky shared folder: it then stays as appended).

Reading never trusts the file: it is opened without following links and without
blocking, must be a regular file of bounded size; a BOM is dropped; lines that are torn,
foreign, or name a path outside the root (``..``, absolute) are set aside with a reason.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import secrets
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.transfer import cache
from almc_assistant.core.transfer.destlock import locked, planted
from almc_assistant.core.transfer.naming import MANIFEST_NAME

log = logging.getLogger(__name__)

MAX_BYTES = 1 << 30  # ~10 million lines; anything bigger is not ours
TMP_NAME = MANIFEST_NAME + ".tmp"
_LINE = re.compile(r"^(\\?)([0-9a-f]{64})  (.+)$")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_DRIVE = re.compile(r"^[A-Za-z]:")
_READ = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_READ |= getattr(os, "O_BINARY", 0)
_APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
_APPEND |= getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_CREATE |= getattr(os, "O_BINARY", 0)


def shown(relpath: str) -> str:
    """``relpath`` as a manifest shows it: bytes that are not UTF-8 become U+FFFD."""
    return relpath.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def format_line(digest: str, relpath: str) -> str:
    """One manifest line (with its newline), as ``b3sum`` writes it."""
    path = shown(relpath)
    if "\\" in path or "\n" in path:
        escaped = path.replace("\\", "\\\\").replace("\n", "\\n")
        return f"\\{digest}  {escaped}\n"
    return f"{digest}  {path}\n"


def parse_line(line: str) -> tuple[str, str] | None:
    """``(digest, relpath)`` of one line, or ``None`` for a torn or foreign line."""
    line = line.rstrip("\n")
    # the common line (no escape): 64 lower-case hex digits, two spaces, a path; checked
    # without the regex (a manifest of 10^5 lines is parsed at each job's end)
    if len(line) > 66 and line[64:66] == "  " and _HEX64.fullmatch(line, 0, 64):
        path = line[66:]
        if "\n" not in path:  # as ``.+`` would take it
            return line[:64], path
    m = _LINE.match(line)
    if m is None:
        return None
    escaped, digest, path = m.groups()
    if escaped:
        path = re.sub(r"\\(.)", lambda c: "\n" if c.group(1) == "n" else c.group(1), path)
    return digest, path


def unsafe_path(relpath: str) -> str | None:
    """Why ``relpath`` may not be read below a root (``None`` when it may)."""
    if relpath.startswith(("/", "\\")) or _DRIVE.match(relpath):
        return "it is an absolute path"
    parts = relpath.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "it leaves the destination folder or is not a plain relative path"
    if "\0" in relpath:
        return "it holds a NUL character"
    return None


@dataclass(slots=True, eq=False)
class _Append:
    """Lines one :meth:`Manifest.record_many` call waits to see written."""

    lines: list[str]
    entries: list[tuple[str, str]]
    done: bool = False
    error: BaseException | None = None


@dataclass(slots=True)
class ManifestContents:
    """What a manifest holds, and what was set aside (line number, reason)."""

    exists: bool = False
    entries: dict[str, str] = field(default_factory=dict)  # shown relpath -> digest
    set_aside: list[tuple[int, str]] = field(default_factory=list)
    torn_tail: bool = False
    size: int = 0
    ident: tuple[int, int] | None = None  # (device, inode) of the file read


def unusable(path: Path, why: str) -> AlmcError:
    return AlmcError(
        f"{path} cannot be used: {why}.",
        title="Manifest unusable",
        next_step="Move it aside (it is not a manifest this program wrote), then verify or "
        "copy again; the copies are re-read and listed anew.",
        paths=(path,),
    )


def _read_bytes(path: Path) -> tuple[bytes, tuple[int, int]] | None:
    """The bytes of ``path`` and its (device, inode) (``None`` if missing); never through
    a link, never blocking."""
    try:
        fd = os.open(path, _READ)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise planted(path, "the manifest") from exc
        raise unusable(path, exc.strerror or str(exc)) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise planted(path, "the manifest")
        if st.st_size > MAX_BYTES:
            raise unusable(path, f"it is {st.st_size} bytes, more than a manifest can be")
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            if total > MAX_BYTES:
                raise unusable(path, "it keeps growing beyond what a manifest can be")
            chunks.append(chunk)
        return b"".join(chunks), (st.st_dev, st.st_ino)
    except OSError as exc:
        raise unusable(path, exc.strerror or str(exc)) from exc
    finally:
        os.close(fd)


def load_manifest(root: Path) -> ManifestContents:
    """Read ``root``'s manifest safely. Raises :class:`AlmcError` when it is unusable."""
    read = _read_bytes(root / MANIFEST_NAME)
    out = ManifestContents()
    if read is None:
        return out
    data, out.ident = read
    out.exists, out.size = True, len(data)
    text = data.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    out.torn_tail = lines[-1] != ""
    for n, line in enumerate(lines[:-1] if not out.torn_tail else lines, start=1):
        if not line.strip():
            continue
        parsed = parse_line(line)
        if parsed is None:
            last = n == len(lines)
            out.set_aside.append((n, "torn last line" if last else "not a manifest line"))
            continue
        digest, relpath = parsed
        if why := unsafe_path(relpath):
            out.set_aside.append((n, f"refused '{relpath[:80]}': {why}"))
            continue
        out.entries[relpath] = digest
    return out


def read_manifest(root: Path) -> dict[str, str]:
    """``relpath -> digest`` of ``root``'s manifest (empty when there is none)."""
    return load_manifest(root).entries


def resolve(root: Path, relpath: str) -> Path | None:
    """The file a manifest path names below ``root``. A component with U+FFFD (a name
    that is not UTF-8) is matched against the folder's real names; ``None`` when that
    match is not exactly one."""
    current = root
    for part in relpath.split("/"):
        if "\ufffd" not in part:
            current = current / part
            continue
        try:
            names = [n for n in os.listdir(current) if shown(n) == part]  # noqa: PTH208
        except OSError:
            return None
        if len(names) != 1:
            return None
        current = current / names[0]
    return current


class Manifest:
    """The manifest of one destination root during a job."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / MANIFEST_NAME
        self._lock = threading.Lock()
        loaded = load_manifest(root)
        if loaded.set_aside:
            log.warning(
                "%s: %d line(s) set aside (first: line %d, %s)",
                self.path,
                len(loaded.set_aside),
                *loaded.set_aside[0],
            )
        self._entries = loaded.entries
        self._dirty = False
        self._unwritten: dict[str, str] = {}  # lines whose append failed: key -> digest
        self.problem: OSError | None = None  # why (the first time)
        self._queue: list[_Append] = []  # recorded, not yet taken by a writer
        self._turn = threading.Condition()  # who writes next (guards _writing)
        self._writing = False
        self._end: int | None = None  # file size our last append left
        # (device, inode, size) of the file when every line in it is one of _entries (read
        # at the start or appended by us since): the end of the job need not read it again
        self._known: tuple[int, int, int] | None = (
            (*loaded.ident, loaded.size) if loaded.ident is not None else None
        )

    def lookup(self, relpath: str) -> str | None:
        with self._lock:
            return self._entries.get(shown(relpath))

    def record(self, relpath: str, digest: str) -> None:
        """Append a verified copy (written to the OS at once)."""
        self.record_many([(relpath, digest)])

    def record_many(self, entries: list[tuple[str, str]]) -> None:
        """Append several verified copies ``(relpath, digest)``; returns once they are
        written to the OS (in one ``write`` with whatever other workers recorded
        meanwhile). A failed append does not raise (:meth:`close` retries, then reports);
        a manifest that is not a regular file raises, in every caller of that write."""
        with self._lock:
            lines = []
            for relpath, digest in entries:
                key = shown(relpath)
                if self._entries.get(key) != digest:
                    self._entries[key] = digest
                    lines.append(format_line(digest, relpath))
            if not lines:
                return
            self._dirty = True
            mine = _Append(lines, entries)
            self._queue.append(mine)
        with self._turn:
            while self._writing and not mine.done:
                self._turn.wait()
            if not mine.done:  # nobody is writing: write everything queued, ours included
                self._writing = True
        if not mine.done:
            batch: list[_Append] = []
            try:
                with self._lock:
                    batch, self._queue = self._queue, []
                self._write_batch(batch)
            finally:
                with self._turn:
                    for item in batch:
                        item.done = True
                    self._writing = False
                    self._turn.notify_all()
        if mine.error is not None:
            raise mine.error

    def _write_batch(self, batch: list[_Append]) -> None:
        data = "".join(line for item in batch for line in item.lines).encode("utf-8")
        # opened per write, not held: an open file would keep the drive from being
        # ejected or remounted between files
        try:
            with locked(self.root):
                self._append(data)
        except OSError as exc:  # the copies stand; :meth:`close` retries, then reports
            with self._lock:
                if self.problem is None:
                    log.warning("could not add to %s: %s", self.path, exc)
                    self.problem = exc
                for item in batch:
                    for relpath, digest in item.entries:
                        self._unwritten[shown(relpath)] = digest
        except BaseException as exc:  # e.g. a link planted at the lock or the manifest
            for item in batch:
                item.error = exc

    def _append(self, data: bytes) -> None:
        try:
            fd = os.open(self.path, _APPEND, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise planted(self.path, "the manifest") from exc
            raise
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise planted(self.path, "the manifest")
            torn = st.st_size and st.st_size != self._end
            self._end = None
            mine = (st.st_dev, st.st_ino, st.st_size)
            if self._known is None and not st.st_size:  # created by this append
                self._known = mine
            known, self._known = self._known == mine, None
            if torn and _last_byte(self.path, st.st_size) != b"\n":
                log.warning("%s ended with a torn line; it is set aside", self.path)
                data = b"\n" + data
            try:
                written = os.write(fd, data)
            except OSError:
                _cut(fd, st.st_size)
                raise
            if written != len(data):  # a full disk: no torn line left behind
                _cut(fd, st.st_size)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
            self._end = st.st_size + written
            if known:
                self._known = (st.st_dev, st.st_ino, self._end)
        finally:
            os.close(fd)

    def close(self) -> None:
        """Rewrite the manifest sorted and without duplicates, durably, keeping the lines
        other jobs appended meanwhile, and adding the lines whose append failed. Raises
        the append's error if those lines could still not be written."""
        with self._turn:  # no append in flight while the file is rewritten
            while self._writing:
                self._turn.wait()
            self._writing = True
        try:
            self._close()
        finally:
            with self._turn:
                self._writing = False
                self._turn.notify_all()

    def _close(self) -> None:
        with self._lock:
            self._end = None
            if not self._dirty:
                return
            with locked(self.root):
                current = self._current()  # every job's lines
                current.update(self._unwritten)
                if not self._rewrite(current) and self._unwritten and self.problem:
                    raise self.problem
            self._unwritten.clear()
            self._known = None  # rewritten: a later close reads it again
            self.problem = None
            self._entries = current
            self._dirty = False

    def _current(self) -> dict[str, str]:
        """Every line of the manifest now: our own entries when the file is still the one
        whose every line we know (same inode, the size our last append left), else read."""
        try:
            st = os.lstat(self.path)
        except OSError:
            st = None
        if st is not None and (st.st_dev, st.st_ino, st.st_size) == self._known:
            return dict(self._entries)
        return load_manifest(self.root).entries

    def _rewrite(self, current: dict[str, str]) -> bool:
        """Replace the manifest by ``current`` (sorted); ``False`` when it is another
        user's and may not be replaced."""
        tmp = self.root / TMP_NAME
        fd = self._create_tmp(tmp)
        try:
            body = "".join(format_line(current[r], r) for r in sorted(current))
            view = memoryview(body.encode("utf-8"))
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        try:
            tmp.replace(self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if exc.errno not in (errno.EPERM, errno.EACCES):
                raise
            # another user's manifest in a sticky shared folder: our lines are
            # appended already; it stays unsorted, which costs nothing
            log.info("%s left as appended (not ours to replace)", self.path)
            return False
        cache.fsync_dir(self.root)
        return True

    def _create_tmp(self, tmp: Path) -> int:
        for _ in range(2):
            try:
                return os.open(tmp, _CREATE, 0o644)
            except FileExistsError:
                st = tmp.lstat()
                if not stat.S_ISREG(st.st_mode):
                    raise planted(tmp, "the manifest's temporary file") from None
                # a regular file left by a crash (we hold the lock: nobody writes it);
                # moved away first so that a swap in between cannot make us unlink another
                aside = tmp.with_name(f".almc-stale-{secrets.token_hex(4)}")
                tmp.rename(aside)
                if stat.S_ISREG(aside.lstat().st_mode):
                    aside.unlink()
        raise planted(tmp, "the manifest's temporary file")


def _last_byte(path: Path, size: int) -> bytes:
    fd = os.open(path, _READ)
    try:
        os.lseek(fd, size - 1, os.SEEK_SET)
        return os.read(fd, 1)
    finally:
        os.close(fd)


def _cut(fd: int, size: int) -> None:
    try:
        os.ftruncate(fd, size)
    except OSError as exc:  # the torn tail is fenced off on the next append
        log.warning("could not cut a torn manifest line: %s", exc)

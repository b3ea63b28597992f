"""A worker process that copies groups of small files to local folders, past the GIL.

Thread contract: a :class:`Helper` belongs to one copy worker thread (it sends one group
and waits for its answer); :func:`serve` is the child's whole life. The child imports
only this module, :mod:`blake3`, :mod:`almc_assistant.core.identity`,
:mod:`almc_assistant.core.rawio` and :mod:`almc_assistant.core.statfs` (a quick start;
never the transfer package, never Qt), and is started with the ``spawn`` method like
the engine's own process (:mod:`service_process`: no fork of a process with Qt's
threads; frozen builds call ``multiprocessing.freeze_support()`` first).

Why: copying 20,000 files of 64 KiB is about 14 short system calls per file and copy,
each releasing the GIL; with several threads in one process the GIL changes hands at
nearly every call (futex storms) and the job uses about one core of two. A child process
does a whole group's system calls and hashing on its own interpreter.

A group, for each file (the same steps as :mod:`transfer.grouped` and
:mod:`transfer.pipeline` on threads):

1. open the source without following a link or blocking, check it is the file listed
   (identity, size, mtime), start its storage reads with its window's (32 files);
2. read it whole, hash it (BLAKE3), drop its cached pages, write it to a new hidden
   partial (``O_EXCL``: never an existing file) in each target folder, its mtime set;
3. make the partials durable: one ``syncfs`` per file system;
4. read every partial back *from storage* (its cached pages dropped, then read) and
   compare its BLAKE3 with the source's;
5. check the source unchanged since it was opened (the name still reaches the same file,
   same size, mtime and ctime).

**Memory-backed targets** (tmpfs, ramfs: ``fstatfs`` of the target folder, per group):
there the page cache *is* the storage, with nothing under it to flush to or to read
from. Their partials skip the ``syncfs`` (nothing to make durable beyond memory) and
the page dropping around the read-back (``posix_fadvise`` does nothing there), and are
read back as they are, which is reading what the storage holds: right after each is
written, through the descriptor that wrote it (a new ``open`` of its name would reach
the same pages, for one more open, ``fstat`` and close per copy); the answer says so per
folder (:data:`MEMORY`, against :data:`STORAGE`). A type that cannot be told is read
back from storage.

**Direct I/O** (as :mod:`transfer.grouped`; the parent names the file systems where it
may be used, ``direct_fs``: :data:`transfer.direct.DIRECT_FS`): a file of
``direct_from`` bytes or more is read with ``O_DIRECT`` into the page-aligned buffer
(no prefetch), its partials' whole blocks written so and their tails through the cache,
and read back with ``O_DIRECT`` (after their pages were dropped all the same); a copy
read back so entirely is listed in :attr:`Answer.unbuffered`. A refused direct transfer
(``EINVAL``) goes through the cache instead.

It answers, per file, the digest and per target ``None`` (verified partial) or a fault
(what failed, as plain data: the parent turns it into the same error, with the same
words, as the thread path), and which copies were read back by direct I/O. It never
gives a final name: the parent publishes. A target folder is reached by its path and
must be the very folder (device, inode) the parent holds open, or its copies fail.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import mmap
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, NamedTuple

import blake3

from almc_assistant.core.identity import FileIdentity
from almc_assistant.core.rawio import (
    direct_round_up,
    fill,
    fill_direct,
    hash_upto,
    load_syncfs,
    set_direct,
    write_direct,
)
from almc_assistant.core.statfs import linux_fs_type, memory_backed

# A group sent to the child: the target folders (path, st_dev, st_ino) and its files
# (source path, size, mtime_ns, listed (st_dev, st_ino) or None, [(folder index,
# partial name), ...]).
Folders = list[tuple[str, int, int]]
FileSpec = tuple[str, int, int, tuple[int, int] | None, list[tuple[int, str]]]
# The third item is a test seam (``None`` in production): the source path after whose
# partials the child stops itself (``SIGSTOP``), for a test to kill it mid-group.
Request = tuple[Folders, list[FileSpec], str | None]
# A fault: ("os", action, errno, strerror) | ("changed", what) | ("mismatch", got)
Fault = tuple[str, ...] | tuple[str, str, int, str]
# Per file: (BLAKE3 hex or None, the source's fault or None, per target fault or None)
FileAnswer = tuple[str | None, Fault | None, list[Fault | None]]
# A partial to read back: (folder fd, the source's BLAKE3, its file's faults, target, name,
# the file's index in the group, its size)
_Check = tuple[int, str, list[Fault | None], int, str, int, int]

# How a target folder's partials were read back (``Answer.read_back``, per folder):
STORAGE = "storage"  # after syncfs, their cached pages dropped, then read from the device
MEMORY = "memory"  # tmpfs/ramfs: the page cache is the storage; read as it is, no syncfs


class Answer(NamedTuple):
    """A group's answer: per file (in the request's order), and per target folder how
    its partials were read back (:data:`STORAGE`, :data:`MEMORY`; ``""`` for a folder
    that could not be opened)."""

    files: list[FileAnswer]
    read_back: list[str]
    # (file, target) indices of the copies read back entirely by direct I/O (O_DIRECT)
    unbuffered: tuple[tuple[int, int], ...] = ()


WINDOW = 32  # files whose storage reads are started together
# bytes: smaller files go through the cache (measured on 20,000 x 64 KiB: direct reads,
# one synchronous request per file, took 7.2 s against 4.1-4.4 s; README)
DIRECT_FROM = 1 << 20
_SOURCE = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_SOURCE |= getattr(os, "O_CLOEXEC", 0)
_PARTIAL = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_PARTIAL_RW = _PARTIAL & ~os.O_WRONLY | os.O_RDWR  # memory-backed: read back at once
_EXISTING = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_EXISTING |= getattr(os, "O_CLOEXEC", 0)
_FOLDER = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_FOLDER |= getattr(os, "O_CLOEXEC", 0)


def available() -> bool:
    """Whether this system can run the child's steps (Linux: ``syncfs``, ``readv``)."""
    return sys.platform.startswith("linux") and hasattr(os, "readv")


def _advise(fd: int, advice: int) -> None:
    with contextlib.suppress(OSError):
        os.posix_fadvise(fd, 0, 0, advice)


@dataclass(slots=True)
class _Opened:
    fd: int
    before: FileIdentity
    direct: bool = False  # O_DIRECT set on fd


def _os_fault(action: str, exc: OSError) -> Fault:
    return ("os", action, exc.errno or 0, exc.strerror or str(exc))


class _Group:
    """One group's work in the child (see the module)."""

    def __init__(
        self,
        buf: bytearray | mmap.mmap,
        syncfs: Any,
        direct_fs: frozenset[str] = frozenset(),
        direct_from: int = DIRECT_FROM,
    ) -> None:
        """``buf``: page aligned (an ``mmap``) for direct reads (else they are refused
        and go through the cache); ``direct_fs``: where direct I/O may be used."""
        self._buf = buf
        self._back = bytearray()  # a memory-backed partial's read-back (not ``_buf``:
        # that still holds the source's bytes for the file's other targets)
        self._syncfs = syncfs
        self._direct_fs = direct_fs
        self._direct_from = direct_from
        self._suits: dict[int, bool] = {}  # per device: its file system is in direct_fs
        self._unbuffered: list[tuple[int, int]] = []

    def run(self, request: Request) -> Answer:
        folders, files, stop_after = request
        fds: list[int | Fault] = [self._open_folder(*f) for f in folders]
        self._unbuffered = []
        try:
            kinds = [_kind(fd) if isinstance(fd, int) else "" for fd in fds]
            answers = self._run(fds, kinds, files, stop_after)
            return Answer(answers, kinds, tuple(self._unbuffered))
        finally:
            for fd in fds:
                if isinstance(fd, int):
                    os.close(fd)

    def _direct(self, fd: int, size: int) -> bool:
        """Whether a file of ``size`` bytes open as ``fd`` (or its folder) is moved by
        direct I/O: big enough, and its file system asked once per device."""
        if size < self._direct_from or not self._direct_fs:
            return False
        device = os.fstat(fd).st_dev
        if (suits := self._suits.get(device)) is None:
            suits = self._suits[device] = linux_fs_type(fd) in self._direct_fs
        return suits

    def _view(self, size: int) -> memoryview:
        """The buffer's first ``size`` bytes rounded up to whole blocks plus one (a read
        of a file that grew shows it); a bigger (page-aligned) one if it is too small."""
        want = direct_round_up(size + 1)
        if want > len(self._buf):
            self._buf = mmap.mmap(-1, want)
        return memoryview(self._buf)[:want]

    @staticmethod
    def _open_folder(path: str, dev: int, ino: int) -> int | Fault:
        try:
            fd = os.open(path, _FOLDER)
        except OSError as exc:
            return _os_fault("create", exc)
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (dev, ino):
            os.close(fd)
            return _os_fault("create", OSError(errno.ENOENT, "the folder was moved or replaced"))
        return fd

    def _run(
        self,
        folders: list[int | Fault],
        kinds: list[str],
        files: list[FileSpec],
        stop_after: str | None,
    ) -> list[FileAnswer]:
        answers: list[FileAnswer] = []
        befores: list[FileIdentity | None] = []
        for i in range(0, len(files), WINDOW):
            window = files[i : i + WINDOW]
            opened = [self._open_source(spec) for spec in window]
            for spec, src in zip(window, opened, strict=True):
                if isinstance(src, _Opened):
                    try:
                        answers.append(self._write(folders, kinds, spec, src))
                    finally:
                        os.close(src.fd)
                    befores.append(src.before)
                    if spec[0] == stop_after:  # test seam (see Request)
                        os.kill(os.getpid(), signal.SIGSTOP)
                else:
                    answers.append((None, src, [None] * len(spec[4])))
                    befores.append(None)
        self._make_durable(folders, kinds, files, answers)
        self._read_back(_on_storage(folders, kinds, files, answers))
        for k, (spec, before) in enumerate(zip(files, befores, strict=True)):
            digest, fault, faults = answers[k]
            if before is None or fault is not None or all(f is not None for f in faults):
                continue
            if (changed := self._unchanged(spec[0], before)) is not None:
                answers[k] = (digest, changed, faults)
        return answers

    def _open_source(self, spec: FileSpec) -> _Opened | Fault:
        path, size, mtime_ns, listed = spec[0], spec[1], spec[2], spec[3]
        try:
            fd = os.open(path, _SOURCE)
        except OSError as exc:
            return _source_fault(exc)
        try:
            before = FileIdentity.of_fd(fd)
        except OSError as exc:
            os.close(fd)
            return _source_fault(exc)
        what = ""
        if not before.is_regular:
            what = "it is no longer a regular file"
        elif (
            listed is not None and before.known and listed[1] and (before.dev, before.ino) != listed
        ):
            what = "it was replaced by another file of the same name"
        elif before.size != size or before.mtime_ns != mtime_ns:
            what = "its size or modification time changed"
        if what:
            os.close(fd)
            return ("changed", what)
        if self._direct(fd, size) and set_direct(fd, True):
            return _Opened(fd, before, direct=True)  # read when its turn comes
        _advise(fd, os.POSIX_FADV_WILLNEED)
        return _Opened(fd, before)

    def _write(
        self, folders: list[int | Fault], kinds: list[str], spec: FileSpec, src: _Opened
    ) -> FileAnswer:
        _, size, mtime_ns, _, targets = spec
        fd = src.fd
        view = self._view(size)
        try:
            total = fill_direct(fd, view)[0] if src.direct else fill(fd, view)
        except OSError as exc:
            return (None, _source_fault(exc), [None] * len(targets))
        if total != size:
            changed = ("changed", f"{total} bytes were read, not {size}")
            return (None, changed, [None] * len(targets))
        _advise(fd, os.POSIX_FADV_DONTNEED)
        data = view[:total]
        digest = blake3.blake3(data).hexdigest()
        faults: list[Fault | None] = []
        for index, name in targets:
            folder = folders[index]
            if not isinstance(folder, int):
                faults.append(folder)
                continue
            memory = digest if kinds[index] == MEMORY else None
            faults.append(self._write_partial(folder, name, data, mtime_ns, memory))
        return (digest, None, faults)

    def _write_partial(
        self, folder: int, name: str, data: memoryview, mtime_ns: int, memory: str | None
    ) -> Fault | None:
        """Write one partial; ``memory``: its folder is memory-backed and this is the
        source's BLAKE3, so it is read back here and now (:meth:`_check_memory`)."""
        try:
            fd = os.open(name, _PARTIAL_RW if memory else _PARTIAL, 0o644, dir_fd=folder)
        except OSError as exc:
            return _os_fault("create", exc)
        try:
            if self._direct(folder, len(data)) and set_direct(fd, True):
                write_direct(fd, data)
            else:
                rest = data
                while rest:
                    rest = rest[os.write(fd, rest) :]
            os.utime(fd, ns=(time.time_ns(), mtime_ns))
        except OSError as exc:
            return _os_fault("write", exc)
        else:
            if memory is not None:
                return self._check_memory(fd, memory)
        finally:
            os.close(fd)
        return None

    def _check_memory(self, fd: int, digest: str) -> Fault | None:
        """Read a memory-backed partial back as it is, through the descriptor that wrote
        it (from its start, up to the size ``fstat`` finds: a grown file shows), and
        compare with ``digest``. Its pages are what the storage holds (tmpfs, ramfs):
        a new ``open`` of the name would reach the very same pages, one open, ``fstat``
        and close later, per copy."""
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            stored = os.fstat(fd).st_size
            if len(self._back) < stored + 1:  # one byte more: a grown file shows
                self._back = bytearray(stored + 1)
            read, _ = hash_upto(fd, memoryview(self._back)[: stored + 1], stored)
        except OSError as exc:
            return _os_fault("read back", exc)
        return None if read == digest else ("mismatch", read)

    def _make_durable(
        self,
        folders: list[int | Fault],
        kinds: list[str],
        files: list[FileSpec],
        answers: list[FileAnswer],
    ) -> None:
        """One ``syncfs`` per file system holding a partial (none for memory-backed
        ones: nothing is under their pages); its error fails them all."""
        devices: dict[int, int] = {}
        for fd, kind in zip(folders, kinds, strict=True):
            if isinstance(fd, int) and kind == STORAGE:
                devices.setdefault(os.fstat(fd).st_dev, fd)
        failed: dict[int, Fault] = {}
        for device, fd in devices.items():
            if self._syncfs(fd) != 0:
                err = ctypes.get_errno()
                failed[device] = ("os", "write", err, os.strerror(err))
        if not failed:
            return
        by_folder = {}
        for i, fd in enumerate(folders):
            if isinstance(fd, int):
                by_folder[i] = failed.get(os.fstat(fd).st_dev)
        for spec, (_, _, faults) in zip(files, answers, strict=True):
            for j, (index, _) in enumerate(spec[4]):
                if faults[j] is None and (fault := by_folder.get(index)) is not None:
                    faults[j] = fault

    def _read_back(self, disk: list[_Check]) -> None:
        """Read back and compare the partials on storage, 32 at a time, their cached
        pages dropped and their reads started together (their latencies overlap)."""
        for i in range(0, len(disk), WINDOW):
            window = disk[i : i + WINDOW]
            opened = [self._open_partial(c[0], c[4], self._direct(c[0], c[6])) for c in window]
            for (_, digest, faults, j, _, k, _), got in zip(window, opened, strict=True):
                if self._compare(got, digest, faults, j):
                    self._unbuffered.append((k, j))

    def _compare(
        self, got: _Opened | Fault, digest: str, faults: list[Fault | None], j: int
    ) -> bool:
        """Hash an opened partial (closed here) and set ``faults[j]`` if it differs;
        whether it matched, read entirely by direct I/O."""
        if isinstance(got, tuple):
            faults[j] = got
            return False
        try:
            read, unbuffered = self._hash(got)
        except OSError as exc:
            faults[j] = _os_fault("read back", exc)
            return False
        finally:
            os.close(got.fd)
        if read != digest:
            faults[j] = ("mismatch", read)
            return False
        return unbuffered

    @staticmethod
    def _open_partial(folder: int, name: str, direct: bool = False) -> _Opened | Fault:
        """Open a partial to read back, its cached pages dropped (clean by now:
        ``syncfs``) and its storage reads started, so what is read comes from storage;
        ``direct``: read with ``O_DIRECT`` instead of started (pages dropped all the same)."""
        try:
            fd = os.open(name, _EXISTING, dir_fd=folder)
        except OSError as exc:
            return _os_fault("read back", exc)
        try:
            ident = FileIdentity.of_fd(fd)
            if not ident.is_regular:
                raise IsADirectoryError(errno.EISDIR, "not a regular file")
        except OSError as exc:
            os.close(fd)
            return _os_fault("read back", exc)
        _advise(fd, os.POSIX_FADV_DONTNEED)
        if direct and set_direct(fd, True):
            return _Opened(fd, ident, direct=True)
        _advise(fd, os.POSIX_FADV_WILLNEED)
        return _Opened(fd, ident)

    def _hash(self, got: _Opened) -> tuple[str, bool]:
        """BLAKE3 of the file, read up to its ``fstat`` size (a grown file still shows:
        a read takes what there is, up to the buffer), its pages dropped after; and
        whether it was read entirely by direct I/O."""
        stored = got.before.size
        view = self._view(stored)
        if got.direct:
            total, unbuffered = fill_direct(got.fd, view, stop=stored)
            return blake3.blake3(view[:total]).hexdigest(), unbuffered
        digest, _ = hash_upto(got.fd, view, stored)
        _advise(got.fd, os.POSIX_FADV_DONTNEED)
        return digest, False

    @staticmethod
    def _unchanged(path: str, before: FileIdentity) -> Fault | None:
        try:
            now = FileIdentity.of_path(path)
        except OSError as exc:
            return _source_fault(exc)
        what = now.change_from(before)
        return ("changed", what) if what else None


def _on_storage(
    folders: list[int | Fault],
    kinds: list[str],
    files: list[FileSpec],
    answers: list[FileAnswer],
) -> list[_Check]:
    """The partials written without a fault so far to folders on storage (those on
    memory were read back as they were written)."""
    todo: list[_Check] = []
    for k, (spec, (digest, _, faults)) in enumerate(zip(files, answers, strict=True)):
        if digest is None:
            continue
        for j, (index, name) in enumerate(spec[4]):
            if faults[j] is None and kinds[index] == STORAGE:
                folder = folders[index]
                assert isinstance(folder, int)
                todo.append((folder, digest, faults, j, name, k, spec[1]))
    return todo


def _kind(folder: int) -> str:
    """:data:`MEMORY` for a folder on tmpfs or ramfs, else :data:`STORAGE` (also when the
    type cannot be told: the read-back from storage is the safe way)."""
    return MEMORY if memory_backed(folder) else STORAGE


def _source_fault(exc: OSError) -> Fault:
    if exc.errno == errno.ENOENT:
        return ("changed", "it was deleted or renamed")
    if exc.errno == errno.ELOOP:
        return ("changed", "it was replaced by a symbolic link")
    return _os_fault("read", exc)


def serve(conn: Connection, direct_fs: frozenset[str] = frozenset()) -> None:
    """The child: answer groups until told to stop (``None``) or the pipe closes;
    ``direct_fs``: the file systems where direct I/O may be used."""
    with contextlib.suppress(ValueError, OSError, AttributeError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    group = _Group(mmap.mmap(-1, 1 << 20), load_syncfs(), direct_fs)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        try:
            reply: tuple[str, Any] = ("ok", group.run(request))
        except Exception as exc:  # a bug: the parent fails the group as an internal error
            reply = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(reply)


class HelperDied(Exception):
    """The helper process ended (killed, crashed) while copying a group."""

    def __init__(self, exitcode: int | None) -> None:
        super().__init__(f"exit code {exitcode}" if exitcode is not None else "no exit code")
        self.exitcode = exitcode


class HelperFailed(Exception):
    """The helper process met an unexpected error in a group (its text)."""


_START = threading.Lock()  # Process.start reaps ended children: one start at a time


@contextlib.contextmanager
def _children_allowed() -> Iterator[None]:
    """Let a daemonic process (the app's engine, ``service_process``) start a helper.

    ``multiprocessing`` refuses children to daemonic processes so that none outlives
    its parent; a helper never does: it ends when its pipe closes (its parent gone), and
    is itself daemonic (ended at its parent's normal exit).
    """
    from multiprocessing import process as mp_process

    config: dict[str, Any] = mp_process.current_process()._config  # type: ignore[attr-defined]
    daemon = config.pop("daemon", None)
    try:
        yield
    finally:
        if daemon is not None:
            config["daemon"] = daemon


class Helper:
    """One child process, started on first use (again after it died)."""

    def __init__(self, direct_fs: frozenset[str] = frozenset()) -> None:
        """``direct_fs``: the file systems where the child may use direct I/O."""
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._direct_fs = direct_fs

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the child (it loads while the parent goes on)."""
        if self._process is not None:
            return
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        ours, theirs = ctx.Pipe()
        process = ctx.Process(
            target=serve, args=(theirs, self._direct_fs), name="almc-smallcopy", daemon=True
        )
        with _START, _children_allowed():
            process.start()
        theirs.close()
        self._process, self._conn = process, ours

    def copy(self, request: Request) -> Answer:
        """Copy one group in the child; raise :class:`HelperDied` if it ended meanwhile."""
        try:
            self.start()
        except Exception as exc:  # no process to restart a dead one with
            raise HelperDied(None) from exc
        assert self._conn is not None
        try:
            self._conn.send(request)
            kind, value = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise HelperDied(self._reap()) from exc
        if kind != "ok":
            raise HelperFailed(value)
        answer: Answer = value
        return answer

    def _reap(self) -> int | None:
        """Forget the dead child (the next group starts a new one); its exit code."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is None:
            return None
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join(5)
        return process.exitcode

    def close(self) -> None:
        """Tell the child to stop and wait for it (killed if it does not)."""
        process, conn = self._process, self._conn
        if process is None or conn is None:
            return
        with contextlib.suppress(OSError, ValueError):
            conn.send(None)
        self._reap()


def stop_all(helpers: Sequence[Helper]) -> None:
    for h in helpers:
        h.close()

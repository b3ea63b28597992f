"""Read a written file back from storage and hash it, trailing its writer window by window.

Thread contract: a :class:`ReadBack` belongs to one copy of one file. The writer thread
calls :meth:`ReadBack.submit` and :meth:`ReadBack.finish`; in threaded mode a private
thread does the flushing and reading, so verification overlaps writing. It re-raises
any error of that thread in :meth:`finish`. Inline mode (small files, tests) does the
same work on the caller's thread.

For each window: ``fdatasync`` the writer's descriptor, drop the now clean pages from the
cache (so the read comes from storage), call the test seam ``after_flush`` (it may
corrupt the bytes on disk), read the window into a reused buffer and hash it, and drop
the read pages too. The queue of windows is bounded, which bounds the dirty memory a
fast writer can pile up ahead of a slow disk.

On Linux, for a large file on a file system that honours it, the reader has ``O_DIRECT``
(:mod:`direct`; the partial's writes too): the window is read from the device in whole
blocks into a page-aligned buffer, and only its bytes are hashed; the flush and the
eviction before still happen (they cover a tail written through the cache, and a file
system that ignores the flag). Such a copy says ``READ_BACK_UNBUFFERED``; a read the
kernel refuses goes on through the cache and the method says evicted.

On Windows there are no pages to drop: the window is read through a second handle opened
with ``FILE_FLAG_NO_BUFFERING`` (:mod:`unbuffered`: aligned whole-sector reads, the tail
handled), after ``FlushFileBuffers`` on the writer's. :attr:`ReadBack.method` says how
this copy was read back, for its receipt: if Windows refuses the flag (or it is Wine,
which ignores it), the read goes through the cache and the method says so.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable
from pathlib import Path

import blake3

from almc_assistant.core.statfs import memory_backed
from almc_assistant.core.transfer import cache, unbuffered
from almc_assistant.core.transfer import direct as _direct
from almc_assistant.core.transfer.events import (
    READ_BACK_CACHED,
    READ_BACK_IN_MEMORY,
    READ_BACK_UNBUFFERED,
)

AHEAD = 3  # windows the writer may run ahead of the read-back

FlushHook = Callable[[Path, int, int], None]  # (partial path, start, end)


class ReadBack:
    """Verifies ``path`` (being written through ``write_fd``) from storage."""

    def __init__(
        self,
        path: Path,
        write_fd: int,
        buffer: _direct.Buffer,
        *,
        threaded: bool,
        after_flush: FlushHook | None = None,
        reader_fd: int | None = None,
        direct: bool = False,
    ) -> None:
        """``reader_fd``: the file opened for reading (owned from now on); by default
        ``path`` is opened. ``direct``: read with ``O_DIRECT`` where the file system
        :func:`~direct.suits` (``buffer`` page aligned, a whole number of blocks)."""
        self.path = path
        self._wfd = write_fd
        self._raw = buffer
        self._buf = memoryview(buffer)
        self._after_flush = after_flush
        self._odirect = False  # the reader has O_DIRECT (:mod:`direct`)
        self._reader = io.FileIO(path if reader_fd is None else reader_fd, "r")
        bypass = cache.prepare(self._reader.fileno())  # macOS: F_NOCACHE, or False
        self._direct = unbuffered.open_unbuffered(path)  # Windows only, else None
        # how this copy is read back, for its receipt
        self.method = cache.read_back_method() if bypass else READ_BACK_CACHED
        if self._direct is not None and unbuffered.honoured():
            self.method = READ_BACK_UNBUFFERED
        elif memory_backed(self._reader.fileno()):
            self.method = READ_BACK_IN_MEMORY  # tmpfs: its pages are the copy; none dropped
        elif direct and bypass and _direct.enable(self._reader.fileno()):
            self._odirect = True
            self.method = READ_BACK_UNBUFFERED  # from the device, no page cache
        self._hasher = blake3.blake3()
        self._done = 0
        self._error: BaseException | None = None
        self._queue: queue.Queue[int | None] | None = None
        self._thread: threading.Thread | None = None
        if threaded:
            self._queue = queue.Queue(maxsize=AHEAD)
            self._thread = threading.Thread(
                target=self._run, name=f"almc-readback {path.name}", daemon=True
            )
            self._thread.start()

    def submit(self, upto: int) -> None:
        """Bytes ``[0, upto)`` are written; verify them (now, or on the trailing thread)."""
        if self._queue is None:
            self._advance(upto)
            return
        if self._error is not None:
            raise self._error
        self._queue.put(upto)

    def finish(self, total: int, *, before_last_flush: Callable[[], None] | None = None) -> str:
        """Verify up to ``total`` with a full ``fsync``; return the read-back BLAKE3 hex."""
        if self._queue is not None and self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            if self._error is not None:
                raise self._error
        if before_last_flush is not None:
            before_last_flush()
        self._advance(total, full=True)
        return self._hasher.hexdigest()

    def close(self) -> None:
        """Stop the trailing thread (if any) and close the reader. Idempotent."""
        if self._queue is not None and self._thread is not None and self._thread.is_alive():
            while True:  # make room, then tell it to stop
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
            self._queue.put(None)
            self._thread.join()
        self._reader.close()
        if self._direct is not None:
            self._direct.close()

    def _run(self) -> None:
        assert self._queue is not None
        while True:
            upto = self._queue.get()
            if upto is None:
                return
            if self._error is not None:
                continue  # drain until told to stop
            try:
                self._advance(upto)
            except BaseException as exc:  # re-raised on the writer's thread
                self._error = exc

    def _advance(self, upto: int, *, full: bool = False) -> None:
        start = self._done
        if upto <= start and not full:
            return
        cache.flush(self._wfd, full=full)
        cache.evict(self._wfd, start, upto - start)
        if self._after_flush is not None:
            self._after_flush(self.path, start, upto)
        if self._direct is not None:
            start = self._read_unbuffered(start, upto, full)
            if self._direct is not None:
                self._done = start
                return
        pos = self._odirect_read(start, upto, full) if self._odirect else start
        if not self._odirect:
            pos = self._cached_read(pos, upto, full)
        cache.evict(self._reader.fileno(), start, pos - start)
        self._done = pos

    def _cached_read(self, start: int, upto: int, full: bool) -> int:
        """Read ``[start, upto)`` (evicted from the cache first) and hash it; return
        where reading stopped. With ``full``, a byte beyond ``upto`` is hashed too: anything
        beyond what we wrote means someone else wrote here."""
        reader = self._reader
        reader.seek(start)
        pos = start
        buf = self._buf
        while pos < upto:
            n = reader.readinto(buf[: min(len(buf), upto - pos)])
            if not n:
                break  # shorter than written: the hash will not match
            self._hasher.update(buf[:n])
            pos += n
        if full:
            extra = reader.readinto(buf[:1])
            if extra:
                self._hasher.update(buf[:extra])
        return pos

    def _odirect_read(self, start: int, upto: int, full: bool) -> int:
        """As :meth:`_cached_read`, from the device (``O_DIRECT``): whole blocks from a
        block boundary, only the bytes in range hashed (with ``full``, every byte found
        beyond ``upto`` too). If the kernel refuses, the reader loses the flag, the method
        says so, and the caller reads on through the (evicted) cache from the returned
        position."""
        reader = self._reader
        buf = self._buf
        pos = start
        try:
            while pos < upto or full:
                block = pos - pos % _direct.ALIGN  # only the last window's tail is unaligned
                want = min(len(buf), _direct.round_up(max(upto - block, 1)))
                reader.seek(block)
                n = reader.readinto(buf[:want]) or 0
                skip = pos - block
                end = n if full else min(n, upto - block)
                if end > skip:
                    self._hasher.update(buf[skip:end])
                    pos = block + end
                if n < want or pos > upto or (pos == upto and not full):
                    break  # the file's end; a byte beyond (a mismatch); or the range read
        except OSError as exc:
            if not _direct.refused(exc):
                raise
            self._odirect = False
            _direct.disable(reader.fileno())
            self.method = cache.read_back_method()
        return pos

    def _read_unbuffered(self, start: int, upto: int, full: bool) -> int:
        """Windows: read ``[start, upto)`` bypassing the cache; return where it stopped.

        With ``full`` it asks for one byte more: anything there means someone else wrote.
        If the volume refuses an unbuffered read, it closes that handle (the caller goes
        on through the cache from the returned position) and the method says so.
        """
        assert self._direct is not None
        try:
            pos = self._direct.read_range(start, upto + full, self._raw, self._hasher.update)
        except unbuffered.Unsupported as exc:
            self._direct.close()
            self._direct = None
            self.method = cache.read_back_method()
            return exc.reached
        return min(pos, upto)

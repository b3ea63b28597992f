"""Write one partial's chunks on a thread of its own, so destinations are written in
parallel while the source's next chunk is already being read.

Thread contract: the copier's thread calls :meth:`StreamWriter.put` and
:meth:`StreamWriter.close`; in threaded mode a private thread does the writes and submits
the read-back windows. Errors are kept in :attr:`StreamWriter.error` (never raised on the
writer's thread, never swallowed: the copier checks it after each ``put`` and at the
end). Each chunk comes with a :class:`Lease`; the chunk's buffer is reused by the reader
only when every writer has released it, so memory stays at a few chunks per file.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable


class Lease:
    """A buffer lent to ``count`` writers; :meth:`wait` until all gave it back."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._lock = threading.Lock()
        self._done = threading.Event()
        if count <= 0:
            self._done.set()

    def release(self) -> None:
        with self._lock:
            self._count -= 1
            if self._count <= 0:
                self._done.set()

    def wait(self) -> None:
        self._done.wait()


class StreamWriter:
    def __init__(
        self,
        write: Callable[[memoryview], None],
        submit: Callable[[int], None],
        window: int,
        *,
        threaded: bool,
        name: str = "almc-writer",
    ) -> None:
        self._write = write
        self._submit = submit
        self._window = window
        self._next_window = window
        self.written = 0
        self.error: BaseException | None = None
        self._queue: queue.Queue[tuple[memoryview, Lease] | None] | None = None
        self._thread: threading.Thread | None = None
        if threaded:
            self._queue = queue.Queue(maxsize=2)
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._thread.start()

    def put(self, chunk: memoryview, lease: Lease) -> None:
        """Write ``chunk`` (now, or on the writer thread), then release ``lease``."""
        if self._queue is None:
            self._do(chunk, lease)
        else:
            self._queue.put((chunk, lease))

    def close(self) -> None:
        """Finish the queued writes and stop the thread. Idempotent."""
        if self._queue is not None and self._thread is not None:
            if self._thread.is_alive():
                self._queue.put(None)
                self._thread.join()
            self._queue = None

    def _run(self) -> None:
        assert self._queue is not None
        q = self._queue
        while (item := q.get()) is not None:
            self._do(*item)

    def _do(self, chunk: memoryview, lease: Lease) -> None:
        try:
            if self.error is None:
                self._write(chunk)
                self.written += len(chunk)
                if self.written >= self._next_window:
                    self._submit(self.written)
                    while self._next_window <= self.written:
                        self._next_window += self._window
        except BaseException as exc:  # kept for the copier's thread
            self.error = exc
        finally:
            lease.release()

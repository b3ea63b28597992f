"""Writes to the catalog in batches, on one thread, without losing any.

Thread contract: :meth:`Recorder.submit` may be called from any thread (watchdog and
stabiliser threads, copy workers); it only enqueues. One thread (``almc-catalog-writer``,
started by :meth:`start`, joined by :meth:`stop`) applies the writes in order, many per
transaction (a scan of 100,000 files is a few hundred transactions, not 100,000).

When a batch cannot be written (the disk holding the catalog is full, another program
keeps it locked), the batch stays at the head of the queue and is retried every
``retry_seconds``; ``on_error`` is told once per failure streak and ``on_recovered`` when
the backlog has been written. An operation that fails for another reason (a bug) is
isolated, reported through ``on_error`` and dropped, so it cannot block the rest.
With ``inline=True`` every write happens in :meth:`submit` (deterministic tests).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from almc_assistant.core.catalog.connection import CatalogError
from almc_assistant.core.catalog.store import Catalog

log = logging.getLogger(__name__)

Operation = Callable[[Catalog], object]
ErrorHandler = Callable[[BaseException, int], None]  # (error, operations waiting)


class AfterCommit:
    """A queued call made once everything submitted before it is committed (it runs
    outside the transaction, so readers on other connections see the new state)."""

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn

    def __call__(self, catalog: Catalog) -> None:  # inside a batch: nothing to write
        return None


class Recorder:
    def __init__(
        self,
        catalog: Catalog,
        *,
        on_error: ErrorHandler,
        on_recovered: Callable[[], None] = lambda: None,
        max_batch: int = 2000,
        retry_seconds: float = 2.0,
        inline: bool = False,
    ) -> None:
        self._catalog = catalog
        self._on_error = on_error
        self._on_recovered = on_recovered
        self._max_batch = max_batch
        self._retry = retry_seconds
        self._inline = inline
        self._queue: deque[Operation] = deque()
        self._cond = threading.Condition()
        self._submitted = 0
        self._done = 0
        self._failing = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._queue)

    def start(self) -> None:
        if self._inline or self._thread is not None:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="almc-catalog-writer")
        self._thread.start()

    def submit(self, op: Operation) -> None:
        with self._cond:
            self._queue.append(op)
            self._submitted += 1
            self._cond.notify_all()
        if self._inline:
            self._drain_once()

    def submit_after(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` on the writer thread once what was submitted before is written."""
        self.submit(AfterCommit(fn))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far is written; False on timeout."""
        if self._inline:
            self._drain_once()
            return self.waiting == 0
        with self._cond:
            target = self._submitted
            return self._cond.wait_for(lambda: self._done >= target, timeout)

    def stop(self, timeout: float = 10.0) -> int:
        """Write what is queued (trying once more if failing) and stop; returns the
        number of operations that could not be written."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        else:
            self._drain_once()
        return self.waiting

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue) or self._stopping)
                if not self._queue and self._stopping:
                    return
            ok = self._drain_once()
            if not ok:
                with self._cond:
                    if self._stopping:
                        return
                    self._cond.wait(self._retry)

    def _drain_once(self) -> bool:
        """Write queued operations batch by batch; False when a batch failed."""
        while True:
            with self._cond:
                batch = [self._queue[i] for i in range(min(self._max_batch, len(self._queue)))]
            if not batch:
                return True
            try:
                with self._catalog.transaction():
                    for op in batch:
                        op(self._catalog)
            except CatalogError as exc:
                self._failed(exc)
                return False
            except Exception:
                if not self._isolate(batch):
                    return False
                self._recovered()
                self._after(batch)
            else:
                # Tell, then run the after-commit calls, then count the batch as done,
                # so that flush() returns only once all of it has happened.
                self._recovered()
                self._after(batch)
                self._finished(len(batch))

    def _recovered(self) -> None:
        if self._failing:
            self._failing = False
            self._on_recovered()

    def _after(self, batch: list[Operation]) -> None:
        for op in batch:
            if isinstance(op, AfterCommit):
                try:
                    op.fn()
                except Exception as exc:  # reported; the writer keeps going
                    log.exception("after-commit call failed")
                    self._on_error(exc, self.waiting)

    def _failed(self, exc: CatalogError) -> None:
        if not self._failing:  # once per failure streak; retries are quiet
            log.warning("catalog write failed (%s); %d waiting", exc, self.waiting)
            self._failing = True
            self._on_error(exc, self.waiting)

    def _isolate(self, batch: list[Operation]) -> bool:
        """A batch failed for a reason other than the database: find and drop the culprit."""
        for op in batch:
            try:
                with self._catalog.transaction():
                    op(self._catalog)
            except CatalogError as exc:
                self._failed(exc)
                return False
            except Exception as exc:  # a bug in one operation: report it, keep the rest
                log.exception("catalog operation failed")
                self._on_error(exc, self.waiting)
            self._finished(1)
        return True

    def _finished(self, n: int) -> None:
        with self._cond:
            for _ in range(n):
                self._queue.popleft()
            self._done += n
            self._cond.notify_all()

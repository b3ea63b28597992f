"""Job progress: counters updated by workers, immutable snapshots for any front end.

Thread contract: every method is thread-safe. Workers call :meth:`Progress.add`,
:meth:`file_started`, :meth:`file_finished`; anyone may call :meth:`Progress.snapshot`.
:meth:`Progress.maybe_publish` publishes a ``JobProgressed`` at most every ``interval``
seconds from whichever worker gets there first (no extra thread).

The rate is measured over the last few seconds (a sliding window), so the ETA follows a
change of speed (small files, then a big one) instead of the average since the start.
"""

from __future__ import annotations

import collections
import threading
import time

from almc_assistant.core.events import EventSink
from almc_assistant.core.transfer.events import FileProgress, JobProgressed, JobSnapshot
from almc_assistant.core.transfer.scan import FileTask

_RATE_WINDOW = 5.0  # seconds


class Progress:
    def __init__(
        self,
        job_id: str,
        sink: EventSink,
        *,
        interval: float = 0.25,
        clock: collections.abc.Callable[[], float] = time.monotonic,
    ) -> None:
        self._job_id = job_id
        self._sink = sink
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._state = "scanning"
        self._bytes_done = 0
        self._bytes_total = 0
        self._files_done = 0
        self._files_total = 0
        self._current: dict[FileTask, int] = {}
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self._last_publish = 0.0

    def start(self, files_total: int, bytes_total: int) -> None:
        with self._lock:
            self._files_total, self._bytes_total = files_total, bytes_total
            if self._state == "scanning":  # paused or cancelled while scanning: still so
                self._state = "running"
            self._samples.append((self._clock(), 0))

    def set_state(self, state: str) -> None:
        with self._lock:
            self._state = state

    def file_started(self, task: FileTask) -> None:
        with self._lock:
            self._current[task] = 0

    def add(self, task: FileTask, n: int) -> None:
        with self._lock:
            self._bytes_done += n
            if task in self._current:
                self._current[task] += n
        self.maybe_publish()

    def rewind(self, task: FileTask) -> None:
        """A file is copied again (retry): forget the bytes of the failed attempt."""
        with self._lock:
            self._bytes_done -= self._current.get(task, 0)
            self._current[task] = 0

    def file_finished(self, task: FileTask) -> None:
        """A file is done (copied, skipped or failed): count it and all its bytes."""
        with self._lock:
            done = self._current.pop(task, 0)
            self._bytes_done += task.size - done
            self._files_done += 1
        self.maybe_publish()

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            now = self._clock()
            self._samples.append((now, self._bytes_done))
            while len(self._samples) > 2 and now - self._samples[0][0] > _RATE_WINDOW:
                self._samples.popleft()
            t0, b0 = self._samples[0]
            rate = (self._bytes_done - b0) / (now - t0) if now > t0 else 0.0
            remaining = self._bytes_total - self._bytes_done
            eta = remaining / rate if rate > 0 else None
            current = tuple(
                FileProgress(source=t.source, bytes_done=b, size=t.size)
                for t, b in self._current.items()
            )
            return JobSnapshot(
                job_id=self._job_id,
                state=self._state,
                bytes_done=self._bytes_done,
                bytes_total=self._bytes_total,
                files_done=self._files_done,
                files_total=self._files_total,
                rate_bytes_per_s=rate,
                eta_seconds=eta,
                current=current,
            )

    def maybe_publish(self, *, force: bool = False) -> None:
        now = self._clock()
        with self._lock:
            if not force and now - self._last_publish < self._interval:
                return
            self._last_publish = now
        self._sink.publish(JobProgressed(snapshot=self.snapshot()))

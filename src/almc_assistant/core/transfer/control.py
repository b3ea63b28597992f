"""Pause, resume and cancel for a running job, checked by workers between chunks.

Thread contract: :meth:`JobControl.pause`, :meth:`resume` and :meth:`cancel` may be called
from any thread (GUI, CLI signal handler); :meth:`checkpoint` is called by workers and
blocks while the job is paused.
"""

from __future__ import annotations

import threading

from almc_assistant.core.transfer.faults import Cancelled


class JobControl:
    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._cancelled = threading.Event()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def cancel(self) -> None:
        self._cancelled.set()
        self._running.set()  # wake paused workers so they can stop

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` before a retry; a cancel ends the wait at once."""
        self._cancelled.wait(seconds)

    def checkpoint(self) -> None:
        """Block while paused; raise :class:`Cancelled` once cancelled."""
        while not self._running.wait(0.5):
            pass
        if self._cancelled.is_set():
            raise Cancelled()

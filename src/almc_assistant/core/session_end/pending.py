"""What is not backed up yet: the summary the service reports and a thread-safe cache of it.

Thread contract: :class:`PendingSummary` (defined in ``core.session``, next to the
service that returns it; re-exported here) is a frozen value. :class:`PendingState` may be
read and updated from any thread; reads never block on I/O, which is what lets the
operating system's session-end callbacks answer in milliseconds.

The service (branch ``catalog``) provides ``Service.pending_summary()``; anything with the
same shape (a callable returning :class:`PendingSummary`, or any object with ``files``,
``bytes`` and ``oldest`` attributes) can feed the cache.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from almc_assistant.core.session import PendingSummary

__all__ = [
    "NOTHING_PENDING",
    "PendingLike",
    "PendingSource",
    "PendingState",
    "PendingSummary",
    "as_summary",
]


NOTHING_PENDING = PendingSummary()


class PendingLike(Protocol):
    """Whatever the service returns: only these three attributes are read."""

    @property
    def files(self) -> int: ...

    @property
    def bytes(self) -> int: ...

    @property
    def oldest(self) -> float | None: ...


PendingSource = Callable[[], PendingLike]
"""``Service.pending_summary`` or any callable of that shape (may do I/O: call off-GUI)."""


def as_summary(value: PendingLike) -> PendingSummary:
    """Copy any object with ``files``/``bytes``/``oldest`` into a :class:`PendingSummary`."""
    if isinstance(value, PendingSummary):
        return value
    return PendingSummary(files=int(value.files), bytes=int(value.bytes), oldest=value.oldest)


class PendingState:
    """The latest :class:`PendingSummary`, with a version that changes when it does.

    ``version`` lets a GUI-thread timer notice a change cheaply without a signal being
    emitted from a worker thread.
    """

    def __init__(self, initial: PendingSummary = NOTHING_PENDING) -> None:
        self._lock = threading.Lock()
        self._summary = initial
        self._version = 0
        self._known = False

    def set(self, summary: PendingSummary) -> PendingSummary | None:
        """Store ``summary``; return the previous value if it changed, else ``None``."""
        with self._lock:
            if self._known and summary == self._summary:
                return None
            previous = self._summary
            self._summary = summary
            self._version += 1
            self._known = True
            return previous

    @property
    def summary(self) -> PendingSummary:
        with self._lock:
            return self._summary

    @property
    def version(self) -> int:
        with self._lock:
            return self._version

    @property
    def known(self) -> bool:
        """Whether any summary was reported yet (before that, ``summary`` is empty)."""
        with self._lock:
            return self._known

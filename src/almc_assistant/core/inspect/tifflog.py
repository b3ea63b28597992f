"""Capture what tifffile logs while one thread reads one file.

Thread contract: thread-safe. tifffile reports many problems (pages beyond the end of
the file, broken metadata) only through ``logging.getLogger("tifffile")`` and carries on
(DOMAIN.md 3.5). A filter installed once on that logger hands each record to the
collector of the thread that produced it, if that thread is inside :func:`capture`, and
keeps it from reaching the user's console; records from other threads pass untouched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_local = threading.local()
_install_lock = threading.Lock()
_installed = False


class _Router(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        sink: list[logging.LogRecord] | None = getattr(_local, "sink", None)
        if sink is None:
            return True
        sink.append(record)
        return False


def _install() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            logging.getLogger("tifffile").addFilter(_Router())
            _installed = True


@contextmanager
def capture() -> Iterator[list[logging.LogRecord]]:
    """Collect the tifffile log records this thread produces inside the block."""
    _install()
    outer = getattr(_local, "sink", None)
    records: list[logging.LogRecord] = []
    _local.sink = records
    try:
        yield records
    finally:
        _local.sink = outer

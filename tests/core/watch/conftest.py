"""Watcher tests: every thread a test starts, daemon or not, must be gone at its end.

watchdog's observer threads are daemons, which the project-wide check ignores; a
watcher that forgot to stop one would otherwise go unnoticed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _no_threads_left_at_all() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for t in left:
        t.join(timeout=5)
    still = [t.name for t in left if t.is_alive()]
    assert not still, f"test left threads running (daemon or not): {still}"

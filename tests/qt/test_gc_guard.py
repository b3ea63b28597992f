"""Cyclic garbage is collected on the GUI thread only, while the collector runs."""

from __future__ import annotations

import gc
import threading
from typing import Any, ClassVar

from almc_assistant.qt.gc_guard import GuiThreadCollector


class Cyclic:
    """Garbage only the cyclic collector can free; says on which thread it was freed."""

    freed_on: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        Cyclic.freed_on.append(threading.current_thread().name)


def _make_garbage_in_a_worker() -> list[Any]:
    """200 cycles, then allocations far past the first threshold, all in a worker; the
    allocations are kept (returned): freeing them would lower the collector's count
    again, and with automatic collection on, CPython collects while it counts up, in
    this worker."""
    kept: list[Any] = []

    def work() -> None:
        for _ in range(200):
            Cyclic()
        kept.extend([i] for i in range(50_000))

    worker = threading.Thread(target=work, name="copy-worker")
    worker.start()
    worker.join()
    return kept


def test_cycles_made_in_a_worker_are_freed_on_the_gui_thread(qtbot: Any) -> None:
    collector = GuiThreadCollector(interval_ms=10)
    was_enabled = gc.isenabled()
    collector.start()
    try:
        assert not gc.isenabled()
        Cyclic.freed_on.clear()
        kept = _make_garbage_in_a_worker()
        assert Cyclic.freed_on == []  # nothing collected in the worker
        qtbot.waitUntil(lambda: len(Cyclic.freed_on) == 200, timeout=10_000)
        del kept
        # by this collector's timer, or the Qt tests' own one (tests/qt/conftest.py)
        assert set(Cyclic.freed_on) == {threading.main_thread().name}
    finally:
        collector.stop()
    assert gc.isenabled() == was_enabled


def test_nothing_is_collected_before_python_would_have(qtbot: Any) -> None:
    collector = GuiThreadCollector()
    collector.start()
    try:
        gc.collect()  # counts back to zero
        assert collector.check() == -1
        junk = [[i] for i in range(5_000)]  # past the first threshold (700 by default)
        assert collector.check() == 0
        del junk
    finally:
        collector.stop()

"""BackgroundPriority: the app's other threads run at a lower CPU priority (Linux)."""

from __future__ import annotations

import os
import threading

import pytest

from almc_assistant.qt import priority
from almc_assistant.qt.priority import BACKGROUND_NICENESS, BackgroundPriority

pytestmark = pytest.mark.skipif(not priority.supported(), reason="per-thread niceness: Linux")


def _niceness(thread_id: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, thread_id)


def test_workers_get_a_lower_priority_and_the_gui_thread_keeps_its_own(qtbot) -> None:  # type: ignore[no-untyped-def]
    gui_before = _niceness(threading.get_native_id())
    release = threading.Event()
    workers = [threading.Thread(target=release.wait, name=f"worker-{i}") for i in range(3)]
    for w in workers:
        w.start()
    try:
        keeper = BackgroundPriority()
        changed = keeper.apply()
        assert changed >= len(workers)
        for w in workers:
            assert w.native_id is not None
            assert _niceness(w.native_id) >= BACKGROUND_NICENESS
        assert _niceness(threading.get_native_id()) == gui_before
        assert keeper.apply() == 0  # nothing new since
    finally:
        release.set()
        for w in workers:
            w.join()


def test_threads_started_later_are_lowered_by_the_timer(qtbot) -> None:  # type: ignore[no-untyped-def]
    keeper = BackgroundPriority()
    keeper.start()
    release = threading.Event()
    late = threading.Thread(target=release.wait, name="late-worker")
    late.start()
    try:
        assert late.native_id is not None
        qtbot.waitUntil(lambda: _niceness(late.native_id) >= BACKGROUND_NICENESS)
    finally:
        keeper.stop()
        release.set()
        late.join()


def test_a_thread_already_nicer_is_left_alone(qtbot) -> None:  # type: ignore[no-untyped-def]
    release = threading.Event()
    started = threading.Event()

    def nicer() -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS + 5)
        started.set()
        release.wait()

    thread = threading.Thread(target=nicer)
    thread.start()
    try:
        assert started.wait(20)
        BackgroundPriority().apply()
        assert thread.native_id is not None
        assert _niceness(thread.native_id) == BACKGROUND_NICENESS + 5
    finally:
        release.set()
        thread.join()

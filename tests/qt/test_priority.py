"""BackgroundPriority: the app's other threads run at a lower CPU priority (Linux).

The runner may itself be niced (``nice -n 19 ./dev test`` on a shared machine): the
expectations are relative to the niceness the tests start at.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from pytestqt.qtbot import QtBot

from almc_assistant.core.service_process import READER_THREAD
from almc_assistant.qt import priority
from almc_assistant.qt.priority import LOWEST_PRIORITY, BackgroundPriority, background_niceness

pytestmark = pytest.mark.skipif(not priority.supported(), reason="per-thread niceness: Linux")


def _niceness(thread_id: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, thread_id)


def test_workers_get_a_lower_priority_and_the_gui_thread_keeps_its_own(qtbot: QtBot) -> None:
    gui_before = _niceness(threading.get_native_id())
    release = threading.Event()
    workers = [threading.Thread(target=release.wait, name=f"worker-{i}") for i in range(3)]
    for w in workers:
        w.start()
    try:
        keeper = BackgroundPriority()
        assert keeper.niceness == background_niceness(gui_before)
        changed = keeper.apply()
        if keeper.niceness > gui_before:  # else the runner is at the lowest priority already
            assert changed >= len(workers)
        for w in workers:
            assert w.native_id is not None
            assert _niceness(w.native_id) >= keeper.niceness
        assert _niceness(threading.get_native_id()) == gui_before
        assert keeper.apply() == 0  # nothing new since
    finally:
        release.set()
        for w in workers:
            w.join()


def test_the_engine_reader_keeps_the_gui_threads_priority(qtbot: QtBot) -> None:
    """The engine's reader thread holds the GIL while it unpickles the engine's events:
    lowered, it was preempted holding it and the GUI thread slept behind it."""
    gui_before = _niceness(threading.get_native_id())
    keeper = BackgroundPriority()
    if keeper.niceness <= gui_before:
        pytest.skip("the runner is at the lowest priority already: nothing is lowered")
    release = threading.Event()
    reader = threading.Thread(target=release.wait, name=READER_THREAD)
    worker = threading.Thread(target=release.wait, name="worker")
    reader.start()
    worker.start()
    try:
        keeper.apply()
        assert reader.native_id is not None and worker.native_id is not None
        assert _niceness(worker.native_id) >= keeper.niceness
        assert _niceness(reader.native_id) == gui_before
    finally:
        release.set()
        reader.join()
        worker.join()


def test_threads_started_later_are_lowered_by_the_timer(qtbot: QtBot) -> None:
    keeper = BackgroundPriority()
    keeper.start()
    release = threading.Event()
    late = threading.Thread(target=release.wait, name="late-worker")
    late.start()
    try:
        late_id = late.native_id
        assert late_id is not None
        qtbot.waitUntil(lambda: _niceness(late_id) >= keeper.niceness)
    finally:
        keeper.stop()
        release.set()
        late.join()


def test_a_thread_already_nicer_is_left_alone(qtbot: QtBot) -> None:
    target = background_niceness(_niceness(threading.get_native_id()))
    if target >= LOWEST_PRIORITY:
        pytest.skip("the runner is niced so far that no thread can be nicer than the workers")
    nicer = min(LOWEST_PRIORITY, target + 5)
    release = threading.Event()
    started = threading.Event()

    def nicer_thread() -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nicer)
        started.set()
        release.wait()

    thread = threading.Thread(target=nicer_thread)
    thread.start()
    try:
        assert started.wait(20)
        BackgroundPriority().apply()
        assert thread.native_id is not None
        assert _niceness(thread.native_id) == nicer
    finally:
        release.set()
        thread.join()


_CHILD = """
import os, threading
from almc_assistant.qt.priority import BackgroundPriority
release = threading.Event()
worker = threading.Thread(target=release.wait)
worker.start()
BackgroundPriority().apply()
print(os.getpriority(os.PRIO_PROCESS, 0), os.getpriority(os.PRIO_PROCESS, worker.native_id))
release.set()
worker.join()
"""


def test_an_app_started_niced_still_puts_its_gui_thread_first() -> None:
    """Started with ``nice -n 12``, the workers used to stay at 12 (already "at least
    10"), level with the GUI thread."""
    start = _niceness(0)
    if start + 1 >= LOWEST_PRIORITY:
        pytest.skip("the runner is niced so far that a niced child cannot go lower")
    step = min(2, LOWEST_PRIORITY - start - 1)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        preexec_fn=lambda: os.nice(step),
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    gui, worker = map(int, done.stdout.split())
    assert gui == start + step
    assert worker == background_niceness(gui) > gui

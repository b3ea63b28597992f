"""The logind delay lock against python-dbusmock's logind template on a private system bus."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from almc_assistant.core.session_end import EndKind, PendingSummary, SessionEndGuard
from almc_assistant.qt.session.logind import LogindDelayLock
from tests.qt.session.conftest import PrivateBuses, connect

REASON = "3 files (12.4 GB) are not backed up yet"


@pytest.fixture
def logind(private_buses: PrivateBuses) -> Iterator[Any]:
    with private_buses.spawn_template("logind") as mock:
        yield mock


def inhibitors(logind: Any) -> list[tuple[str, ...]]:
    got = logind.obj.ListInhibitors(dbus_interface="org.freedesktop.login1.Manager")
    return [tuple(str(x) for x in row[:4]) for row in got]


def emit(logind: Any, signal: str, value: bool) -> None:
    import dbus
    import dbusmock

    logind.obj.EmitSignal(
        "org.freedesktop.login1.Manager",
        signal,
        "b",
        [dbus.Boolean(value)],
        dbus_interface=dbusmock.MOCK_IFACE,
    )


@pytest.fixture
def lock(qtbot: Any, guard: SessionEndGuard, private_buses: PrivateBuses, logind: Any):
    lk = LogindDelayLock(guard, connect(private_buses.system.address))
    assert lk.connected
    yield lk
    lk.close()


def test_lock_is_held_exactly_while_data_is_at_risk(
    qtbot: Any, lock: LogindDelayLock, logind: Any
) -> None:
    assert inhibitors(logind) == []
    lock.set_block_reason(REASON)
    qtbot.waitUntil(lambda: lock.held, timeout=5000)
    assert inhibitors(logind) == [("shutdown:sleep", "almc-assistant", REASON, "delay")]
    lock.set_block_reason("2 files (1.0 GB) are not backed up yet")  # no churn
    assert len(inhibitors(logind)) == 1
    lock.set_block_reason(None)
    assert not lock.held
    qtbot.waitUntil(lambda: inhibitors(logind) == [], timeout=5000)


def test_prepare_for_shutdown_records_the_end_and_releases(
    qtbot: Any, lock: LogindDelayLock, logind: Any, guard: SessionEndGuard
) -> None:
    guard.update(PendingSummary(3, 12_400_000_000, 0.0))
    lock.set_block_reason(guard.block_reason())
    qtbot.waitUntil(lambda: lock.held, timeout=5000)
    emit(logind, "PrepareForShutdown", True)
    qtbot.waitUntil(lambda: not lock.held, timeout=5000)
    qtbot.waitUntil(lambda: inhibitors(logind) == [], timeout=5000)
    record = guard.marker.read()
    assert record is not None
    assert record.ended_kind is EndKind.SHUTDOWN_OR_RESTART and record.pending.files == 3
    emit(logind, "PrepareForShutdown", False)  # the shutdown was cancelled
    qtbot.waitUntil(lambda: lock.held, timeout=5000)
    assert len(inhibitors(logind)) == 1


def test_sleep_releases_and_resume_takes_the_lock_again(
    qtbot: Any, lock: LogindDelayLock, logind: Any
) -> None:
    lock.set_block_reason(REASON)
    qtbot.waitUntil(lambda: lock.held, timeout=5000)
    emit(logind, "PrepareForSleep", True)
    qtbot.waitUntil(lambda: inhibitors(logind) == [], timeout=5000)
    lock.set_block_reason(REASON)  # while suspending: no new lock
    emit(logind, "PrepareForSleep", False)
    qtbot.waitUntil(lambda: lock.held, timeout=5000)
    assert len(inhibitors(logind)) == 1


def test_releasing_before_the_reply_arrives_leaves_no_lock(
    qtbot: Any, lock: LogindDelayLock, logind: Any
) -> None:
    lock.set_block_reason(REASON)
    lock.set_block_reason(None)  # before the reply
    assert lock.waiting
    qtbot.waitUntil(lambda: not lock.waiting, timeout=5000)
    assert not lock.held
    # the fd we got in the late reply is closed at once; the mock drops the inhibitor
    # when it notices, asynchronously (as real logind does)
    qtbot.waitUntil(lambda: inhibitors(logind) == [], timeout=5000)


def test_no_logind_is_not_an_error(
    qtbot: Any, guard: SessionEndGuard, private_buses: PrivateBuses
) -> None:
    lk = LogindDelayLock(guard, connect(private_buses.system.address))
    lk.set_block_reason(REASON)
    assert lk.waiting
    qtbot.waitUntil(lambda: not lk.waiting, timeout=5000)
    assert not lk.held
    lk.close()

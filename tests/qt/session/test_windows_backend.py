"""The Windows backend on a real (offscreen) Qt app, with the Windows API faked.

Messages are real ``MSG`` structures in memory, read by the installed native event
filter exactly as on Windows; only the ``user32``/``wtsapi32`` calls are recorded fakes.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from typing import Any

import pytest
from PySide6.QtCore import QByteArray

from almc_assistant.core.events import ListSink
from almc_assistant.core.session_end import (
    EndKind,
    PendingSummary,
    ReminderDue,
    ReminderKind,
    SessionEndGuard,
)
from almc_assistant.qt.session.win32api import SHUTDOWN_LEVEL, CtypesWin32Api
from almc_assistant.qt.session.win_messages import (
    ENDSESSION_LOGOFF,
    NOT_HANDLED,
    WM_ENDSESSION,
    WM_QUERYENDSESSION,
)
from almc_assistant.qt.session.windows import WindowsSessionBackend, make_msg
from tests.qt.session.fake_win32 import FakeWin32Api

AT_RISK = PendingSummary(3, 12_400_000_000, 0.0)


@pytest.fixture
def api() -> FakeWin32Api:
    return FakeWin32Api()


@pytest.fixture
def backend(qapp: Any, guard: SessionEndGuard, api: FakeWin32Api):
    b = WindowsSessionBackend(qapp, guard, api)
    yield b
    b.close()


def send(backend: WindowsSessionBackend, message: int, wparam: int = 0, lparam: int = 0):
    msg = make_msg(message, wparam, lparam, hwnd=backend.hwnd)
    return backend.filter_message(ctypes.addressof(msg))


def test_startup_asks_to_be_queried_first_and_registers_for_session_changes(
    backend: WindowsSessionBackend, api: FakeWin32Api
) -> None:
    assert backend.hwnd != 0
    assert api.calls == [
        ("SetProcessShutdownParameters", SHUTDOWN_LEVEL, 0),
        ("WTSRegisterSessionNotification", backend.hwnd),
    ]


def test_block_reason_follows_the_pending_state(
    backend: WindowsSessionBackend, api: FakeWin32Api
) -> None:
    backend.set_block_reason(None)
    assert "ShutdownBlockReasonDestroy" not in api.names()
    backend.set_block_reason("3 files (12.4 GB) are not backed up yet")
    backend.set_block_reason("3 files (12.4 GB) are not backed up yet")
    assert api.reason == {backend.hwnd: "3 files (12.4 GB) are not backed up yet"}
    backend.set_block_reason("4 files (13.0 GB) are not backed up yet")
    assert api.reason[backend.hwnd].startswith("4 files")
    backend.set_block_reason(None)
    assert api.reason == {}
    assert api.names().count("ShutdownBlockReasonCreate") == 2


def test_a_failed_block_reason_call_is_retried_on_the_next_change(
    guard: SessionEndGuard, qapp: Any, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeWin32Api(fail={"ShutdownBlockReasonCreate"})
    b = WindowsSessionBackend(qapp, guard, api)
    try:
        with caplog.at_level(logging.WARNING):
            b.set_block_reason("x")
        assert b.block_reason is None and "error 5" in caplog.text
        api.fail.clear()
        b.set_block_reason("x")
        assert b.block_reason == "x"
    finally:
        b.close()


def test_the_installed_filter_reads_real_msg_structures(
    qtbot: Any, backend: WindowsSessionBackend, guard: SessionEndGuard, sink: ListSink
) -> None:
    guard.update(AT_RISK)
    assert send(backend, WM_QUERYENDSESSION, 0, ENDSESSION_LOGOFF) == (True, 0)
    assert send(backend, WM_ENDSESSION, 0, ENDSESSION_LOGOFF) == NOT_HANDLED
    assert sink.of_type(ReminderDue) == []  # not inside the message
    qtbot.waitUntil(lambda: bool(sink.of_type(ReminderDue)), timeout=2000)
    (r,) = sink.of_type(ReminderDue)
    assert r.kind is ReminderKind.SESSION_END_CANCELLED


def test_filter_ignores_other_event_types(
    backend: WindowsSessionBackend, guard: SessionEndGuard
) -> None:
    guard.update(AT_RISK)
    msg = make_msg(WM_QUERYENDSESSION, 0, ENDSESSION_LOGOFF)
    f = backend._filter
    assert f.nativeEventFilter(QByteArray(b"xcb_generic_event_t"), ctypes.addressof(msg)) == (
        NOT_HANDLED
    )
    assert f.nativeEventFilter(QByteArray(b"windows_generic_MSG"), ctypes.addressof(msg)) == (
        True,
        0,
    )


def test_a_bug_in_the_handler_still_gives_windows_an_answer(
    backend: WindowsSessionBackend,
    guard: SessionEndGuard,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def boom(*_: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(guard, "query_end", boom)
    with caplog.at_level(logging.ERROR):
        assert send(backend, WM_QUERYENDSESSION, 0, ENDSESSION_LOGOFF) == NOT_HANDLED
    assert "could not be handled" in caplog.text


def test_session_notification_registration_is_retried(
    qtbot: Any, qapp: Any, guard: SessionEndGuard
) -> None:
    api = FakeWin32Api(fail={"WTSRegisterSessionNotification"})
    b = WindowsSessionBackend(qapp, guard, api, wts_retry_ms=10)
    try:
        qtbot.waitUntil(lambda: api.names().count("WTSRegisterSessionNotification") == 2)
        api.fail.clear()
        qtbot.waitUntil(lambda: api.names().count("WTSRegisterSessionNotification") == 3)
        qtbot.wait(50)
        assert api.names().count("WTSRegisterSessionNotification") == 3  # stops on success
    finally:
        b.close()
    assert api.names()[-1] == "WTSUnRegisterSessionNotification"


def test_close_removes_reason_and_registration(
    qapp: Any, guard: SessionEndGuard, api: FakeWin32Api
) -> None:
    b = WindowsSessionBackend(qapp, guard, api)
    b.set_block_reason("x")
    b.close()
    assert api.names()[-2:] == ["ShutdownBlockReasonDestroy", "WTSUnRegisterSessionNotification"]


def test_end_session_true_marks_the_marker(
    backend: WindowsSessionBackend, guard: SessionEndGuard
) -> None:
    guard.update(AT_RISK)
    send(backend, WM_QUERYENDSESSION, 0, ENDSESSION_LOGOFF)
    send(backend, WM_ENDSESSION, 1, ENDSESSION_LOGOFF)
    rec = guard.marker.read()
    assert rec is not None and rec.ended_kind is EndKind.LOGOFF


@pytest.mark.skipif(sys.platform == "win32", reason="checks the guard for other platforms")
def test_the_real_api_refuses_to_load_off_windows() -> None:
    with pytest.raises(OSError, match="only available on Windows"):
        CtypesWin32Api()


def test_filter_accepts_the_message_as_a_voidptr_too(
    backend: WindowsSessionBackend, guard: SessionEndGuard
) -> None:
    import shiboken6

    guard.update(AT_RISK)
    msg = make_msg(WM_QUERYENDSESSION, 0, ENDSESSION_LOGOFF, backend.hwnd)
    pointer = shiboken6.VoidPtr(ctypes.addressof(msg))
    assert backend._filter.nativeEventFilter(QByteArray(b"windows_generic_MSG"), pointer) == (
        True,
        0,
    )

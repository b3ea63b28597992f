"""The lost-display recorder, fed the exact warning Qt's xcb plugin logs before exit(1).

The real thing (Xvfb killed under the running app) is in
``test_x11_session_managers.py``; here the message goes through Qt's real logging.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import qWarning

from almc_assistant.core.session_end import EndKind, PendingSummary, SessionEndGuard
from almc_assistant.qt.session.display_loss import DisplayLossRecorder


def test_the_broken_connection_warning_records_the_end(
    qapp: Any, guard: SessionEndGuard, qtlog: Any
) -> None:
    guard.update(PendingSummary(2, 2000, 0.0))
    recorder = DisplayLossRecorder(guard)
    try:
        qWarning("Some other warning")
        record = guard.marker.read()
        assert record is not None and record.ended_kind is None
        qWarning("The X11 connection broke (error 1). Did the X11 server die?")
        record = guard.marker.read()
        assert record is not None and record.ended_kind is EndKind.UNKNOWN
        assert record.pending.files == 2
    finally:
        recorder.close()
    passed_on = [r.message for r in qtlog.records]  # to the handler before ours (pytest-qt)
    assert passed_on[0] == "Some other warning"
    assert passed_on[1].startswith("The X11 connection broke")

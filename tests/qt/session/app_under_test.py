"""A minimal app process for the end-to-end test: guard + hooks on the given buses.

Run as ``python -m tests.qt.session.app_under_test FILES BYTES`` with ``ALMC_HOME`` and
``ALMC_TEST_SESSION_BUS`` / ``ALMC_TEST_SYSTEM_BUS`` set. Prints one JSON line per event
(and ``{"registered": path}``) on stdout, flushed, so the test can follow it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import sys
import threading

from PySide6.QtDBus import QDBusConnection
from PySide6.QtWidgets import QApplication

from almc_assistant.core.events import CallbackSink, Event
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.session_end import PendingSummary, SessionEndGuard
from almc_assistant.qt.session import install_session_end_hooks
from almc_assistant.qt.session.gnome import GnomeSessionClient

_lock = threading.Lock()


def emit(data: dict[str, object]) -> None:
    with _lock:
        print(json.dumps(data, default=_plain), flush=True)


def _plain(value: object) -> object:
    return value.value if isinstance(value, enum.Enum) else str(value)


def on_event(event: Event) -> None:
    emit({"event": type(event).__name__, **dataclasses.asdict(event)})


def main() -> int:
    files, size = int(sys.argv[1]), int(sys.argv[2])
    app = QApplication([])
    summary = PendingSummary(files, size, 0.0 if files else None)
    guard = SessionEndGuard.create(
        lambda: summary, AppPaths.default().ensure(), CallbackSink(on_event), platform="linux"
    )
    guard.start()
    session = QDBusConnection.connectToBus(os.environ["ALMC_TEST_SESSION_BUS"], "session")
    system = QDBusConnection.connectToBus(os.environ["ALMC_TEST_SYSTEM_BUS"], "system")
    hooks = install_session_end_hooks(
        app, guard, platform="linux", session_bus=session, system_bus=system
    )
    for backend in hooks.backends:
        if isinstance(backend, GnomeSessionClient):
            backend.registered.connect(lambda path: emit({"registered": path}))
    hooks.quitRequested.connect(app.quit)
    code = app.exec()
    hooks.uninstall()
    return code


if __name__ == "__main__":
    sys.exit(main())

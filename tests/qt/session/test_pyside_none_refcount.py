"""PySide6 6.12.0 + CPython 3.11 drops references to None (``QTimer.singleShot`` with a
callable, ``processEvents``): without the workaround in ``qt/_pyside_workarounds.py`` a
few thousand deferred calls abort the interpreter ("none_dealloc"). The session adapters
defer every reminder after an OS callback with ``QTimer.singleShot(0, ...)``, so a
long-running app would crash. Run in a child process: the failure is an abort.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

CHILD = """
import sys
import almc_assistant.qt  # applies the workaround
from PySide6.QtCore import QCoreApplication, QTimer
app = QCoreApplication([])
calls = []
for i in range(N):
    QTimer.singleShot(0, lambda: calls.append(1))
    if i % 1000 == 999:
        app.processEvents()
app.processEvents()
print(len(calls))
"""


def test_thousands_of_deferred_calls_do_not_abort() -> None:
    n = 40_000  # None starts near 7,000 references in a fresh process; each call drops 2
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), QT_QPA_PLATFORM="offscreen")
    r = subprocess.run(
        [sys.executable, "-c", CHILD.replace("N", str(n))],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == str(n)

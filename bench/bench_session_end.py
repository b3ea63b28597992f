"""How fast the session-end answer is: the OS asks, we must answer in milliseconds.

Measures, on this machine's disk and with the real code:

1. ``SessionEndGuard.query_end`` with data at risk (the decision from the cached state
   plus the marker note written without fsync), alone and while a worker thread keeps
   refreshing the pending state every 5 ms, including safe/at-risk flips that write the
   marker with fsync (the catalog would change it far less often);
2. a whole Windows end-session episode through the installed native event filter
   (``WM_QUERYENDSESSION`` as a real ``MSG`` in memory, then ``WM_ENDSESSION(FALSE)``),
   with the Windows API faked (Qt offscreen);
3. a durable marker rewrite (what each change of the pending state costs a worker).

Run from the repository root:

    QT_QPA_PLATFORM=offscreen /work/venv/bin/python bench/bench_session_end.py [--n 2000]

Prints one Markdown table (median, 99th percentile, maximum in milliseconds).
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from almc_assistant.core.events import NullSink  # noqa: E402
from almc_assistant.core.paths import AppPaths  # noqa: E402
from almc_assistant.core.session_end import (  # noqa: E402
    EndKind,
    MarkerRecord,
    PendingSummary,
    SessionEndGuard,
    SessionEndRequest,
)


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def row(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"| {name} | {len(ms)} | {statistics.median(ms):.3f} | {p99:.3f} | {ms[-1]:.3f} |"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="calls per measurement")
    ap.add_argument("--dir", type=Path, default=None, help="state folder (default: a temp dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        paths = AppPaths.under(Path(tmp)).ensure()
        summary = PendingSummary(3, 12_400_000_000, time.time())
        guard = SessionEndGuard.create(lambda: summary, paths, NullSink(), platform="win32")
        guard.update(summary)
        request = SessionEndRequest(EndKind.LOGOFF, "win32")
        rows = [
            row("query_end (at risk, marker note)", timed(lambda: guard.query_end(request), args.n))
        ]

        stop = threading.Event()

        def refresher() -> None:
            i = 0
            while not stop.wait(0.005):  # a change every 5 ms: far more than a real catalog
                i += 1
                guard.update(PendingSummary(i % 3, i, time.time()))

        worker = threading.Thread(target=refresher)
        worker.start()
        try:
            rows.append(
                row(
                    "query_end while a worker refreshes",
                    timed(lambda: guard.query_end(request), args.n),
                )
            )
        finally:
            stop.set()
            worker.join()
        guard.update(summary)

        rows.append(row("Windows episode via native filter", windows_episode(guard, args.n)))
        rec = MarkerRecord(summary, updated=time.time())
        rows.append(
            row(
                "marker rewrite, fsync (worker side)",
                timed(lambda: guard.marker.write(rec), max(50, args.n // 10)),
            )
        )
    print("| Measurement | calls | median ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    return 0


def windows_episode(guard: SessionEndGuard, n: int) -> list[float]:
    from PySide6.QtWidgets import QApplication
    from tests.qt.session.fake_win32 import FakeWin32Api

    from almc_assistant.qt.session.win_messages import (
        ENDSESSION_LOGOFF,
        WM_ENDSESSION,
        WM_QUERYENDSESSION,
    )
    from almc_assistant.qt.session.windows import WindowsSessionBackend, make_msg

    app = QApplication.instance() or QApplication([])
    backend = WindowsSessionBackend(app, guard, FakeWin32Api())
    query = make_msg(WM_QUERYENDSESSION, 0, ENDSESSION_LOGOFF, backend.hwnd)
    cancel = make_msg(WM_ENDSESSION, 0, ENDSESSION_LOGOFF, backend.hwnd)

    def episode() -> None:
        assert backend.filter_message(ctypes.addressof(query)) == (True, 0)
        backend.filter_message(ctypes.addressof(cancel))

    try:
        return timed(episode, n)
    finally:
        backend.close()
        app.processEvents()


if __name__ == "__main__":
    sys.exit(main())

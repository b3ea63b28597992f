"""Opening the core service for a command, and small shared renderers.

Thread contract: main thread only.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from almc_assistant.core.events import EventSink, NullSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.service import Service


@contextmanager
def open_service(
    sink: EventSink | None = None, *, show_problems: bool = True, verify: bool = False
) -> Iterator[Service]:
    """A service on the user's folders; configuration problems go to stderr. ``verify``
    checks the whole catalog file for damage when it is opened."""
    service = Service(AppPaths.default().ensure(), sink or NullSink(), verify_catalog=verify)
    try:
        if show_problems:
            for problem in service.config.problems:
                sys.stderr.write(f"warning: {problem}\n")
        yield service
    finally:
        service.stop()


def when(at: float | None) -> str:
    import time

    return "-" if at is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(at))

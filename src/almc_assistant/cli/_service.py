"""Opening the core service for a command, and small shared renderers.

Thread contract: main thread only.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from almc_assistant.core.events import EventSink, NullSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.service import Service

log = logging.getLogger(__name__)


@contextmanager
def open_service(
    sink: EventSink | None = None, *, show_problems: bool = True, verify: bool = False
) -> Iterator[Service]:
    """A service on the user's folders; configuration problems go to stderr. ``verify``
    checks the whole catalog file for damage when it is opened. Folders that cannot be
    created do not stop the command here: what needs one (the catalog) says so in words,
    and a copy runs without it."""
    paths = AppPaths.default()
    try:
        paths.ensure()
    except OSError as exc:
        log.debug("cannot create the app's folders: %s", exc)
    service = Service(paths, sink or NullSink(), verify_catalog=verify)
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

"""Creating watchdog observers, and hearing about events the kernel dropped.

Thread contract: :func:`make_observer` is called from the thread that starts or restarts
a folder (the caller of :meth:`Watcher.start` or the stabiliser thread). The observer's
own threads (dispatcher, emitter, inotify reader) are watchdog daemon threads that the
watcher stops and joins. :class:`OverflowSpy` is called on the inotify reader thread.

Whether to poll is decided by :func:`core.watch.filesystems.use_polling`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserverVFS

# watchdog logs the kernel's IN_Q_OVERFLOW here and reports it to no handler.
INOTIFY_LOGGER = "watchdog.observers.inotify_c"


def make_observer(polling: bool, poll_interval: float, name: str) -> BaseObserver:
    """A new, unstarted observer: polling (``lstat``, so links are never followed) or native."""
    observer: BaseObserver
    if polling:
        observer = PollingObserverVFS(os.lstat, os.scandir, polling_interval=poll_interval)
    else:
        from watchdog.observers import Observer

        observer = Observer()
    observer.name = f"almc-watch-observer[{name}]"
    return observer


def start_observer(observer: BaseObserver, handler: object, folder: Path) -> None:
    """Schedule ``folder`` recursively (symbolic links not followed) and start.

    Raises the ``OSError`` of setting up the watch (folder gone, inotify limits, ...).
    """
    observer.schedule(handler, os.fspath(folder), recursive=True)  # type: ignore[arg-type]
    observer.start()
    for index, emitter in enumerate(observer.emitters):
        emitter.name = f"{observer.name}-emitter{index}"


def observer_alive(observer: BaseObserver) -> bool:
    """The dispatcher and every emitter still run (an emitter stops when its folder goes)."""
    return observer.is_alive() and all(e.is_alive() for e in observer.emitters)


def stop_observer(observer: BaseObserver, timeout: float) -> bool:
    """Stop and join; True when every thread of it has ended."""
    emitters = list(observer.emitters)
    observer.stop()
    if observer.is_alive() or observer.ident is not None:
        observer.join(timeout)
    for emitter in emitters:
        if emitter.ident is not None:
            emitter.join(timeout)
    return not observer.is_alive() and not any(e.is_alive() for e in emitters)


class OverflowSpy(logging.Handler):
    """Calls ``on_overflow`` when watchdog logs that the inotify queue overflowed."""

    def __init__(self, on_overflow: Callable[[], None]) -> None:
        super().__init__(level=logging.WARNING)
        self._on_overflow = on_overflow

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self._on_overflow()

    def install(self) -> None:
        logger = logging.getLogger(INOTIFY_LOGGER)
        logger.addHandler(self)
        if logger.getEffectiveLevel() > logging.WARNING:
            logger.setLevel(logging.WARNING)  # we must hear overflow warnings

    def remove(self) -> None:
        logging.getLogger(INOTIFY_LOGGER).removeHandler(self)

"""Unexpected exceptions: logged with their traceback, and shown once in a dialog.

Thread contract: :func:`install` is called once on the GUI thread. An exception that
escapes a slot on the GUI thread is logged and reported through the prompt port (never a
raw traceback on a console the user does not see). Worker exceptions never get here (the
core publishes them as events); an uncaught one in a Python thread is logged only, since
a worker thread must not touch a widget.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType

from almc_assistant.qt.prompts import Prompter

log = logging.getLogger(__name__)


class CrashReporter:
    """A ``sys.excepthook`` that logs and asks the prompter to show what happened."""

    def __init__(self, prompter: Prompter, log_file: str) -> None:
        self._prompter = prompter
        self._log_file = log_file
        self._showing = False
        self.count = 0

    def __call__(
        self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        self.count += 1
        log.critical("unexpected error", exc_info=(kind, exc, tb))
        if self._showing or threading.current_thread() is not threading.main_thread():
            return  # one dialog at a time; never a widget from a worker
        self._showing = True
        try:
            details = "".join(traceback.format_exception(kind, exc, tb))
            summary = f"{kind.__name__}: {exc}" if str(exc) else kind.__name__
            self._prompter.report_crash(summary, details, self._log_file)
        except Exception:
            log.exception("could not show the crash report")
        finally:
            self._showing = False


def install(prompter: Prompter, log_file: str) -> CrashReporter:
    """Route uncaught exceptions of the GUI thread to a :class:`CrashReporter`."""
    reporter = CrashReporter(prompter, log_file)
    sys.excepthook = reporter

    def _thread_hook(args: threading.ExceptHookArgs) -> None:
        log.critical(
            "unexpected error in thread %s",
            args.thread.name if args.thread else "?",
            exc_info=(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback),
        )

    threading.excepthook = _thread_hook
    return reporter

"""Work the GUI starts that finishes elsewhere: saving a receipt, a check's report.

Thread contract: the functions are called on the GUI thread and return at once.
:func:`save_text` writes in a short-lived worker (temporary name, then rename) and
publishes :class:`TextSaved` or :class:`TextSaveFailed`; :func:`publish_check_result`
publishes :class:`CheckCompleted` when the service's check future completes. Both only
publish to the app's sink, which the pump delivers back on the GUI thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from almc_assistant.core.errors import AlmcError, describe_os_error
from almc_assistant.core.events import Event, EventSink


@dataclass(frozen=True, slots=True, kw_only=True)
class TextSaved(Event):
    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TextSaveFailed(Event):
    path: str
    title: str
    detail: str
    next_step: str


def save_text(path: str, text: str, sink: EventSink) -> threading.Thread:
    """Write ``text`` to ``path`` in a worker; the outcome arrives as an event."""

    def run() -> None:
        target = Path(path)
        partial = target.with_name(f".{target.name}.partial")
        try:
            with open(partial, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            partial.replace(target)
        except OSError as exc:
            try:
                partial.unlink(missing_ok=True)
            except OSError:
                pass  # the folder itself is unusable; the error below says so
            err = describe_os_error(exc, action="save", path=target)
            sink.publish(
                TextSaveFailed(
                    path=path, title=err.title, detail=err.detail, next_step=err.next_step
                )
            )
        else:
            sink.publish(TextSaved(path=path))

    thread = threading.Thread(target=run, name="almc-save-text")
    thread.start()
    return thread


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckCompleted(Event):
    """``service.check(roots)`` finished: its ``CheckReport``, or why it failed."""

    roots: tuple[str, ...]
    report: Any = None
    title: str = ""
    detail: str = ""


def publish_check_result(future: Future[Any], roots: Sequence[str], sink: EventSink) -> None:
    """When the service's check future completes (on its worker), publish the outcome.

    The callback runs on the worker thread and only publishes to the queue the pump
    drains; it never touches a widget.
    """

    def done(f: Future[Any]) -> None:
        try:
            report = f.result()
        except AlmcError as err:
            sink.publish(CheckCompleted(roots=tuple(roots), title=err.title, detail=err.detail))
        except BaseException as exc:  # published as ServiceFailed too; say it here as well
            sink.publish(CheckCompleted(roots=tuple(roots), title="Check failed", detail=str(exc)))
        else:
            sink.publish(CheckCompleted(roots=tuple(roots), report=report))

    future.add_done_callback(done)

"""Small file writes the GUI asks for (saving a receipt), done off the GUI thread.

Thread contract: :func:`save_text` is called on the GUI thread and returns at once; a
short-lived worker writes the file atomically (temporary name, then ``os.replace``) and
publishes :class:`TextSaved` or :class:`TextSaveFailed` to the app's sink, which the
pump delivers back on the GUI thread.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core.errors import describe_os_error
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

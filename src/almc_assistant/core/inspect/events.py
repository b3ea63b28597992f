"""Events the file check publishes (progress for the CLI bar, the GUI, the service).

Thread contract: frozen values; published from the checking threads to any EventSink.
"""

from __future__ import annotations

from dataclasses import dataclass

from almc_assistant.core.events import Event
from almc_assistant.core.verdicts import Verdict


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckStarted(Event):
    """A ``check_paths`` run found ``total`` files to check."""

    total: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FileChecked(Event):
    """One file was checked (``done`` of ``total`` so far, in completion order).

    ``dataset`` is the id (anchor path) of the dataset the file belongs to, or None: a
    window can group rows by it as they arrive (the same id as ``CheckGroup.id``).
    """

    path: str
    verdict: Verdict
    size: int | None
    done: int
    total: int
    dataset: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckFinished(Event):
    """The run ended: how many files, how many datasets, whether all were acceptable."""

    files: int
    datasets: int
    ok: bool

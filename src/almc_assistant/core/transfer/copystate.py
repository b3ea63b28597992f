"""What one run of the per-file pipeline carries between its steps (:mod:`pipeline`).

Thread contract: a :class:`Run` belongs to the worker thread running the pipeline; the
grouped path's upload thread only fills the futures it was handed.

The byte movers (:mod:`streamed` for files read in chunks, :mod:`grouped` for small files
read whole) fill a :class:`Run`: each local copy written becomes a :class:`Written`
(a hidden partial), each same-size file already at a final name an :class:`Adopt`, each
source opened a :class:`Opened`. The driver then takes every copy through the same
steps, whichever mover wrote it.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from almc_assistant.core.destination_backend import SourceDigests
from almc_assistant.core.identity import FileIdentity
from almc_assistant.core.transfer.destination import JobDestination
from almc_assistant.core.transfer.faults import CopyError
from almc_assistant.core.transfer.folder import Folder
from almc_assistant.core.transfer.landing import Result, Verified
from almc_assistant.core.transfer.partial import PartialFile
from almc_assistant.core.transfer.remote_dest import RemoteStream
from almc_assistant.core.transfer.scan import FileTask
from almc_assistant.core.transfer.targets import Target

Key = tuple[FileTask, Target]


@dataclass(slots=True, eq=False)
class Written:
    """One local partial of one file: written, read back by now (``read_back`` set) or
    still to be made durable and read back with its group (``grouped``)."""

    task: FileTask
    target: Target
    folder: Folder  # a grouped partial's is shared by its group (closed by the run)
    name: str
    digest: str
    grouped: bool
    stream: PartialFile | None = None  # a streamed partial: its writer and read-back
    read_back: str = ""  # how it was read back and matched ("" : not yet)
    committed: bool = False  # renamed to its final name
    failed: bool = False  # its result is an error (see Run.fail)
    discarded: bool = False  # a streamed partial already removed and closed (once only)

    @property
    def path(self) -> Path:
        return self.folder.path / self.name


@dataclass(slots=True, eq=False)
class Adopt:
    """A same-size file already at the target name (a rerun): read back, kept if equal."""

    task: FileTask
    target: Target
    digests: SourceDigests
    folder: Folder | None  # grouped: the group's open folder; else opened when read


@dataclass(slots=True, eq=False)
class Opened:
    """A source as it was opened: its identity then, and its descriptor while the
    streamed path keeps it open (``None`` once closed)."""

    before: FileIdentity
    fd: int | None = None


@dataclass(slots=True, eq=False)
class Proven:
    """A streamed file's remote copy, proven, waiting for the source check to publish."""

    key: Key
    stream: RemoteStream
    digests: SourceDigests
    result: Verified  # what the backend proved


@dataclass(slots=True)
class Run:
    """Everything one call of :meth:`FilePipeline.copy` opened, wrote and learned."""

    results: dict[Key, Result] = field(default_factory=dict)
    written: list[Written] = field(default_factory=list)
    adopts: list[Adopt] = field(default_factory=list)
    sources: dict[FileTask, Opened] = field(default_factory=dict)
    proven: list[Proven] = field(default_factory=list)
    uploads: list[RemoteStream] = field(default_factory=list)  # removed unless published
    folders: dict[tuple[int, str], Folder] = field(default_factory=dict)
    pool: ThreadPoolExecutor | None = None  # the grouped path's upload thread
    pending: list[tuple[Key, Future[Result]]] = field(default_factory=list)

    def fail(self, w: Written, err: CopyError) -> None:
        """``w`` failed with ``err``: its partial is removed (now, or at the end)."""
        self.results[(w.task, w.target)] = err
        w.failed = True
        if w.stream is not None:
            w.stream.discard()  # its folder is closed with it: never touched again
            w.discarded = True
        else:
            try:
                w.folder.unlink(w.name)
            except OSError:
                pass

    def live(self) -> list[Written]:
        """The written copies without an error so far."""
        return [w for w in self.written if not w.failed]

    def folder(self, t: Target, task: FileTask) -> Folder:
        """The target's folder, opened once per run (:meth:`JobDestination.open_folder`)."""
        relfolder = t.relpath.rpartition("/")[0]
        key = (id(t.dest), relfolder)
        folder = self.folders.get(key)
        if folder is None:
            folder = self.folders[key] = local(t).open_folder(relfolder, task.source)
        return folder


def local(t: Target) -> JobDestination:
    """The destination of a local target."""
    assert isinstance(t.dest, JobDestination)
    return t.dest


def dest_error(exc: OSError, action: str, t: Target, task: FileTask) -> CopyError:
    """``exc`` met at ``t`` while doing ``action``, classified by its destination."""
    if isinstance(t.dest, JobDestination):
        return t.dest.error(exc, action=action, path=Path(t.final), source=task.source)
    return t.dest.error(exc, action=action, source=task.source)

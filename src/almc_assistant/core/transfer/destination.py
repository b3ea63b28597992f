"""One destination root during a job: its file system, manifest, folders, health, records.

Thread contract: one :class:`JobDestination` per root per job, shared by all workers; every
mutable part is guarded by its lock.

Safety: the root's device number is recorded at the start. Before a folder is created
or a copy is renamed into place, :meth:`JobDestination.check_alive` confirms the root still
exists on the same device, so a lazily unmounted drive never makes the engine write
into the empty mount-point folder of the system disk. Folders are created below the
root only; the root itself is never re-created once the job runs.

Network shares: the workers write their partials in a few staging folders at the
root (:mod:`staging`), so that only the final ``link`` touches the final folder, and
each folder is listed once instead of looking up every final name (:mod:`listing`).

Shared destinations: files are written beneath the root through open folders
(:mod:`folder`: ``openat`` with ``O_NOFOLLOW``, created with ``mkdirat``): a symbolic link
(or anything but a folder) planted at a folder's name is refused with an error naming
it, and so is a folder another user owns, so a copy never lands where someone else
redirected it or can take it. The engine's other writes at the root (the manifest, its
temporary and lock files, receipts) are opened ``O_EXCL`` or ``O_NOFOLLOW``.
"""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.fslimits import FileSystemInfo, detect_filesystem
from almc_assistant.core.transfer.concurrency import PROBES, lookup_latency
from almc_assistant.core.transfer.destlock import check_lock_file, planted
from almc_assistant.core.transfer.faults import CopyError, destination_gone, from_os_error
from almc_assistant.core.transfer.folder import Folder, Foreign, Gone, Planted
from almc_assistant.core.transfer.listing import FolderListings
from almc_assistant.core.transfer.manifest import Manifest
from almc_assistant.core.transfer.naming import remove_stale_partials
from almc_assistant.core.transfer.staging import (
    NETWORK,
    Staging,
    remove_stale_staging,
    wanted,
)


def _foreign_folder(folder: Path, uid: int, source: Path) -> CopyError:
    try:
        import pwd

        owner = pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        owner = f"uid {uid}"
    return CopyError(
        f"{folder} belongs to {owner}: a copy there would be in their hands (they could "
        f"move or delete it). {source} was not copied there.",
        title=f"{folder.name} at the destination belongs to another user",
        next_step="Copy to a folder of your own on that destination, or ask the facility "
        "staff to sort out who owns this folder.",
        paths=(source, folder),
    )


class DestinationLedger:
    """What one job learned at one destination, shared by its workers (thread-safe): the
    verified copies, the copies pending upload, the failures, and whether the destination
    died. Local (:class:`JobDestination`) and remote destinations keep it alike."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dead: CopyError | None = None
        self.records: list[CopyRecord] = []  # verified
        self.pending: list[CopyRecord] = []  # written to a caching mount: pending upload
        self.failures: list[tuple[Path, str]] = []  # (source, message)

    @property
    def dead(self) -> CopyError | None:
        with self._lock:
            return self._dead

    def mark_dead(self, err: CopyError) -> None:
        with self._lock:
            if self._dead is None:
                self._dead = err

    def add_record(self, record: CopyRecord) -> None:
        with self._lock:
            self.records.append(record)

    def add_pending(self, record: CopyRecord) -> None:
        with self._lock:
            self.pending.append(record)

    def add_failure(self, source: Path, message: str) -> None:
        with self._lock:
            self.failures.append((source, message))


class JobDestination(DestinationLedger):
    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        # Independent look-ups at once (each a round trip or more on a share; the one
        # connection to the server carries them together): the manifest, the lock file,
        # the round trip itself (for the worker count) and the free space, beside the
        # file system's type; then, on a share, a dead job's staging folders are removed
        # while the round trip is still being measured.
        self._cleaned: set[str] = set()  # folders whose stale partials were removed
        # a network share: the workers write their partials in staging folders (a few)
        self.staging: Staging | None = None
        self.listings: FolderListings | None = None  # a share: folders listed once
        self._folder_paths: dict[str, Path] = {"": root}  # see folder_path
        with ThreadPoolExecutor(3 + PROBES, thread_name_prefix="almc-preflight") as pool:
            manifest = pool.submit(Manifest, root)
            lock_file = pool.submit(check_lock_file, root)
            probes = [pool.submit(lookup_latency, root) for _ in range(PROBES)]
            usage = pool.submit(shutil.disk_usage, root)
            self.fs: FileSystemInfo = detect_filesystem(root)
            self.device = root.stat().st_dev
            self.manifest = manifest.result()
            lock_file.result()  # a link planted there is refused now, not per file
            stale = None
            if wanted(self.fs.type):
                self.staging = Staging(root, self.device)
                self.listings = FolderListings(root)
                stale = pool.submit(self._remove_stale_staging)
            # seconds a look-up of an absent name took (inf: no answer)
            self.latency: float = min(probe.result() for probe in probes)
            try:
                self.free_bytes: int | None = usage.result().free
            except OSError:
                self.free_bytes = None  # asked again by preflight, which reports it
            if stale is not None:
                stale.result()
        self.share = self.fs.type in NETWORK  # a network file system (the worker count)

    def _remove_stale_staging(self) -> None:
        try:
            with Folder.walk(self.root, self.device, []) as top:
                remove_stale_staging(top)
        except Gone:
            pass  # gone since the stat above: the first file reports it

    def close_staging(self) -> None:
        """Remove this job's staging folders (after the workers end); never raises."""
        if self.staging is not None:
            self.staging.close()

    def is_alive(self) -> bool:
        """The root still exists on the device it was on when the job started."""
        try:
            return self.root.stat().st_dev == self.device
        except OSError:
            return False

    def check_alive(self, source: Path) -> None:
        """Raise (and remember) if the root vanished or is now another device."""
        if not self.is_alive():
            err = destination_gone(self.root, source)
            self.mark_dead(err)
            raise err

    def error(self, exc: OSError, *, action: str, path: Path, source: Path) -> CopyError:
        """Classify an ``OSError`` met here. A root that vanished (unplugged, ``umount -l``)
        makes it "gone" for the rest of the job: no file is tried, let alone retried, there
        again."""
        err = from_os_error(exc, action=action, path=path, source=source)
        if not err.destination_dead and not self.is_alive():
            err = destination_gone(self.root, source)
        if err.destination_dead:
            self.mark_dead(err)
        return err

    def folder_path(self, relfolder: str) -> Path:
        """The path of ``relfolder`` ("a/b", "" for the root) below the root, made once
        per folder and job (any thread: at worst two equal paths are made)."""
        path = self._folder_paths.get(relfolder)
        if path is None:
            path = self._folder_paths[relfolder] = self.root.joinpath(*relfolder.split("/"))
        return path

    def open_folder(self, relfolder: str, source: Path) -> Folder:
        """Open ``relfolder`` below the root beneath it (:meth:`Folder.walk`: created when
        missing, never through a link); its stale partials are removed the first time.
        The caller closes it. Raises :class:`CopyError` (or ``OSError``, which the caller
        classifies with :meth:`error`)."""
        if (dead := self.dead) is not None:
            raise CopyError(
                f"{source} was not copied to {self.root}: {dead.detail}",
                title=dead.title,
                next_step=dead.next_step,
                paths=(source, self.root),
                destination_dead=True,
            )
        try:
            folder = Folder.walk(self.root, self.device, relfolder.split("/") if relfolder else [])
        except Gone:
            err = destination_gone(self.root, source)
            self.mark_dead(err)
            raise err from None
        except Planted as exc:
            bad = planted(exc.path, "a folder of the copy")
            raise CopyError(
                bad.detail, title=bad.title, next_step=bad.next_step, paths=(source, exc.path)
            ) from None
        except Foreign as exc:
            raise _foreign_folder(exc.path, exc.uid, source) from None
        with self._lock:
            first = relfolder not in self._cleaned
            self._cleaned.add(relfolder)
        if first:
            remove_stale_partials(folder)
        if self.staging is not None:
            try:
                folder.staging = self.staging.folder()
            except BaseException:
                folder.close()
                raise
        return folder

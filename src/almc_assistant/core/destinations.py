"""Kinds of backup destination, the facility's guidance on each, and cloud-sync detection.

Thread contract: plain values and pure functions, safe anywhere. The checks that touch
the destination (reachable, free space, file system) live in
:mod:`almc_assistant.core.preflight`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePath

from almc_assistant.core.remotepaths import remote_path


class DestinationKind(StrEnum):
    """What kind of storage a destination is (the words used in the TOML files)."""

    INSTITUTIONAL = "institutional"  # institutional network storage, backed up
    RESEARCH = "research"  # research storage, single copy (e.g. PetaLibrary)
    CLOUD_SYNC = "cloud-sync"  # a personal Google Drive / OneDrive / Dropbox folder
    EXTERNAL_DRIVE = "external-drive"
    OTHER = "other"


class CloudProvider(StrEnum):
    ONEDRIVE = "OneDrive"
    GOOGLE_DRIVE = "Google Drive"
    DROPBOX = "Dropbox"
    ICLOUD = "iCloud Drive"
    BOX = "Box"


@dataclass(frozen=True, slots=True)
class KindInfo:
    """What a kind of destination means for the safety of the data."""

    label: str
    backed_up: bool  # one verified copy there is enough on its own (default policy)
    guidance: str


SAFE_CLAIM = "One verified copy here makes your data safe."

KIND_INFO: dict[DestinationKind, KindInfo] = {
    DestinationKind.INSTITUTIONAL: KindInfo(
        "Institutional network storage",
        True,
        "Backed up by the institution; share it with colleagues inside the university "
        f"only. {SAFE_CLAIM}",
    ),
    DestinationKind.RESEARCH: KindInfo(
        "Research storage (single copy)",
        False,
        "A single copy that is not backed up (such as a PetaLibrary active or archive "
        "allocation): keep another copy elsewhere. It can be shared with collaborators "
        "outside the university. Archive allocations hold at most 10,000 files per "
        "terabyte: pack large TIFF exports into an archive first.",
    ),
    DestinationKind.CLOUD_SYNC: KindInfo(
        "Personal cloud-sync folder",
        False,
        "A copy here is only 'pending upload' until the sync client has uploaded it; "
        "keep the computer on and signed in until it has. University-managed accounts "
        "are deleted when you leave: keep another copy. OneDrive takes files up to "
        "250 GB and paths up to 400 characters.",
    ),
    DestinationKind.EXTERNAL_DRIVE: KindInfo(
        "External drive",
        False,
        "Drives fail and get lost: never let an external drive hold the only copy. "
        "FAT32 drives cannot hold files over 4 GiB; use exFAT or NTFS.",
    ),
    DestinationKind.OTHER: KindInfo(
        "Other folder",
        False,
        "The app cannot tell whether this storage is backed up: count it as one copy "
        "and keep another one elsewhere.",
    ),
}


@dataclass(frozen=True, slots=True)
class Destination:
    """A place copies go to: a facility preset or one of the user's own."""

    name: str
    path: PurePath
    kind: DestinationKind
    origin: str = "user"  # "facility" or "user"
    university_managed: bool = False  # a cloud account the university deletes on departure
    note: str = ""  # the facility's own words about this destination
    # An rclone remote ("research:lab/me", see core.remote): its secrets live in the
    # user's private rclone.conf, never here. Empty for a folder on this computer.
    remote: str = ""

    @property
    def is_remote(self) -> bool:
        return bool(self.remote)

    @property
    def where(self) -> str:
        """What names the place: the remote (``research:lab/me``) or the folder."""
        return self.remote or str(self.path)

    @property
    def root(self) -> PurePath:
        """The root its copies are recorded under: the remote (``/`` on every system,
        :func:`~almc_assistant.core.remotepaths.remote_path`), or the folder."""
        return remote_path(self.remote) if self.remote else self.path

    @property
    def info(self) -> KindInfo:
        return KIND_INFO[self.kind]

    @property
    def backed_up(self) -> bool:
        return self.info.backed_up

    @property
    def cloud_provider(self) -> CloudProvider | None:
        return None if self.remote else detect_cloud_sync(self.path)

    @property
    def guidance(self) -> str:
        """The kind's guidance, the facility's note, and the departure warning."""
        parts = [self.info.guidance]
        if self.university_managed:
            parts.append(
                "This is a university-managed account: it is deleted when you leave "
                "the university, and your files with it."
            )
        if self.note:
            parts.append(self.note)
        return " ".join(parts)


def guidance_for(destination: Destination, not_counted: Sequence[str]) -> str:
    """``destination``'s guidance for these files, given the policy's per-disk answer
    (:class:`~almc_assistant.core.plan_safety.PlanSafety` ``not_counted``: "<name>: why").
    A destination whose copies would not count (on the files' own disk, on the same
    disk as another one) never says "One verified copy here makes your data safe"."""
    prefix = f"{destination.name}: "
    why = next((w[len(prefix) :] for w in not_counted if w.startswith(prefix)), None)
    if why is None:
        return destination.guidance
    rest = " ".join(destination.guidance.replace(SAFE_CLAIM, "").split())
    return f"A copy here would not count for these files: {why}. {rest}".strip()


_CLOUD_MARKERS: tuple[tuple[str, CloudProvider], ...] = (
    ("onedrive", CloudProvider.ONEDRIVE),
    ("google drive", CloudProvider.GOOGLE_DRIVE),
    ("googledrive", CloudProvider.GOOGLE_DRIVE),
    ("my drive", CloudProvider.GOOGLE_DRIVE),
    ("shared drives", CloudProvider.GOOGLE_DRIVE),
    ("dropbox", CloudProvider.DROPBOX),
    ("icloud drive", CloudProvider.ICLOUD),
    ("icloud", CloudProvider.ICLOUD),
    ("mobile documents", CloudProvider.ICLOUD),
    ("box sync", CloudProvider.BOX),
)


def detect_cloud_sync(path: PurePath) -> CloudProvider | None:
    """The sync client a folder belongs to, judged from its path alone.

    Matches the folder names the clients create: ``OneDrive``, ``OneDrive - University``,
    ``Google Drive``/``My Drive``, ``GoogleDrive-user@...`` under macOS
    ``Library/CloudStorage``, ``Dropbox``, ``Dropbox (Team)``, iCloud's ``Mobile Documents``.
    """
    for part in path.parts:
        name = part.lower()
        for marker, provider in _CLOUD_MARKERS:
            if name == marker or (name.startswith(marker) and _is_client_folder(name, marker)):
                return provider
    return None


def _is_client_folder(name: str, marker: str) -> bool:
    """``OneDrive - Org``, ``OneDrive-Org``, ``Dropbox (Team)``: yes; ``dropbox-backup``: no."""
    rest = name[len(marker) :]
    return rest.startswith((" - ", " (", "-", "~")) and "backup" not in rest


def is_university_account(path: PurePath, domains: tuple[str, ...]) -> bool:
    """Whether a cloud-sync folder looks like a university-managed account.

    OneDrive names business folders ``OneDrive - <Organisation>``; Google Drive on macOS
    uses ``GoogleDrive-<user@domain>``. ``domains`` are the facility's words for its
    institution (``colorado.edu``, ``University of Colorado``).
    """
    text = str(path).lower()
    return any(d.lower() in text for d in domains if d)


def guess_kind(path: PurePath) -> DestinationKind:
    """A kind for a folder the configuration does not name."""
    if detect_cloud_sync(path) is not None:
        return DestinationKind.CLOUD_SYNC
    return DestinationKind.OTHER

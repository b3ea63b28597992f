"""The real core service on temporary folders, for the GUI's end-to-end tests.

A facility configuration with one acquisition folder and two destinations (backed-up
institutional storage and an external drive), an isolated state folder, and the
service publishing to the queue the pump drains. Nothing here is a fake.

The destinations are folders on the acquisition folder's disk (a copy there is not a
backup, and the policy's answer says so) unless ``separate_disks``: then each is a tmpfs
of its own (root only; the test is skipped otherwise), as a share and a USB drive are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from almc_assistant.core.config import Config, WatchSettings
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.events import QueueSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.service import Service
from tests.core.catalog.test_catalog_faults import _tmpfs
from tests.portable import IS_ROOT


@dataclass
class Site:
    service: Service
    sink: QueueSink
    config: Config
    acquisition: Path
    share: Path
    drive: Path


@contextmanager
def _disk(path: Path, separate: bool) -> Iterator[Path]:
    """``path`` as a folder, or (``separate``) a tmpfs of its own, mounted elsewhere."""
    if not separate:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    if not IS_ROOT:
        pytest.skip("needs root to mount a tmpfs (a destination on a disk of its own)")
    with _tmpfs("16m") as mount:
        yield mount


@contextmanager
def real_service(
    root: Path,
    *,
    quiet_seconds: float = 30.0,
    separate_disks: bool = False,
    second_acquisition: bool = False,
    remotes: tuple[Destination, ...] = (),
) -> Iterator[Site]:
    """``second_acquisition``: a second acquisition folder, ``acquisition-2``;
    ``remotes``: the facility's remote destinations too (issue 13)."""
    with (
        _disk(root / "share", separate_disks) as share,
        _disk(root / "usb", separate_disks) as drive,
    ):
        folders = [root / "acquisition"] + ([root / "acquisition-2"] if second_acquisition else [])
        yield from _site(root, share, drive, quiet_seconds, folders, remotes)


def _site(
    root: Path,
    share: Path,
    drive: Path,
    quiet_seconds: float,
    folders: list[Path],
    remotes: tuple[Destination, ...] = (),
) -> Iterator[Site]:
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    acquisition = folders[0]
    config = Config(
        facility_name="Light Microscopy Core",
        facility_destinations=(
            Destination("Lab share", share, DestinationKind.INSTITUTIONAL, "facility"),
            Destination("My drive", drive, DestinationKind.EXTERNAL_DRIVE, "facility"),
        ),
        facility_remotes=remotes,
        watch=WatchSettings(folders=tuple(folders), quiet_seconds=quiet_seconds),
    )
    sink = QueueSink()
    service = Service(AppPaths.under(root / "home").ensure(), sink, config=config)
    try:
        yield Site(service, sink, config, acquisition, share, drive)
    finally:
        service.stop()

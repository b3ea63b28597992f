"""The real core service on temporary folders, for the GUI's end-to-end tests.

A facility configuration with one acquisition folder and two destinations (backed-up
institutional storage and an external drive), an isolated state folder, and the
service publishing to the queue the pump drains. Nothing here is a fake. As root, each
destination is its own tmpfs disk (copies count only on another disk than the
acquisition folder's); otherwise they are plain folders and copies there make nothing
safe (tests that need that call :func:`needs_separate_disks`).
"""

from __future__ import annotations

import os
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
from tests.disks import mount_tmpfs, unmount


@dataclass
class Site:
    service: Service
    sink: QueueSink
    config: Config
    acquisition: Path
    share: Path
    drive: Path


@contextmanager
def real_service(root: Path, *, quiet_seconds: float = 30.0) -> Iterator[Site]:
    acquisition, share, drive = root / "acquisition", root / "share", root / "usb"
    mounted: list[Path] = []
    for folder in (acquisition, share, drive):
        folder.mkdir(parents=True, exist_ok=True)
        if folder is not acquisition and os.geteuid() == 0:
            mounted.append(mount_tmpfs(folder))
    config = Config(
        facility_name="Light Microscopy Core",
        facility_destinations=(
            Destination("Lab share", share, DestinationKind.INSTITUTIONAL, "facility"),
            Destination("My drive", drive, DestinationKind.EXTERNAL_DRIVE, "facility"),
        ),
        watch=WatchSettings(folders=(acquisition,), quiet_seconds=quiet_seconds),
    )
    try:
        sink = QueueSink()
        service = Service(AppPaths.under(root / "home").ensure(), sink, config=config)
        try:
            yield Site(service, sink, config, acquisition, share, drive)
        finally:
            service.stop()
    finally:
        for folder in mounted:
            unmount(folder)


def needs_separate_disks() -> None:
    """Skip unless the destinations are disks of their own (root)."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the destinations must be other disks than the acquisition's")

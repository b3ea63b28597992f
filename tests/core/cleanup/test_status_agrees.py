"""Status, the stored safety and cleanup's plan use one per-device policy: they agree."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from almc_assistant.core.cleanup import Action
from almc_assistant.core.events import ListSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.policy import DAY
from almc_assistant.core.service import Service

pytestmark = pytest.mark.root


def test_a_copy_on_the_acquisition_disk_is_unsafe_everywhere(
    tmp_path: Path, other_disk: Callable[..., Path]
) -> None:
    disk = other_disk(tmp_path / "disk")  # the acquisition disk
    acq, same = disk / "acq", disk / "backup"
    acq.mkdir()
    same.mkdir()
    bit = other_disk(tmp_path / "bit")
    paths = AppPaths.under(tmp_path / "home").ensure()
    paths.facility_config.write_text(
        f"[watch]\nfolders = [{str(acq)!r}]\nquiet_seconds = 1\n"
        f"[[destinations]]\nname = 'Same disk'\npath = {str(same)!r}\nkind = 'institutional'\n"
        f"[[destinations]]\nname = 'BIT'\npath = {str(bit)!r}\nkind = 'institutional'\n"
    )
    src = acq / "a.nd2"
    src.write_bytes(b"pixels" * 100)
    old = time.time() - 3600
    os.utime(src, (old, old))
    now = [time.time()]
    service = Service(paths, ListSink(), clock=lambda: now[0])
    try:
        service.scan_once()
        assert service.start_copy([src], [same]).wait(60) is not None
        service.recorder.flush()
        (unsafe,) = service.status().files
        assert "on the acquisition disk itself" in unsafe.missing
        assert service.pending_summary().files == 1
        now[0] += 40 * DAY
        (item,) = service.plan_cleanup().items
        assert item.action is Action.KEEP and "on the acquisition disk itself" in item.reason

        assert service.start_copy([src], [bit]).wait(60) is not None
        service.recorder.flush()
        assert service.status().files == () and service.pending_summary().files == 0
        (item,) = service.plan_cleanup().items
        assert item.action is Action.DELETE
        (done,) = service.apply_cleanup(service.plan_cleanup()).deleted
        assert done.path == src and not src.exists()
    finally:
        service.stop()

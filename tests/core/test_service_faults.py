"""Service faults: the catalog's disk fills up, the wall clock goes back, deletion denied."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from almc_assistant.core import service_events as ev
from almc_assistant.core.catalog import FileState
from almc_assistant.core.config import Config, RetentionSettings, WatchSettings
from almc_assistant.core.events import ListSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.policy import DAY
from almc_assistant.core.service import Service
from tests.core.catalog.test_catalog_faults import _read_only, _tmpfs
from tests.portable import IS_ROOT


@pytest.mark.root
@pytest.mark.skipif(not IS_ROOT, reason="needs root to mount a tmpfs")
def test_disk_full_under_the_catalog_keeps_records_until_there_is_room(tmp_path: Path) -> None:
    acq = tmp_path / "acq"
    acq.mkdir()
    with _tmpfs("8m") as state:
        config = Config(
            shared_state_dir=state, watch=WatchSettings(folders=(acq,), quiet_seconds=1)
        )
        sink = ListSink()
        service = Service(AppPaths.under(tmp_path / "home").ensure(), sink, config=config)
        try:
            _ = service.catalog  # created while there is room
            filler = state / "filler"
            with open(filler, "wb") as fh, contextlib.suppress(OSError):
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            old = time.time() - 3600
            for i in range(500):
                f = acq / f"{'long-name-' * 10}{i:05d}.tif"
                f.write_bytes(b"x")
                os.utime(f, (old, old))
            from almc_assistant.core.events import CallbackSink

            # The service's own watch handler, without the checks of finished files.
            watcher = service.watching.make_watcher(CallbackSink(service.watching.on_watch))
            watcher.scan(service.catalog.known_files)
            assert not service.recorder.flush(timeout=3)  # cannot write: waiting
            backlog = sink.of_type(ev.CatalogBacklog)
            assert backlog and "full" in backlog[0].detail and backlog[0].waiting > 0
            filler.unlink()
            assert service.recorder.flush(timeout=60)
            assert len(service.catalog.known_files(acq)) == 500  # nothing lost
            assert sink.of_type(ev.CatalogBacklog)[-1].waiting == 0
        finally:
            service.stop()


def test_clock_going_back_never_brings_cleanup_dates_closer(tmp_path: Path) -> None:
    now = [2_000_000_000.0]
    config = Config(retention=RetentionSettings(max_age_days=30, warn_days=7))
    service = Service(
        AppPaths.under(tmp_path).ensure(),
        ListSink(),
        config=config,
        clock=lambda: now[0],
        user="ann",
        inline=True,
    )
    try:
        service.catalog.record_seen(
            Path("/acq/a.nd2"),
            size=1,
            mtime_ns=int(now[0] * 1e9),
            owner="ann",
            state=FileState.COMPLETE,
        )
        service.catalog.record_seen(  # mtime a year in the future: not believed
            Path("/acq/future.nd2"),
            size=1,
            mtime_ns=int((now[0] + 365 * DAY) * 1e9),
            owner="ann",
            state=FileState.COMPLETE,
        )
        before = {f.path.name: f.candidate_date for f in service.status().files}
        assert before["future.nd2"] == now[0] + 30 * DAY
        now[0] -= 10 * DAY  # the wall clock goes back ten days
        after = {f.path.name: f.candidate_date for f in service.status().files}
        assert after == before
        assert not [w for w in service.warnings() if w.kind.value.startswith("cleanup")]
    finally:
        service.stop()


def test_a_file_that_cannot_be_deleted_is_kept_and_said_so(
    tmp_path: Path, other_disk: Callable[..., Path]
) -> None:
    import blake3

    from almc_assistant.core.copies import CopyRecord
    from almc_assistant.core.destinations import Destination, DestinationKind

    acq, bit = tmp_path / "acq", other_disk(tmp_path / "bit")
    acq.mkdir()
    config = Config(
        watch=WatchSettings(folders=(acq,)),
        facility_destinations=(Destination("BIT", bit, DestinationKind.INSTITUTIONAL),),
        retention=RetentionSettings(max_age_days=1),
    )
    now = [time.time()]
    service = Service(
        AppPaths.under(tmp_path / "home").ensure(),
        ListSink(),
        config=config,
        clock=lambda: now[0],
        user="ann",
        inline=True,
    )
    try:
        src = acq / "a.nd2"
        src.write_bytes(b"keep me")
        (bit / "a.nd2").write_bytes(b"keep me")
        st = src.stat()
        service.catalog.record_seen(
            src,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            owner="ann",
            state=FileState.COMPLETE,
            root=acq,
        )
        service.catalog.record_copy(
            CopyRecord(
                source=src,
                destination_root=bit,
                path=bit / "a.nd2",
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                blake3=blake3.blake3(b"keep me").hexdigest(),
                verified_at=now[0],
            ),
            owner="ann",
        )
        now[0] += 3 * DAY
        plan = service.plan_cleanup()
        assert [i.action.value for i in plan.items] == ["delete"]
        with _read_only(acq):
            result = service.apply_cleanup(plan)
        assert src.exists()
        (kept,) = result.kept
        assert kept.reason.startswith("could not delete it:")
        lines = service.paths.audit_log.read_text().splitlines()
        assert '"action": "delete-failed"' in lines[-1]
    finally:
        service.stop()

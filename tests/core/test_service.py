"""The service end to end on real folders: watcher, checker, copy engine, catalog."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from almc_assistant.core import service_events as ev
from almc_assistant.core.catalog import FileState
from almc_assistant.core.cleanup import Action
from almc_assistant.core.config import load_config
from almc_assistant.core.destinations import DestinationKind
from almc_assistant.core.errors import ServiceStopped
from almc_assistant.core.events import ListSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.policy import DAY
from almc_assistant.core.service import Service
from almc_assistant.core.status import OverallState
from almc_assistant.core.warnings import WarningKind, WarningsUpdated
from tests.core.inspect.test_datasets import harmony_export
from tests.portable import IS_ROOT


def _facility(tmp: Path, **extra: str) -> str:
    lines = [
        "[watch]",
        f"folders = [{str(tmp / 'acq')!r}]",
        "quiet_seconds = 1",
        "[[destinations]]",
        'name = "BIT"',
        f"path = {str(tmp / 'bit')!r}",
        'kind = "institutional"',
    ]
    lines += [f"{k} = {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def _needs_second_disk() -> None:
    if not IS_ROOT:
        pytest.skip("needs root: BIT must be another disk than the acquisition folder")


def _old_file(path: Path, data: bytes, age_s: float = 3600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    when = time.time() - age_s
    os.utime(path, (when, when))
    return path


@pytest.fixture
def world(
    tmp_path: Path, other_disk: Callable[..., Path]
) -> Iterator[tuple[Service, ListSink, Path]]:
    paths = AppPaths.under(tmp_path / "home").ensure()
    (tmp_path / "acq").mkdir()
    other_disk(tmp_path / "bit", required=False)  # copies count only on another disk
    paths.facility_config.write_text(_facility(tmp_path))
    sink = ListSink()
    service = Service(paths, sink)  # the OS user, who owns the files the test creates
    yield service, sink, tmp_path
    service.stop()


def test_scan_records_files_in_the_users_session(world: tuple[Service, ListSink, Path]) -> None:
    service, sink, tmp = world
    a = _old_file(tmp / "acq" / "run1" / "a.tif", b"II*\x00" + b"\0" * 100)
    b = _old_file(tmp / "acq" / "b.txt", b"notes")
    service.scan_once()
    files = {f.path: f for f in service.session_files()}
    assert set(files) == {a, b}
    assert all(f.state is FileState.COMPLETE and f.owner for f in files.values())
    assert all(f.verdict for f in files.values())  # the checker ran on finished files
    assert sink.of_type(ev.VerdictRecorded)
    summary = service.pending_summary()
    assert (summary.files, summary.bytes) == (2, 109) and summary.at_risk
    assert all(f.owner == service.user for f in files.values())
    report = service.status()
    assert report.total_files == 2 and report.state is OverallState.AT_RISK
    assert report.sessions[0].files == 2 and report.volumes[0].reachable


def test_copy_to_backed_up_storage_makes_files_safe(world: tuple[Service, ListSink, Path]) -> None:
    _needs_second_disk()
    service, sink, tmp = world
    a = _old_file(tmp / "acq" / "a.nd2", b"x" * 50_000)
    service.scan_once()
    bit = service.destinations()[0]
    job = service.start_copy([a], [bit], workers=2)
    result = job.wait(60)
    assert result is not None and result.summary.verified == 1
    service.recorder.flush()
    rec = service.catalog.file(a)
    assert rec and rec.safe and rec.copies[0].destination_root == tmp / "bit"
    assert len(rec.copies[0].blake3) == 64
    assert service.status().state is OverallState.ALL_SAFE
    assert service.pending_summary().files == 0
    assert sink.of_type(ev.StatusChanged)


def test_real_watcher_sees_a_new_file_finish(world: tuple[Service, ListSink, Path]) -> None:
    service, sink, tmp = world
    service.start_watching()
    path = tmp / "acq" / "live.tif"
    path.write_bytes(b"II*\x00" + b"\0" * 10)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        service.recorder.flush(5)
        rec = service.catalog.file(path)
        if rec is not None and rec.state is FileState.COMPLETE and rec.verdict:
            break
        time.sleep(0.2)
    rec = service.catalog.file(path)
    assert rec is not None and rec.state is FileState.COMPLETE and rec.verdict
    assert [e.path for e in sink.of_type(ev.VerdictRecorded)] == [path]


def test_deleting_an_unsafe_file_records_it_lost(world: tuple[Service, ListSink, Path]) -> None:
    service, sink, tmp = world
    a = _old_file(tmp / "acq" / "a.nd2", b"data")
    service.scan_once()
    a.unlink()
    service.scan_once()
    (lost,) = sink.of_type(ev.FileLost)
    assert lost.path == a
    assert lost.owner == service.user
    report = service.status()
    assert [f.path for f in report.lost] == [a] and report.state is OverallState.PROBLEM
    assert WarningKind.FILES_LOST in {w.kind for w in service.warnings()}


def test_damaged_catalog_is_rebuilt_and_reported(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path).ensure()
    paths.catalog_db.write_bytes(b"garbage" * 1000)
    sink = ListSink()
    service = Service(paths, sink, user="ann", inline=True)
    try:
        assert service.pending_summary().files == 0
        (recovered,) = sink.of_type(ev.CatalogRecovered)
        assert recovered.damaged.exists() and "moved aside" in recovered.message
        problems = [w for w in service.warnings() if w.kind is WarningKind.SETUP_PROBLEM]
        assert any("damaged" in w.detail for w in problems)
    finally:
        service.stop()


def test_invalid_config_still_starts_and_warns(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path).ensure()
    paths.facility_config.write_text("[policy]\nbacked_up_copies = 'x'\n")
    service = Service(paths, ListSink(), user="ann", inline=True)
    try:
        (warning,) = service.warnings()
        assert "policy.backed_up_copies" in warning.detail
        assert str(paths.facility_config) in warning.detail
        assert service.status().state is OverallState.PROBLEM
    finally:
        service.stop()


def test_destinations_added_and_removed_change_what_is_safe(
    tmp_path: Path, other_disk: Callable[..., Path]
) -> None:
    other_disk(tmp_path / "nas")
    paths = AppPaths.under(tmp_path).ensure()
    service = Service(paths, ListSink(), user="ann", inline=True)
    try:
        from almc_assistant.core.copies import CopyRecord

        src, nas = tmp_path / "a.nd2", tmp_path / "nas"
        copy = CopyRecord(
            source=src,
            destination_root=nas,
            path=nas / "a.nd2",
            size=1,
            mtime_ns=1,
            blake3="ab",
            verified_at=1.0,
        )
        service.catalog.record_copy(copy, owner="ann")
        assert service.pending_summary().files == 1  # an unknown folder: one copy, not safe
        service.add_destination("NAS", tmp_path / "nas", DestinationKind.INSTITUTIONAL)
        assert load_config(paths).user.destinations[0].name == "NAS"
        assert service.pending_summary().files == 0
        assert [d.name for d in service.destinations()] == ["NAS"]
        assert service.remove_destination("NAS") and not service.remove_destination("NAS")
        assert service.pending_summary().files == 1
    finally:
        service.stop()


def test_preflight_blocking_and_async(world: tuple[Service, ListSink, Path]) -> None:
    service, sink, tmp = world
    a = _old_file(tmp / "acq" / "a.nd2", b"z" * 10)
    results = service.preflight_now([a], service.destinations())
    assert results[0].reachable and results[0].needed_bytes == 10
    request = service.preflight([str(a)], service.destinations())  # returns at once
    deadline = time.monotonic() + 30
    while not sink.of_type(ev.PreflightFinished) and time.monotonic() < deadline:
        time.sleep(0.05)
    (done,) = sink.of_type(ev.PreflightFinished)
    assert done.request_id == request and done.results[0].needed_bytes == 10


def test_end_session_starts_a_new_one(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path).ensure()
    sink = ListSink()
    service = Service(paths, sink, user="ann", inline=True)
    try:
        from pathlib import Path as P

        service.catalog.record_seen(P("/acq/a"), size=3, mtime_ns=1, owner="ann")
        first = service.catalog.open_session("ann")
        assert service.end_session() == first.id  # type: ignore[union-attr]
        (ended,) = sink.of_type(ev.SessionEnded)
        assert ended.pending.files == 1 and ended.session_id == first.id  # type: ignore[union-attr]
        assert [f.path for f in service.session_files()] == [P("/acq/a")]  # latest session
    finally:
        service.stop()


def test_warnings_are_republished_while_watching(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path / "home").ensure()
    (tmp_path / "acq").mkdir()
    paths.facility_config.write_text(_facility(tmp_path))
    sink = ListSink()
    service = Service(paths, sink, warning_interval=0.05)
    try:
        service.start_watching()
        deadline = time.monotonic() + 30
        while len(sink.of_type(WarningsUpdated)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(sink.of_type(WarningsUpdated)) >= 3
        assert len(sink.of_type(ev.StatusChanged)) >= 3
    finally:
        service.stop()
    assert not [t for t in threading.enumerate() if t.name.startswith("almc-")]


def test_copies_come_back_from_receipts_after_the_catalog_is_damaged(
    world: tuple[Service, ListSink, Path],
) -> None:
    _needs_second_disk()
    service, sink, tmp = world
    a = _old_file(tmp / "acq" / "a.nd2", b"r" * 3000)
    service.scan_once()
    job = service.start_copy([a], service.destinations())
    assert job.wait(60) is not None
    service.recorder.flush()
    assert service.pending_summary().files == 0
    db = service.catalog.path
    service.stop()
    db.write_bytes(b"not a database" * 100)
    for extra in (Path(f"{db}-wal"), Path(f"{db}-shm")):
        extra.unlink(missing_ok=True)
    again = Service(service.paths, sink)
    try:
        again.scan_once()  # files from the scan, copies from the receipt at BIT
        assert sink.of_type(ev.CatalogRecovered)
        rec = again.catalog.file(a)
        assert rec is not None and rec.safe and rec.copies[0].path == tmp / "bit" / "a.nd2"
        assert again.pending_summary().files == 0
        assert again.import_receipts() == 0  # each receipt is read once
    finally:
        again.stop()


def test_check_reports_and_stores_verdicts(world: tuple[Service, ListSink, Path]) -> None:
    service, sink, tmp = world
    a = _old_file(tmp / "acq" / "a.txt", b"plain text, not an image")
    service.scan_once()
    report = service.check([str(tmp / "acq")]).result(timeout=60)
    assert [f.path for f in report.files] == [a]
    (ready,) = sink.of_type(ev.CheckReportReady)
    assert ready.report is report and ready.paths == (str(tmp / "acq"),)
    service.recorder.flush()
    rec = service.catalog.file(a)
    assert rec is not None and rec.verdict == str(report.files[0].verdict)


def test_copies_from_outside_the_acquisition_folders_are_not_tracked(
    world: tuple[Service, ListSink, Path],
) -> None:
    service, _sink, tmp = world
    stick = _old_file(tmp / "usb" / "x.nd2", b"u" * 100)
    job = service.start_copy([stick], service.destinations())
    result = job.wait(60)
    assert result is not None and result.summary.verified == 1
    service.recorder.flush()
    assert service.catalog.file(stick) is None
    assert service.pending_summary().files == 0


def test_lost_files_can_be_dismissed_and_a_login_starts_a_session(
    world: tuple[Service, ListSink, Path],
) -> None:
    service, sink, tmp = world
    a = _old_file(tmp / "acq" / "a.nd2", b"data")
    service.scan_once()
    opened = service.catalog.open_session(service.user)
    assert opened is not None
    assert service.new_login(opened.started_at + 60) == opened.id
    a.unlink()
    service.scan_once()
    assert service.status().lost and [e.path for e in sink.of_type(ev.FileLost)] == [a]
    assert service.dismiss_lost() == 1
    assert service.status().lost == () and service.status().state is OverallState.ALL_SAFE


def test_cleanup_keeps_part_of_a_dataset_until_all_of_it_is_safe(
    tmp_path: Path, other_disk: Callable[..., Path]
) -> None:
    paths = AppPaths.under(tmp_path / "home").ensure()
    other_disk(tmp_path / "bit")
    paths.facility_config.write_text(_facility(tmp_path) + "[retention]\nmax_age_days = 30\n")
    index = harmony_export(tmp_path / "acq" / "plate1")
    members = sorted(p for p in (tmp_path / "acq").rglob("*") if p.is_file())
    for m in members:
        os.utime(m, (time.time() - 3600,) * 2)
    now = [time.time()]
    service = Service(paths, ListSink(), clock=lambda: now[0])
    try:
        service.scan_once()
        tiffs = sorted(index.parent.glob("*.tiff"))
        (part,) = service.partial_datasets(tiffs)
        assert part.dataset == str(index) and len(part.left_out) == 2
        bit = service.destinations()[0]
        done = service.start_copy(tiffs, [bit]).wait(60)
        assert done is not None and done.summary.verified == 4
        service.recorder.flush()
        now[0] += 40 * DAY  # every file is now a cleanup candidate

        plan = service.plan_cleanup()

        assert len(plan.items) == 6 and plan.delete == ()
        for item in plan.keep:
            if item.file.path in tiffs:
                assert f"part of the Opera Phenix / Harmony export '{index.name}'" in item.reason
        assert service.apply_cleanup(plan).deleted == () and all(m.exists() for m in members)

        done = service.start_copy([tmp_path / "acq" / "plate1"], [bit]).wait(60)
        assert done is not None and done.summary.verified == 6
        service.recorder.flush()
        plan = service.plan_cleanup()
        assert [i.action for i in plan.items] == [Action.DELETE] * 6
        assert len(service.apply_cleanup(plan).deleted) == 6
        assert not any(m.exists() for m in members)
    finally:
        service.stop()


def test_a_stopped_service_does_not_reopen_its_catalog(
    world: tuple[Service, ListSink, Path],
) -> None:
    """A late call after stop (a GUI timer firing during shut-down) gets a clear error and
    starts no writer thread that would keep the process from exiting."""
    service, _sink, _tmp = world
    assert service.pending_summary().files == 0  # opens the catalog and its writer
    service.stop()
    with pytest.raises(ServiceStopped) as caught:
        service.pending_summary()
    assert "Start almc-assistant again" in caught.value.next_step
    with pytest.raises(ServiceStopped):
        service.status()
    assert not [t for t in threading.enumerate() if t.name.startswith("almc-catalog")]

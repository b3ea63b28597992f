"""First start: "not set up" defined once, settings applied live, folders tested, words."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from almc_assistant.core import service_events as ev
from almc_assistant.core.autostart import Autostart, StartOutcome, XdgAutostart
from almc_assistant.core.autostart.command import running_from_source
from almc_assistant.core.catalog import FileState
from almc_assistant.core.config import ReminderSettings, UserSettings, load_config
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.events import ListSink
from almc_assistant.core.location_check import check_acquisition_folder, check_destination
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.policy import Retention
from almc_assistant.core.service import Service
from almc_assistant.core.setup_state import NOT_SET_UP, NotSetUp, setup_needed
from almc_assistant.core.statfs import linux_fs_type
from almc_assistant.core.status import OverallState, ProblemKind, VolumeUsage, describe_problems
from almc_assistant.core.units import percent_full, plural
from tests.portable import IS_ROOT, WINDOWS


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return AppPaths.under(tmp_path / "home").ensure()


def test_no_facility_file_lets_the_user_choose(paths: AppPaths) -> None:
    setup = setup_needed(load_config(paths), paths)
    assert setup is not None and setup.title == NOT_SET_UP and setup.user_can_choose
    assert str(paths.user_config) in setup.next_step and not setup.facility_example


def test_a_facility_that_decides_and_has_not_is_named_with_what_to_write(
    paths: AppPaths,
) -> None:
    paths.facility_config.write_text("[facility]\nname = 'ALMC'\n", encoding="utf-8")
    setup = setup_needed(load_config(paths), paths)
    assert setup is not None and not setup.user_can_choose
    assert str(paths.facility_config) in setup.next_step
    assert setup.facility_example.startswith("[watch]\nfolders = [")
    paths.facility_config.write_text(
        setup.facility_example.replace("D:\\\\Acquisitions", "/data"), encoding="utf-8"
    )
    assert setup_needed(load_config(paths), paths) is None  # the example is valid TOML


def test_a_service_without_folders_reports_not_set_up(paths: AppPaths) -> None:
    service = Service(paths, ListSink(), inline=True)
    try:
        with pytest.raises(NotSetUp) as raised:
            service.start_watching()
        assert raised.value.title == NOT_SET_UP
        report = service.status()
        assert report.state is OverallState.NOT_SET_UP and report.headline == NOT_SET_UP
        assert report.setup == raised.value.setup and report.problems == ()
    finally:
        service.stop()


def test_saved_folders_apply_at_once_and_watching_starts(paths: AppPaths, tmp_path: Path) -> None:
    acq = tmp_path / "acq"
    acq.mkdir()
    sink = ListSink()
    service = Service(paths, sink, inline=True)
    try:
        with pytest.raises(NotSetUp):
            service.start_watching()  # the tray app asks; the welcome window follows
        reminders = ReminderSettings(idle_minutes=5, every_minutes=60, snooze_minutes=10)
        service.save_user_config(UserSettings(folders=(acq,), reminders=reminders))
        (applied,) = sink.of_type(ev.SettingsApplied)
        assert applied.setup is None and applied.config.acquisition_folders == (acq,)
        assert applied.config.user.reminders == reminders
        assert service.setup_needed() is None and service.config.acquisition_folders == (acq,)
        path = acq / "new.tif"
        path.write_bytes(b"II*\x00" + b"\0" * 10)
        deadline = time.monotonic() + 30  # the watcher started by itself sees it
        while time.monotonic() < deadline:
            service.recorder.flush(5)
            if service.catalog.file(path) is not None:
                break
            time.sleep(0.1)
        record = service.catalog.file(path)
        assert record is not None and record.state in (FileState.ACQUIRING, FileState.COMPLETE)
    finally:
        service.stop()


def test_a_disk_past_the_threshold_names_its_cause_and_next_step(tmp_path: Path) -> None:
    load = load_config(AppPaths.under(tmp_path))
    retention = Retention(load.retention)
    full = VolumeUsage(tmp_path, True, total=100, used=95, free=5)
    gone = VolumeUsage(tmp_path / "gone", False)
    found = describe_problems([], [full, gone], {tmp_path}, retention, ["bad key"])
    assert [p.kind for p in found] == [
        ProblemKind.DISK_FULL,
        ProblemKind.FOLDER_UNAVAILABLE,
        ProblemKind.SETUP,
    ]
    assert all(p.title and p.detail and p.next_step for p in found)
    assert found[0].title == f"The disk of {tmp_path} is 95% full"


def test_words_and_numbers() -> None:
    assert plural(1, "copy", "copies") == "1 copy" and plural(2, "copy", "copies") == "2 copies"
    assert plural(1, "file") == "1 file" and plural(0, "file") == "0 files"
    assert percent_full(14.2) == "14% full"


def test_an_acquisition_folder_is_tested_without_writing(tmp_path: Path) -> None:
    acq = tmp_path / "acq"
    acq.mkdir()
    (acq / "a.nd2").write_bytes(b"x")
    before = sorted(p.name for p in acq.iterdir())
    result = check_acquisition_folder(acq)
    assert result.ok and result.free_bytes and result.filesystem != "unknown"
    assert sorted(p.name for p in acq.iterdir()) == before
    assert "reachable, readable" in result.summary()
    missing = check_acquisition_folder(tmp_path / "nope")
    assert not missing.ok and "does not exist" in missing.notes[0]


def test_a_destination_is_tested_by_writing_a_probe(tmp_path: Path) -> None:
    dest = tmp_path / "backup"
    dest.mkdir()
    result = check_destination(Destination("USB", dest, DestinationKind.EXTERNAL_DRIVE))
    assert result.ok and "writable" in result.summary() and list(dest.iterdir()) == []
    assert any("never let an external drive" in n for n in result.notes)  # the kind's guidance
    unreachable = check_destination(
        Destination("X", tmp_path / "a" / "b" / "c", DestinationKind.OTHER)
    )
    assert not unreachable.ok and "not reachable" in unreachable.notes[0]


@pytest.mark.skipif(IS_ROOT, reason="root may write anywhere")
@pytest.mark.skipif(
    WINDOWS,
    reason="Windows ignores a folder's read-only bit (chmod 0o555): ACLs govern writing",
)
def test_a_read_only_destination_says_so(tmp_path: Path) -> None:
    dest = tmp_path / "ro"
    dest.mkdir()
    dest.chmod(0o555)
    try:
        result = check_destination(Destination("RO", dest, DestinationKind.OTHER))
        assert result.reachable and not result.usable and not result.ok
    finally:
        dest.chmod(0o755)


@pytest.mark.skipif(sys.platform != "linux", reason="statfs magic numbers are Linux")
def test_statfs_names_the_file_system(tmp_path: Path) -> None:
    kind = linux_fs_type(tmp_path)
    assert kind is not None and not kind.startswith("0x")
    assert linux_fs_type(tmp_path / "does-not-exist") is None


@pytest.fixture
def program(tmp_path: Path) -> Iterator[Path]:
    exe = tmp_path / "bin" / "almc-assistant"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n", encoding="utf-8")
    yield exe


def test_start_at_login_is_not_imposed_from_a_source_checkout(
    tmp_path: Path, program: Path
) -> None:
    backend = XdgAutostart(tmp_path / "xdg", [tmp_path / "etc-xdg"])
    checkout = Autostart(
        backend, state_dir=tmp_path / "state", command=(str(program),), installed=False
    )
    assert checkout.apply_at_start() is StartOutcome.NOT_INSTALLED
    assert not checkout.status().enabled and not (tmp_path / "state").exists()
    checkout.set_enabled(True)  # asked for: allowed
    assert checkout.status().enabled
    installed = Autostart(
        XdgAutostart(tmp_path / "xdg2", []), state_dir=tmp_path / "s2", command=(str(program),)
    )
    assert installed.apply_at_start() is StartOutcome.ENABLED_FIRST_START


def test_running_from_source_is_told_from_the_package_location(tmp_path: Path) -> None:
    repo = tmp_path / "clone"
    (repo / "src" / "almc_assistant").mkdir(parents=True)
    (repo / "pyproject.toml").write_text("[project]\n", encoding="utf-8")
    inside = str(repo / "src" / "almc_assistant" / "__init__.py")
    assert running_from_source(inside, frozen=False)
    assert not running_from_source(inside, frozen=True)
    site = tmp_path / "venv" / "lib" / "site-packages" / "almc_assistant" / "__init__.py"
    assert not running_from_source(str(site), frozen=False)

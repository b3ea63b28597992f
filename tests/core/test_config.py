"""Configuration: facility TOML under user TOML; bad content reported, never fatal."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from almc_assistant.core.config import (
    Config,
    ReminderSettings,
    UserSettings,
    load_config,
    save_user_config,
)
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.errors import ConfigError
from almc_assistant.core.paths import AppPaths

FACILITY = """
[facility]
name = "BioFrontiers ALMC"
contact = "almc@example.edu, room A1B39"
institution_domains = ["colorado.edu", "University of Colorado"]
shared_state_dir = "/srv/almc/state"

[watch]
folders = ["/data/acq", "/data/phenix"]
quiet_seconds = 120
polling = true

[policy]
backed_up_copies = 1
independent_copies = 2

[retention]
max_age_days = 14
disk_full_percent = 85
warn_days = 3

[cleanup]
verify_hash = "sample"
sample_fraction = 0.25

[[destinations]]
name = "BIT storage"
path = "/mnt/bit/almc"
kind = "institutional"
note = "Ask BIT for an account."
"""

USER = """
[reminders]
idle_minutes = 15

[[destinations]]
name = "My OneDrive"
path = "/home/ann/OneDrive - University of Colorado/microscopy"
kind = "cloud-sync"
university_managed = true
"""


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return AppPaths.under(tmp_path).ensure()


def _write(paths: AppPaths, facility: str | None = None, user: str | None = None) -> None:
    if facility is not None:
        paths.facility_config.write_text(facility, encoding="utf-8")
    if user is not None:
        paths.user_config.write_text(user, encoding="utf-8")


def test_no_files_gives_safe_defaults(paths: AppPaths) -> None:
    config = load_config(paths)
    # With no facility file at all, no facility decides: the user may choose folders.
    assert config == replace(Config(), allow_user_folders=True)
    assert config.policy.backed_up_copies == 1 and config.policy.independent_copies == 2
    assert config.shared_state_dir is None


def test_facility_under_user(paths: AppPaths) -> None:
    _write(paths, FACILITY, USER)
    config = load_config(paths)
    assert config.problems == ()
    assert config.facility_name == "BioFrontiers ALMC"
    assert config.acquisition_folders == (Path("/data/acq"), Path("/data/phenix"))
    assert config.watch.quiet_seconds == 120.0 and config.watch.polling
    assert config.retention.max_age_days == 14.0 and config.retention.disk_full_percent == 85
    assert config.cleanup.verify_hash == "sample" and config.cleanup.sample_fraction == 0.25
    assert config.shared_state_dir == Path("/srv/almc/state")
    assert [d.name for d in config.destinations] == ["BIT storage", "My OneDrive"]
    bit, mine = config.destinations
    assert bit.origin == "facility" and bit.kind is DestinationKind.INSTITUTIONAL
    assert "Ask BIT" in bit.guidance and bit.backed_up
    assert mine.origin == "user" and mine.university_managed
    assert "deleted when you leave" in mine.guidance
    assert config.user.reminders.idle_minutes == 15.0


def test_bad_toml_syntax_names_the_file_and_line_and_still_starts(paths: AppPaths) -> None:
    _write(paths, "[policy\nbacked_up_copies = 1\n", USER)
    config = load_config(paths)
    (problem,) = config.problems
    assert problem.file == paths.facility_config
    assert "not valid TOML" in problem.reason and "line 1" in problem.reason
    assert config.policy == Config().policy  # safe defaults
    assert [d.name for d in config.destinations] == ["My OneDrive"]  # the user's file still read


def test_wrong_types_name_the_key_and_reason_and_fall_back(paths: AppPaths) -> None:
    _write(
        paths,
        """
[policy]
backed_up_copies = "one"
independent_copies = 0
count_cloud_sync = 1

[retention]
max_age_days = true
disk_full_percent = 150

[cleanup]
verify_hash = "some"

[[destinations]]
name = "x"
path = "/mnt/x"
kind = "nas"
""",
    )
    config = load_config(paths)
    by_key = {p.key: p.reason for p in config.problems}
    assert set(by_key) == {
        "policy.backed_up_copies",
        "policy.independent_copies",
        "policy.count_cloud_sync",
        "retention.max_age_days",
        "retention.disk_full_percent",
        "cleanup.verify_hash",
        "destinations[1].kind",
    }
    assert "should be a whole number, not text" in by_key["policy.backed_up_copies"]
    assert "using the default (1)" in by_key["policy.backed_up_copies"]
    assert "between 1 and 10" in by_key["policy.independent_copies"]
    assert "true or false" in by_key["policy.count_cloud_sync"]
    assert "must be one of institutional, research" in by_key["destinations[1].kind"]
    assert config.policy == Config().policy
    assert config.retention == Config().retention
    assert config.destinations[0].kind is DestinationKind.OTHER  # counted as a plain folder
    assert all(p.file == paths.facility_config for p in config.problems)
    assert str(paths.facility_config) in str(config.problems[0])


def test_unknown_keys_and_tables_are_reported(paths: AppPaths) -> None:
    _write(paths, "[policy]\nbackedup_copies = 2\n[extras]\nx = 1\n", "colour = 'red'\n")
    config = load_config(paths)
    found = {(p.file, p.key) for p in config.problems}
    assert found == {
        (paths.facility_config, "policy.backedup_copies"),
        (paths.facility_config, "extras"),
        (paths.user_config, "colour"),
    }
    assert all("unknown key" in p.reason for p in config.problems)


def test_user_cannot_set_facility_keys(paths: AppPaths) -> None:
    _write(paths, FACILITY, "[policy]\nbacked_up_copies = 0\n[watch]\nfolders = ['/home']\n")
    config = load_config(paths)
    keys = {p.key: p.reason for p in config.problems}
    assert "only the facility" in keys["policy"]
    assert "does not let users add" in keys["watch"]
    assert config.policy.backed_up_copies == 1
    assert Path("/home") not in config.acquisition_folders


def test_user_folders_when_the_facility_allows(paths: AppPaths) -> None:
    _write(
        paths,
        "[facility]\nallow_user_folders = true\n[watch]\nfolders = ['/a']\n",
        "[watch]\nfolders = ['/b', '/a']\n",
    )
    assert load_config(paths).acquisition_folders == (Path("/a"), Path("/b"))


def test_destination_without_path_is_dropped_with_a_problem(paths: AppPaths) -> None:
    _write(paths, user="[[destinations]]\nname = 'nowhere'\n")
    config = load_config(paths)
    assert config.destinations == ()
    assert [(p.key, p.reason) for p in config.problems] == [
        ("destinations[1].path", "is missing; this destination is ignored")
    ]


def test_unreadable_and_non_utf8_files(paths: AppPaths) -> None:
    paths.facility_config.write_bytes(b"name = '\xff\xfe'\n")
    config = load_config(paths)
    assert len(config.problems) == 1
    assert config.problems[0].file == paths.facility_config


def test_save_and_load_round_trip(paths: AppPaths) -> None:
    settings = UserSettings(
        destinations=(
            Destination("Drive", Path("/media/ann/EXT"), DestinationKind.EXTERNAL_DRIVE),
            Destination("Lab", Path("/mnt/lab"), DestinationKind.RESEARCH, note="PL active"),
        ),
        reminders=ReminderSettings(idle_minutes=5, every_minutes=60, snooze_minutes=10),
    )
    assert save_user_config(paths, settings) == paths.user_config
    config = load_config(paths)
    assert config.problems == ()
    assert config.user == settings
    assert not list(paths.config_dir.glob(".*.tmp"))


def test_save_where_it_cannot_write_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "config"
    blocker.write_text("a file where the folder should be")
    paths = AppPaths.under(tmp_path)
    with pytest.raises(ConfigError) as info:
        save_user_config(paths, UserSettings())
    assert str(paths.user_config) in info.value.detail
    assert info.value.next_step


def test_the_readme_examples_are_valid(paths: AppPaths) -> None:
    """The configuration reference in the README parses without a single problem."""
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- section: catalog -->")[1].split("<!-- /section: catalog -->")[0]
    facility, user = re.findall(r"```toml\n(.*?)```", section, flags=re.S)
    _write(paths, facility, user)
    config = load_config(paths)
    assert config.problems == ()
    assert [d.kind for d in config.destinations] == [
        DestinationKind.INSTITUTIONAL,
        DestinationKind.RESEARCH,
        DestinationKind.CLOUD_SYNC,
    ]


def test_cloud_folders_of_a_university_account_are_marked(paths: AppPaths) -> None:
    _write(
        paths,
        "[facility]\ninstitution_domains = ['University of Colorado', 'colorado.edu']\n",
        "[[destinations]]\nname = 'OD'\npath = '/home/a/OneDrive - University of Colorado/x'\n"
        "kind = 'cloud-sync'\n"
        "[[destinations]]\nname = 'GD'\npath = '/Users/a/GoogleDrive-a@gmail.com/x'\n"
        "kind = 'cloud-sync'\n",
    )
    od, gd = load_config(paths).destinations
    assert od.university_managed and "deleted when you leave" in od.guidance
    assert not gd.university_managed


@pytest.mark.parametrize("value", ["user", "always", "never"])
def test_facility_start_at_login_policy(paths: AppPaths, value: str) -> None:
    _write(paths, f'[facility]\nstart_at_login = "{value}"\n')
    config = load_config(paths)
    assert config.start_at_login == value
    assert config.problems == ()


def test_bad_start_at_login_is_reported_and_left_to_the_user(paths: AppPaths) -> None:
    _write(paths, '[facility]\nstart_at_login = "yes"\n')
    config = load_config(paths)
    assert config.start_at_login == "user"
    (problem,) = config.problems
    assert problem.key == "facility.start_at_login"
    assert "always" in problem.reason
    assert Config().start_at_login == "user"


def test_user_chooses_folders_only_where_no_facility_file_exists(paths: AppPaths) -> None:
    _write(paths, user="[watch]\nfolders = ['/data/mine']\n")
    assert load_config(paths).acquisition_folders == (Path("/data/mine"),)
    _write(paths, facility="[facility]\nname = 'ALMC'\n")  # the facility decides now
    config = load_config(paths)
    assert config.acquisition_folders == ()
    assert "does not let users add" in {p.key: p.reason for p in config.problems}["watch"]


@pytest.mark.root
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
@pytest.mark.parametrize("how", ["a user's file", "writable by others"])
def test_root_obeys_only_a_facility_file_that_root_alone_may_write(
    paths: AppPaths, how: str
) -> None:
    _write(paths, FACILITY.replace("independent_copies = 2", "independent_copies = 1"))
    if how == "a user's file":
        os.chown(paths.facility_config, 65534, 65534)  # nobody's: a user made it
    else:
        paths.facility_config.chmod(0o666)
    config = load_config(paths)
    assert config.policy.independent_copies == 2  # the lax value is not obeyed
    assert config.facility_name == ""
    assert any(
        p.file == paths.facility_config and "run as root, it is ignored" in p.reason
        for p in config.problems
    )
    paths.facility_config.chmod(0o644)
    os.chown(paths.facility_config, 0, 0)
    assert load_config(paths).policy.independent_copies == 1  # staff's own file is obeyed

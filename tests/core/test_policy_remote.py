"""The policy knows remote destinations: counted once per remote by their configured
kind, research storage needs a second copy, an unconfigured remote is one independent
copy, and a university-managed cloud account is warned about."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from almc_assistant.core.catalog import CopyRecord
from almc_assistant.core.config import PolicySettings
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.policy import DeviceResolver, Policy, remote_device
from almc_assistant.core.preflight import Severity, plan_files, preflight

RESEARCH = Destination(
    "Research storage",
    PurePosixPath("lab/me"),
    DestinationKind.RESEARCH,
    remote="research:lab/me",
)
UNI_DRIVE = Destination(
    "University OneDrive",
    PurePosixPath("backup"),
    DestinationKind.OTHER,
    university_managed=True,
    remote="uni-onedrive:backup",
)
BIT = Destination("BIT", Path("/mnt/bit"), DestinationKind.INSTITUTIONAL)


def _copy(root: str, name: str = "a.nd2") -> CopyRecord:
    return CopyRecord(Path(root), Path(root) / name, 1, 1, "00", 0.0)


def _policy() -> Policy:
    return Policy(
        PolicySettings(),
        [BIT, RESEARCH, UNI_DRIVE],
        device_of=DeviceResolver(),
        storage_of=lambda dev: dev,
    )


def test_remote_roots_get_a_pseudo_device_per_remote_and_local_paths_none() -> None:
    a, b = remote_device("research:lab/me"), remote_device("research:other")
    assert a is not None and a < 0 and a == b
    assert remote_device("cloud:bucket") not in (None, a)
    for local in ("/mnt/bit", "C:\\Users\\ann", "C:/data", "relative/x:y"):
        assert remote_device(local) is None, local


def test_research_storage_alone_is_not_safe_a_second_copy_makes_it() -> None:
    policy = _policy()
    one = [_copy("research:lab/me/run1")]
    assert policy.destination_of(Path("research:lab/me/run1")) is RESEARCH
    why = policy.missing(one)
    assert why and "has 1 verified copy" in why
    # two copies at one remote are one copy
    assert policy.missing([*one, _copy("research:lab/me/run2")])
    assert policy.is_safe([*one, _copy("uni-onedrive:backup/run1")])


def test_unconfigured_remote_counts_as_one_independent_copy() -> None:
    policy = _policy()
    dest = policy.destination_of(Path("elsewhere:x"))
    assert dest.kind is DestinationKind.OTHER and not dest.backed_up
    assert policy.missing([_copy("elsewhere:x")])
    assert policy.is_safe([_copy("elsewhere:x"), _copy("research:lab/me")])


def test_university_account_and_research_storage_are_warned_about(tmp_path: Path) -> None:
    src = tmp_path / "a.nd2"
    src.write_bytes(b"x")
    files = plan_files([src])
    uni = preflight(UNI_DRIVE, files)
    assert uni.reachable
    warnings = [i.message for i in uni.issues if i.severity is Severity.WARNING]
    assert any("deleted when you leave" in w for w in warnings), warnings
    research = preflight(RESEARCH, files)
    assert any("keep another copy" in i.message for i in research.issues)

"""What "safe" means, and retention dates (clock changes never age files wrongly)."""

from __future__ import annotations

from pathlib import Path, PurePath

from almc_assistant.core.config import PolicySettings, RetentionSettings
from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.policy import DAY, DeviceResolver, Retention
from almc_assistant.core.policy import Policy as _Policy

BIT = Destination("BIT", Path("/mnt/bit"), DestinationKind.INSTITUTIONAL, origin="facility")
PL = Destination("PetaLibrary", Path("/mnt/pl"), DestinationKind.RESEARCH)
EXT = Destination("USB", Path("/media/ext"), DestinationKind.EXTERNAL_DRIVE)
CLOUD = Destination("OneDrive", Path("/home/a/OneDrive"), DestinationKind.CLOUD_SYNC)


def copy_at(root: str, name: str = "a.nd2") -> CopyRecord:
    """A verified copy of ``/acq/NAME`` at ``ROOT/NAME``."""
    return CopyRecord(
        source=Path("/acq") / name,
        destination_root=Path(root),
        path=Path(root) / name,
        size=1,
        mtime_ns=1,
        blake3="00",
        verified_at=0.0,
    )


def _device(folder: PurePath) -> int | None:
    """A fake device map: each top-level pair of names is a disk, /acq... is the
    acquisition disk, /gone... is unreachable."""
    top = "/" + "/".join(folder.parts[1:3])
    if top.startswith("/gone"):
        return None
    return 9 if top.startswith("/acq") else abs(hash(top)) % 10**6 + 10


def Policy(settings: PolicySettings, dests: list[Destination], **kw: object) -> _Policy:
    kw.setdefault("device_of", _device)
    kw.setdefault("acquisition_roots", [Path("/acq/x")])
    kw.setdefault("storage_of", lambda dev: dev)
    return _Policy(settings, dests, **kw)  # type: ignore[arg-type]


POLICY = Policy(PolicySettings(), [BIT, PL, EXT, CLOUD])


def test_one_copy_on_backed_up_storage_is_safe() -> None:
    assert POLICY.is_safe([copy_at("/mnt/bit/ann/2026")])  # a subfolder of the preset


def test_single_copy_elsewhere_is_not_safe_and_says_why() -> None:
    why = POLICY.missing([copy_at("/media/ext")])
    assert why == (
        "needs 1 verified copy on backed-up institutional storage or 2 verified copies on "
        "independent destinations; has 1 verified copy"
    )
    assert not POLICY.is_safe([copy_at("/mnt/pl")])


def test_two_independent_destinations_are_safe_two_copies_on_one_are_not() -> None:
    assert POLICY.is_safe([copy_at("/mnt/pl"), copy_at("/media/ext")])
    assert not POLICY.is_safe([copy_at("/media/ext"), copy_at("/media/ext", "b.nd2")])


def test_cloud_sync_copies_are_pending_upload_unless_the_facility_counts_them() -> None:
    copies = [copy_at("/home/a/OneDrive"), copy_at("/media/ext")]
    assert "1 pending upload" in POLICY.missing(copies)
    trusting = Policy(PolicySettings(count_cloud_sync=True), [EXT, CLOUD])
    assert trusting.is_safe(copies)


def test_unknown_folder_guesses_its_kind() -> None:
    standing = POLICY.standing(copy_at("/home/a/Dropbox/x"))
    assert standing.destination.kind is DestinationKind.CLOUD_SYNC and standing.pending_upload
    assert POLICY.standing(copy_at("/srv/x")).destination.kind is DestinationKind.OTHER


def test_stricter_policy_and_plan_check() -> None:
    strict = Policy(PolicySettings(backed_up_copies=2, independent_copies=3), [BIT, PL, EXT])
    assert not strict.is_safe([copy_at("/mnt/bit")])
    assert strict.is_safe([copy_at("/mnt/bit"), copy_at("/mnt/pl"), copy_at("/media/ext")])
    assert POLICY.would_be_safe([BIT]) == ""
    assert "has 1 verified copy" in POLICY.would_be_safe([EXT])


def test_key_changes_with_settings_and_destinations() -> None:
    keys = {
        POLICY.key,
        Policy(PolicySettings(independent_copies=3), [BIT, PL, EXT, CLOUD]).key,
        Policy(PolicySettings(), [BIT, PL, EXT]).key,
    }
    assert len(keys) == 3
    assert Policy(PolicySettings(), [CLOUD, EXT, PL, BIT]).key == POLICY.key


def test_retention_dates() -> None:
    r = Retention(RetentionSettings(max_age_days=30, disk_full_percent=80, warn_days=7))
    born = 1_000_000.0
    assert r.age_date(born) == born + 30 * DAY
    assert r.warn_date(r.age_date(born)) == born + 23 * DAY
    now = born + DAY
    assert r.candidate_date(born, disk_full=False, now=now) == born + 30 * DAY
    assert r.candidate_date(born, disk_full=True, now=now) == now
    assert r.disk_full(80.0) and not r.disk_full(79.9)
    assert r.born_before(born + 31 * DAY) > born


def test_copies_count_per_device_not_per_path() -> None:
    # Two folders on one external drive are one copy, configured or not.
    sub = Destination("USB-2", Path("/media/ext/second"), DestinationKind.EXTERNAL_DRIVE)
    policy = Policy(PolicySettings(), [BIT, PL, EXT, sub])
    copies = [copy_at("/media/ext"), copy_at("/media/ext/second")]
    why = policy.missing(copies)
    assert "has 1 verified copy" in why and "copies on one device count once" in why
    assert policy.would_be_safe([EXT, sub]) != ""
    assert policy.would_be_safe([EXT, PL]) == ""


def test_a_destination_on_the_acquisition_disk_never_counts() -> None:
    here = Destination("Same disk", Path("/acq/backup"), DestinationKind.EXTERNAL_DRIVE)
    there = Destination("Same disk 2", Path("/acq/other"), DestinationKind.INSTITUTIONAL)
    policy = Policy(PolicySettings(), [here, there, EXT])
    assert not policy.is_safe(
        [copy_at("/acq/backup"), copy_at("/acq/other"), copy_at("/media/ext")]
    )
    why = policy.missing([copy_at("/acq/backup"), copy_at("/acq/other")])
    assert "has 0 verified copies" in why and "on the acquisition disk itself" in why
    assert policy.would_be_safe([there]) != ""


def test_an_unreachable_destination_does_not_count() -> None:
    gone = Destination("Gone", Path("/gone/usb"), DestinationKind.EXTERNAL_DRIVE)
    policy = Policy(PolicySettings(), [gone, EXT])
    assert not policy.is_safe([copy_at("/gone/usb"), copy_at("/media/ext")])


def test_devices_read_from_the_copies_override_the_roots() -> None:
    copies = [copy_at("/media/ext"), copy_at("/mnt/pl")]
    assert POLICY.is_safe(copies)
    same = {c.path: 77 for c in copies}  # both copies turned out to be on one device
    assert POLICY.missing(copies, devices=same) != ""
    apart = {copies[0].path: 77, copies[1].path: 78}
    assert POLICY.missing(copies, devices=apart) == ""
    assert POLICY.missing(copies, devices=apart, source_device=78) != ""


def test_device_resolver_caches_and_expires(tmp_path: Path) -> None:
    now = [0.0]
    resolve = DeviceResolver(ttl=60, clock=lambda: now[0])
    folder = tmp_path / "d"
    assert resolve(folder) is None  # unreachable
    folder.mkdir()
    assert resolve(folder) is None  # cached
    now[0] = 61
    assert resolve(folder) == folder.stat().st_dev


def test_two_mounts_of_one_server_count_once() -> None:
    server = {11: "server:nas", 12: "server:nas", 13: "disk:/dev/sdb1"}
    nas1 = Destination("NAS 1", Path("/mnt/nas1"), DestinationKind.RESEARCH)
    nas2 = Destination("NAS 2", Path("/mnt/nas2"), DestinationKind.RESEARCH)
    usb = Destination("USB", Path("/media/usb"), DestinationKind.EXTERNAL_DRIVE)
    devices = {"/mnt/nas1": 11, "/mnt/nas2": 12, "/media/usb": 13, "/acq/x": 9}
    policy = Policy(
        PolicySettings(),
        [nas1, nas2, usb],
        device_of=lambda p: devices[Path(p).as_posix()],
        storage_of=lambda dev: server.get(dev, dev),
    )
    assert not policy.is_safe([copy_at("/mnt/nas1"), copy_at("/mnt/nas2")])
    assert policy.is_safe([copy_at("/mnt/nas1"), copy_at("/media/usb")])

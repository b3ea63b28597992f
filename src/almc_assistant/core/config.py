"""Configuration: the facility's TOML (admin) layered under the user's TOML.

Thread contract: :func:`load_config` reads two small files and returns an immutable
:class:`Config`; call it from any thread. :func:`save_user_config` writes the user's file
atomically (a temporary file, then ``os.replace``).

The facility file sets acquisition folders, destination presets, the safety policy,
retention and cleanup rules, the shared state folder and contact text. The user's file
adds their own destinations and reminder preferences (and acquisition folders if the
facility allows). Nothing here ever raises on bad content: every problem becomes a
:class:`~almc_assistant.core.configread.ConfigProblem` naming the file, the key and the
reason, and the value falls back to a safe default, so the app still starts.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from almc_assistant.core.atomicfile import write_atomically
from almc_assistant.core.configread import (
    ConfigProblem,
    TableReader,
    at_least,
    between,
    one_of,
)
from almc_assistant.core.destinations import Destination, DestinationKind, is_university_account
from almc_assistant.core.errors import ConfigError, describe_os_error
from almc_assistant.core.paths import AppPaths, default_facility_config


@dataclass(frozen=True, slots=True)
class WatchSettings:
    folders: tuple[Path, ...] = ()
    quiet_seconds: float = 60.0  # size and mtime unchanged this long: acquisition finished
    polling: bool = False  # poll instead of native events (network drives)
    ignore: tuple[str, ...] = ()  # name patterns, on top of the watcher's built-in ones


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """What makes a file safe: copies on backed-up storage, or on independent ones."""

    backed_up_copies: int = 1
    independent_copies: int = 2
    count_cloud_sync: bool = False  # copies in sync folders count before upload is known


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    """When cleanup may remove files from the acquisition disks."""

    max_age_days: float = 30.0
    disk_full_percent: float = 90.0
    warn_days: float = 7.0  # warn about unsafe files this long before their cleanup date


@dataclass(frozen=True, slots=True)
class CleanupSettings:
    verify_hash: str = "all"  # "all" or "sample": re-hash copies before deleting
    sample_fraction: float = 0.1


_TIME_OF_DAY = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class ReminderSettings:
    """When and how often to remind (the user's ``[reminders]`` table, in minutes).

    The one shape of the reminder settings: the user's file, the Settings window and the
    running reminders (:mod:`almc_assistant.core.session_end`) all use it; the scheduler
    reads the durations in seconds (:attr:`idle_after`, :attr:`every`, :attr:`snooze`,
    :attr:`min_gap`). ``enabled`` governs the ordinary reminders (acquisition finished,
    idle, schedule, lock); the reminder after a blocked logout and the one at the next
    login always show. Values set in code are checked: a bad one raises
    :class:`ConfigError` naming the setting and what to write instead (the user's file
    is read leniently: a bad value there is a problem and the default applies).
    """

    idle_minutes: float = 30.0  # no keyboard or mouse input for this long
    every_minutes: float = 0.0  # while data is at risk; 0: no interval reminders
    snooze_minutes: float = 30.0  # "Remind me later"
    daily_at: tuple[str, ...] = ("17:00",)  # local times "HH:MM", e.g. the end of the day
    min_gap_minutes: float = 60.0  # at most one ordinary reminder this often
    max_snoozes: int = 2  # then only "Back up now" and "Remind me when I log out"
    enabled: bool = True
    when_locked: bool = True

    def __post_init__(self) -> None:
        for name in ("idle_minutes", "every_minutes", "snooze_minutes", "min_gap_minutes"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise _bad_reminder(name, value, "a number of minutes, 0 or more")
        if (
            not isinstance(self.max_snoozes, int)
            or isinstance(self.max_snoozes, bool)
            or self.max_snoozes < 0
        ):
            raise _bad_reminder("max_snoozes", self.max_snoozes, "a whole number, 0 or more")
        for t in self.daily_at:
            if not isinstance(t, str) or not _TIME_OF_DAY.match(t):
                raise _bad_reminder("daily_at", t, 'times of day as "HH:MM", e.g. "17:00"')

    @property
    def idle_after(self) -> float:
        """Seconds without input before the idle reminder."""
        return self.idle_minutes * 60.0

    @property
    def every(self) -> float | None:
        """Seconds between interval reminders; ``None``: no interval reminders."""
        return self.every_minutes * 60.0 if self.every_minutes > 0 else None

    @property
    def snooze(self) -> float:
        """Seconds a "Remind me later" lasts."""
        return self.snooze_minutes * 60.0

    @property
    def min_gap(self) -> float:
        """Seconds between two ordinary reminders, at least."""
        return self.min_gap_minutes * 60.0

    def daily_times(self) -> tuple[tuple[int, int], ...]:
        """``daily_at`` as (hour, minute) pairs."""
        out = []
        for t in self.daily_at:
            hour, minute = t.split(":")
            out.append((int(hour), int(minute)))
        return tuple(out)


def _bad_reminder(key: str, value: object, expected: str) -> ConfigError:
    return ConfigError(
        f"The reminder setting {key!r} is {value!r}.",
        next_step=f"Set it to {expected}.",
    )


def is_time_of_day(text: str) -> bool:
    """Whether ``text`` is a local time of day as ``daily_at`` takes it ("HH:MM")."""
    return bool(_TIME_OF_DAY.match(text))


@dataclass(frozen=True, slots=True)
class UserSettings:
    """What the user's own TOML holds (and what :func:`save_user_config` writes)."""

    destinations: tuple[Destination, ...] = ()
    reminders: ReminderSettings = field(default_factory=ReminderSettings)
    folders: tuple[Path, ...] = ()
    # Remote destinations (rclone, core.remote), kept apart until the copy engine takes
    # them: a front end that does not know them never sees them as folders. ``None``:
    # "not edited", so saving keeps the ones in the user's file.
    remotes: tuple[Destination, ...] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Config:
    facility_name: str = ""
    contact: str = ""
    institution_domains: tuple[str, ...] = ()
    shared_state_dir: Path | None = None
    staff_group: str = ""  # members may see other users' status (besides root/admins)
    busy_timeout_seconds: float = 10.0
    allow_user_folders: bool = False  # True when there is no facility file at all
    start_at_login: str = "user"  # "user" decides (on by default), or "always" / "never"
    watch: WatchSettings = field(default_factory=WatchSettings)
    policy: PolicySettings = field(default_factory=PolicySettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    cleanup: CleanupSettings = field(default_factory=CleanupSettings)
    facility_destinations: tuple[Destination, ...] = ()
    facility_remotes: tuple[Destination, ...] = ()
    # The facility's own OAuth apps for signing in to cloud accounts (core.remote.signin):
    # backend ("drive", "onedrive") -> (client id, client secret or ""). A desktop app's
    # secret is not secret (RFC 8252); it lives in the facility's file, never the user's.
    sign_in_clients: tuple[tuple[str, str, str], ...] = ()
    user: UserSettings = field(default_factory=UserSettings)
    problems: tuple[ConfigProblem, ...] = ()

    @property
    def destinations(self) -> tuple[Destination, ...]:
        """Facility presets first, then the user's own."""
        return self.facility_destinations + self.user.destinations

    @property
    def remote_destinations(self) -> tuple[Destination, ...]:
        """Remote destinations (``remote = "name:path"``): facility's, then the user's."""
        return self.facility_remotes + (self.user.remotes or ())

    def sign_in_client(self, backend: str) -> tuple[str, str]:
        """(client id, client secret) of the facility's app for ``backend``, or ("", "")."""
        return next(((i, s) for b, i, s in self.sign_in_clients if b == backend), ("", ""))

    @property
    def acquisition_folders(self) -> tuple[Path, ...]:
        extra = self.user.folders if self.allow_user_folders else ()
        return tuple(dict.fromkeys(self.watch.folders + extra))


def load_config(paths: AppPaths) -> Config:
    """Read the facility and user files; never raises on their content.

    Run as root (staff's cleanup), only a facility file that root owns and nobody else
    may write is obeyed: a file a user made (through ``ALMC_FACILITY_CONFIG`` in an
    environment root inherited, or a misconfigured installation) could make the policy
    lax for everyone. Such a file is ignored, with a problem saying so, and the default
    facility file is read instead when it is sound. A user's own override changes only
    that user's view.
    """
    problems: list[ConfigProblem] = []
    facility_path = _obeyed_facility_file(paths.facility_config, problems)
    facility = _read_toml(facility_path, problems) if facility_path else {}
    user = _read_toml(paths.user_config, problems)
    config = _facility(facility_path or paths.facility_config, facility, problems)
    if facility_path is not None and _absent(facility_path):  # no facility decides: the user
        config = replace(config, allow_user_folders=True)
    settings = _user(paths.user_config, user, config, problems)
    domains = config.institution_domains
    settings = replace(settings, destinations=_mark_managed(settings.destinations, domains))
    return replace(
        config,
        facility_destinations=_mark_managed(config.facility_destinations, domains),
        user=settings,
        problems=tuple(problems),
    )


def _obeyed_facility_file(path: Path, problems: list[ConfigProblem]) -> Path | None:
    if os.name != "posix" or os.geteuid() != 0:
        return path
    reason = _not_staffs(path)
    if not reason:
        return path
    default = default_facility_config()
    fallback = default if default != path and not _not_staffs(default) else None
    instead = f"{fallback} is read instead" if fallback else "facility defaults are used"
    problems.append(ConfigProblem(path, "", f"{reason}: run as root, it is ignored; {instead}"))
    return fallback


def _not_staffs(path: Path) -> str:
    """Why root must not obey ``path`` ("" when it is root's and only root may write it;
    a missing file is fine: the defaults are safe)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"cannot be checked ({exc.strerror})"
    if st.st_uid != 0:
        return "belongs to a user, not to root"
    if stat.S_IMODE(st.st_mode) & 0o022:
        return "may be written by users other than root"
    return ""


def read_user_settings(file: Path, data: dict[str, Any], facility: Config) -> UserSettings:
    """A user's settings from their TOML document (staff read each user's destinations)."""
    problems: list[ConfigProblem] = []
    return _user(file, data, facility, problems)


def _mark_managed(
    destinations: tuple[Destination, ...], domains: tuple[str, ...]
) -> tuple[Destination, ...]:
    """Cloud-sync folders of a university account (``OneDrive - University of ...``,
    ``GoogleDrive-ann@colorado.edu``) get the departure warning even if not marked."""
    return tuple(
        replace(d, university_managed=True)
        if d.kind is DestinationKind.CLOUD_SYNC
        and not d.university_managed
        and is_university_account(d.path, domains)
        else d
        for d in destinations
    )


def _absent(path: Path) -> bool:
    """Certainly not there (a file that cannot be looked at counts as present)."""
    try:
        path.stat()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return False


def _read_toml(path: Path, problems: list[ConfigProblem]) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        problems.append(ConfigProblem(path, "", f"not valid TOML ({exc}); file ignored"))
    except UnicodeDecodeError:
        problems.append(ConfigProblem(path, "", "not UTF-8 text; file ignored"))
    except OSError as exc:
        problems.append(ConfigProblem(path, "", f"cannot be read ({exc.strerror}); ignored"))
    return {}


def _facility(file: Path, data: dict[str, Any], problems: list[ConfigProblem]) -> Config:
    top = TableReader(file, data, "", problems)
    base = Config()
    kw: dict[str, Any] = {}
    if (t := top.table("facility")) is not None:
        kw["facility_name"] = t.get("name", str, "")
        kw["contact"] = t.get("contact", str, "")
        kw["institution_domains"] = t.strings("institution_domains")
        state = t.get("shared_state_dir", str, "")
        kw["shared_state_dir"] = Path(state) if state else None
        kw["staff_group"] = t.get("staff_group", str, "")
        kw["busy_timeout_seconds"] = t.get(
            "busy_timeout_seconds", float, base.busy_timeout_seconds, between(0.1, 600)
        )
        kw["allow_user_folders"] = t.get("allow_user_folders", bool, False)
        kw["start_at_login"] = t.get(
            "start_at_login", str, base.start_at_login, one_of("user", "always", "never")
        )
        t.finish()
    if (t := top.table("watch")) is not None:
        kw["watch"] = _watch(t)
    if (t := top.table("policy")) is not None:
        d = PolicySettings()
        kw["policy"] = PolicySettings(
            backed_up_copies=t.get("backed_up_copies", int, d.backed_up_copies, between(1, 10)),
            independent_copies=t.get(
                "independent_copies", int, d.independent_copies, between(1, 10)
            ),
            count_cloud_sync=t.get("count_cloud_sync", bool, d.count_cloud_sync),
        )
        t.finish()
    if (t := top.table("retention")) is not None:
        r = RetentionSettings()
        kw["retention"] = RetentionSettings(
            max_age_days=t.get("max_age_days", float, r.max_age_days, at_least(1)),
            disk_full_percent=t.get(
                "disk_full_percent", float, r.disk_full_percent, between(10, 100)
            ),
            warn_days=t.get("warn_days", float, r.warn_days, at_least(0)),
        )
        t.finish()
    if (t := top.table("cleanup")) is not None:
        c = CleanupSettings()
        kw["cleanup"] = CleanupSettings(
            verify_hash=t.get("verify_hash", str, c.verify_hash, one_of("all", "sample")),
            sample_fraction=t.get("sample_fraction", float, c.sample_fraction, between(0.001, 1)),
        )
        t.finish()
    kw["facility_destinations"], kw["facility_remotes"] = _split(_destinations(top, "facility"))
    if (t := top.table("sign_in")) is not None:
        kw["sign_in_clients"] = tuple(
            (b, t.get(f"{b}_client_id", str, ""), t.get(f"{b}_client_secret", str, ""))
            for b in ("drive", "onedrive")
            if t.has(f"{b}_client_id")
        )
        t.finish()
    top.skip("reminders", "reminders are each user's choice: set them in the user's file")
    top.finish()
    return replace(base, **kw)


def _watch(t: TableReader) -> WatchSettings:
    d = WatchSettings()
    settings = WatchSettings(
        folders=tuple(Path(p) for p in t.strings("folders")),
        quiet_seconds=t.get("quiet_seconds", float, d.quiet_seconds, between(1, 86_400)),
        polling=t.get("polling", bool, d.polling),
        ignore=t.strings("ignore"),
    )
    t.finish()
    return settings


def _destinations(top: TableReader, origin: str) -> tuple[Destination, ...]:
    out: list[Destination] = []
    for t in top.tables("destinations"):
        name = t.get("name", str, "")
        path = t.get("path", str, "")
        kind_word = t.get(
            "kind", str, DestinationKind.OTHER.value, one_of(*(k.value for k in DestinationKind))
        )
        managed = t.get("university_managed", bool, False)
        note = t.get("note", str, "")
        remote = t.get("remote", str, "")
        t.finish()
        if remote:
            from almc_assistant.core.remote.spec import parse_remote

            try:
                parse_remote(remote)
            except ConfigError as exc:
                t.problem("remote", f"{exc.detail} {exc.next_step} This destination is ignored")
                continue
            path = path or str(PurePosixPath(remote.partition(":")[2] or "/"))
        if not path:
            t.problem("path", "is missing; this destination is ignored")
            continue
        out.append(
            Destination(
                name=name or remote or Path(path).name or path,
                path=PurePosixPath(path) if remote else Path(path),
                kind=DestinationKind(kind_word),
                origin=origin,
                university_managed=managed,
                note=note,
                remote=remote,
            )
        )
    return tuple(out)


def _user(
    file: Path, data: dict[str, Any], facility: Config, problems: list[ConfigProblem]
) -> UserSettings:
    top = TableReader(file, data, "", problems)
    reminders = ReminderSettings()
    if (t := top.table("reminders")) is not None:
        d = ReminderSettings()
        daily_at = t.strings("daily_at", d.daily_at)
        if not all(is_time_of_day(x) for x in daily_at):
            t.problem(
                "daily_at", 'times of day should read "HH:MM", e.g. "17:00"; using the default'
            )
            daily_at = d.daily_at
        reminders = ReminderSettings(
            idle_minutes=t.get("idle_minutes", float, d.idle_minutes, at_least(1)),
            every_minutes=t.get("every_minutes", float, d.every_minutes, at_least(0)),
            snooze_minutes=t.get("snooze_minutes", float, d.snooze_minutes, at_least(1)),
            daily_at=tuple(daily_at),
            min_gap_minutes=t.get("min_gap_minutes", float, d.min_gap_minutes, at_least(0)),
            max_snoozes=t.get("max_snoozes", int, d.max_snoozes, at_least(0)),
        )
        t.finish()
    folders: tuple[Path, ...] = ()
    if (t := top.table("watch")) is not None:
        if facility.allow_user_folders:
            folders = tuple(Path(p) for p in t.strings("folders"))
            t.finish()
        else:
            top.problem("watch", "the facility does not let users add acquisition folders")
    for name in ("facility", "policy", "retention", "cleanup"):
        top.skip(name, "only the facility's configuration may set this; ignored")
    destinations, remotes = _split(_destinations(top, "user"))
    top.finish()
    return UserSettings(
        destinations=destinations, reminders=reminders, folders=folders, remotes=remotes
    )


def _split(
    all_destinations: tuple[Destination, ...],
) -> tuple[tuple[Destination, ...], tuple[Destination, ...]]:
    """(folders, remotes)."""
    return (
        tuple(d for d in all_destinations if not d.remote),
        tuple(d for d in all_destinations if d.remote),
    )


def user_settings_document(settings: UserSettings) -> dict[str, Any]:
    """The TOML document for the user's settings (what :func:`save_user_config` writes)."""
    doc: dict[str, Any] = {
        "reminders": {
            "idle_minutes": settings.reminders.idle_minutes,
            "every_minutes": settings.reminders.every_minutes,
            "snooze_minutes": settings.reminders.snooze_minutes,
            "daily_at": list(settings.reminders.daily_at),
            "min_gap_minutes": settings.reminders.min_gap_minutes,
            "max_snoozes": settings.reminders.max_snoozes,
        }
    }
    if settings.folders:
        doc["watch"] = {"folders": [str(p) for p in settings.folders]}
    doc["destinations"] = [
        {
            "name": d.name,
            "path": str(d.path),
            "kind": d.kind.value,
            "university_managed": d.university_managed,
            **({"note": d.note} if d.note else {}),
            **({"remote": d.remote} if d.remote else {}),
        }
        for d in settings.destinations + (settings.remotes or ())
    ]
    return doc


def save_user_config(paths: AppPaths, settings: UserSettings) -> Path:
    """Write the user's TOML atomically; raises :class:`ConfigError` naming the file."""
    import tomli_w

    target = paths.user_config
    if settings.remotes is None:  # a front end that does not edit remotes keeps them
        kept = _user(target, _read_toml(target, []), Config(), []).remotes
        settings = replace(settings, remotes=kept)
    try:
        write_atomically(target, tomli_w.dumps(user_settings_document(settings)).encode("utf-8"))
    except OSError as exc:
        err = describe_os_error(exc, action="save your settings to", path=target)
        raise ConfigError(err.detail, next_step=err.next_step, paths=(target,)) from exc
    return target

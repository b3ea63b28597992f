"""Starting almc-assistant at login: the facility's policy over the OS's entry.

Thread contract: :class:`Autostart` calls its backend synchronously (one small file or
registry value); use it from one thread at a time.

Logout reminders only work while the app runs, so by default the first start of an
installed app enables starting at login and says so once, with how to turn it off (the
caller shows the notification); the user can turn it off (Settings,
``almc-assistant autostart off``) and that choice is kept. A run from a source checkout
(``./dev app``) never enables it by itself: Settings offers it. The
facility's ``start_at_login`` (``facility.toml``) may instead decide for everyone:
``"always"`` (enabled at every start, the user cannot turn it off) or ``"never"``
(removed at every start, the user cannot turn it on). The OS's entry is the only record
of the state; a small marker in the state folder remembers that the first-start offer
was made or the user chose, so it is made once.
"""

from __future__ import annotations

import enum
import json
import logging
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core.autostart.base import AutostartBackend, write_entry
from almc_assistant.core.autostart.command import launch_command, program_exists
from almc_assistant.core.autostart.macos import LaunchAgentAutostart
from almc_assistant.core.autostart.windows import WindowsRunAutostart
from almc_assistant.core.autostart.xdg import XdgAutostart
from almc_assistant.core.errors import AlmcError, UsageError

log = logging.getLogger(__name__)

MARKER_NAME = "autostart-chosen.json"


class AutostartPolicy(enum.StrEnum):
    USER = "user"  # the user decides (enabled on first start)
    ALWAYS = "always"  # the facility enables it; users cannot turn it off
    NEVER = "never"  # the facility forbids it; users cannot turn it on


class StartOutcome(enum.StrEnum):
    """What :meth:`Autostart.apply_at_start` did."""

    UNCHANGED = "unchanged"
    ENABLED_FIRST_START = "enabled-first-start"  # tell the user, once
    NOT_INSTALLED = "not-installed"  # a source checkout: offered in Settings, not imposed
    ENFORCED = "enforced"  # the facility's policy was applied
    REPAIRED = "repaired"  # the entry named a program that is gone


@dataclass(frozen=True, slots=True)
class AutostartStatus:
    enabled: bool
    policy: AutostartPolicy
    location: str  # where the entry lives
    command: tuple[str, ...] | None  # what the entry starts, when enabled
    expected_command: tuple[str, ...]  # what this installation would register

    @property
    def decided_by_facility(self) -> bool:
        return self.policy is not AutostartPolicy.USER

    def as_dict(self) -> dict[str, object]:
        return {
            "enabled": self.enabled,
            "policy": self.policy.value,
            "decided_by": "facility" if self.decided_by_facility else "user",
            "location": self.location,
            "command": list(self.command) if self.command else None,
            "expected_command": list(self.expected_command),
        }


def backend_for(
    platform: str | None = None, environ: Mapping[str, str] | None = None
) -> AutostartBackend:
    """The backend of this operating system."""
    plat = sys.platform if platform is None else platform
    if plat == "win32":
        return WindowsRunAutostart()
    if plat == "darwin":
        return LaunchAgentAutostart()
    return XdgAutostart.from_environment(environ)


class Autostart:
    """Query and change starting at login, within the facility's policy."""

    def __init__(
        self,
        backend: AutostartBackend,
        policy: AutostartPolicy | str = AutostartPolicy.USER,
        *,
        state_dir: Path,
        command: tuple[str, ...] | None = None,
        installed: bool = True,
    ) -> None:
        self.backend = backend
        self.policy = AutostartPolicy(policy)
        self.installed = installed  # False: a source checkout, enabled only when asked
        self.marker = state_dir / MARKER_NAME
        self.command = command if command is not None else launch_command()

    def status(self) -> AutostartStatus:
        registered = self.backend.registered_command()
        return AutostartStatus(
            enabled=registered is not None,
            policy=self.policy,
            location=self.backend.location,
            command=registered,
            expected_command=self.command,
        )

    def set_enabled(self, enabled: bool) -> AutostartStatus:
        """The user's choice; a :class:`UsageError` when the facility decides."""
        if self.policy is AutostartPolicy.ALWAYS and not enabled:
            raise UsageError(
                "Your facility starts almc-assistant at every login, so that it can remind "
                "you before data that is not backed up is at risk.",
                title="Set by your facility",
                next_step="Ask the facility staff if you need this changed.",
            )
        if self.policy is AutostartPolicy.NEVER and enabled:
            raise UsageError(
                "Your facility does not let almc-assistant start at login on this computer.",
                title="Set by your facility",
                next_step="Start almc-assistant yourself, or ask the facility staff.",
            )
        if enabled:
            self.backend.enable(self.command)
        else:
            self.backend.disable()
        self._remember_choice("enabled" if enabled else "disabled")
        return self.status()

    def apply_at_start(self) -> StartOutcome:
        """At every start of the tray app: the facility's policy, the first-start default,
        and repairing an entry whose program moved. Raises :class:`AlmcError` when the
        entry cannot be changed (the caller tells the user; the app runs on)."""
        registered = self.backend.registered_command()
        if self.policy is AutostartPolicy.NEVER:
            if registered is None:
                return StartOutcome.UNCHANGED
            self.backend.disable()
            return StartOutcome.ENFORCED
        if not self.installed:  # never registered behind the user's back from a checkout
            return StartOutcome.NOT_INSTALLED
        if self.policy is AutostartPolicy.ALWAYS:
            if registered is not None and program_exists(registered):
                return StartOutcome.UNCHANGED
            self.backend.enable(self.command)
            return StartOutcome.ENFORCED
        if not self.marker.exists():
            if registered is None:
                self.backend.enable(self.command)
            self._remember_choice("enabled on first start")
            return StartOutcome.UNCHANGED if registered else StartOutcome.ENABLED_FIRST_START
        if registered is not None and not program_exists(registered):
            self.backend.enable(self.command)
            return StartOutcome.REPAIRED
        return StartOutcome.UNCHANGED

    def _remember_choice(self, what: str) -> None:
        record = {"choice": what, "time": time.time(), "location": self.backend.location}
        try:
            write_entry(self.marker, json.dumps(record).encode("utf-8"))
        except AlmcError as err:  # the entry itself is right; only the offer may repeat
            log.warning("could not remember the start-at-login choice: %s", err)

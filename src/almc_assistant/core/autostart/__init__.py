"""Start almc-assistant when the user logs in (Linux/XDG, Windows Run key, macOS
LaunchAgent), within the facility's policy. Qt-free.

Use :class:`Autostart` (``status()``, ``set_enabled(bool)``, ``apply_at_start()``) over
the backend of this OS (:func:`backend_for`); :func:`for_config` builds it from the
configuration. Thread contract: see :mod:`almc_assistant.core.autostart.manager`.
"""

from __future__ import annotations

from almc_assistant.core.autostart.base import AutostartBackend
from almc_assistant.core.autostart.command import launch_command, running_from_source
from almc_assistant.core.autostart.macos import LaunchAgentAutostart
from almc_assistant.core.autostart.manager import (
    Autostart,
    AutostartPolicy,
    AutostartStatus,
    StartOutcome,
    backend_for,
)
from almc_assistant.core.autostart.windows import RunKey, WindowsRunAutostart
from almc_assistant.core.autostart.xdg import XdgAutostart
from almc_assistant.core.config import Config
from almc_assistant.core.paths import AppPaths

__all__ = [
    "Autostart",
    "AutostartBackend",
    "AutostartPolicy",
    "AutostartStatus",
    "LaunchAgentAutostart",
    "RunKey",
    "StartOutcome",
    "WindowsRunAutostart",
    "XdgAutostart",
    "backend_for",
    "for_config",
    "launch_command",
    "running_from_source",
]


def for_config(config: Config, paths: AppPaths) -> Autostart:
    """This OS's start-at-login entry under the facility's ``start_at_login`` policy."""
    return Autostart(
        backend_for(),
        config.start_at_login,
        state_dir=paths.state_dir,
        installed=not running_from_source(),
    )

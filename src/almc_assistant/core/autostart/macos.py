"""macOS: a LaunchAgent, ``~/Library/LaunchAgents/edu.almc.assistant.plist``.

Thread contract: see :mod:`almc_assistant.core.autostart.base`.

launchd reads the user's LaunchAgents at login; ``RunAtLoad`` starts the program then,
once (no ``KeepAlive``: quitting from the tray menu means quit). ``LimitLoadToSessionType
= Aqua`` keeps it to graphical logins (not ssh). The plist is written with
:mod:`plistlib`. macOS 13+ lists it under System Settings > General > Login Items
("Allow in the Background"), where the user can switch it off too.
"""

from __future__ import annotations

import plistlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.parsers.expat import ExpatError

from almc_assistant.core.autostart.base import file_error, remove_file, write_entry

LABEL = "edu.almc.assistant"


class LaunchAgentAutostart:
    """The LaunchAgent plist of one user."""

    def __init__(self, agents_dir: Path | None = None, label: str = LABEL) -> None:
        folder = agents_dir if agents_dir is not None else Path.home() / "Library" / "LaunchAgents"
        self.path = folder / f"{label}.plist"
        self.label = label

    @property
    def location(self) -> str:
        return str(self.path)

    def registered_command(self) -> tuple[str, ...] | None:
        try:
            with open(self.path, "rb") as fh:
                data: Any = plistlib.load(fh)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise file_error(exc, "read the start-at-login entry", self.path) from exc
        except (plistlib.InvalidFileException, ExpatError, ValueError, TypeError):
            return None  # launchd would not load it either
        if not isinstance(data, dict) or data.get("Disabled") is True:
            return None
        if data.get("RunAtLoad") is not True:
            return None
        args = data.get("ProgramArguments")
        if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
            return None
        return tuple(args)

    def enable(self, command: Sequence[str]) -> None:
        write_entry(self.path, plistlib.dumps(launch_agent(command, self.label)))

    def disable(self) -> None:
        remove_file(self.path)


def launch_agent(command: Sequence[str], label: str = LABEL) -> dict[str, Any]:
    """The LaunchAgent dictionary that starts ``command`` at login."""
    return {
        "Label": label,
        "ProgramArguments": [str(a) for a in command],
        "RunAtLoad": True,
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",
    }

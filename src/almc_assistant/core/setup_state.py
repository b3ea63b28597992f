"""Whether almc-assistant is set up, and if not, who sets it up and how: said once.

Thread contract: pure functions of a :class:`~almc_assistant.core.config.Config` and
:class:`~almc_assistant.core.paths.AppPaths`; safe anywhere.

Every command and window says "not set up" with these words: ``watch``, ``watch --once``,
``status`` (and ``--json``), the tray's tooltip and menu, the Status window and the
welcome window. Not being set up is not a problem (nothing failed): the app has no
acquisition folders to watch yet. Who chooses them: the user, when the facility lets
users add folders (or when there is no facility file at all); otherwise the facility's
staff, in the facility file, whose exact path and contents the message names.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core.config import Config
from almc_assistant.core.errors import ConfigError
from almc_assistant.core.paths import AppPaths

NOT_SET_UP = "Not set up yet"


@dataclass(frozen=True, slots=True)
class SetupNeeded:
    """Why nothing is watched yet, and the next step (in words any screen can show)."""

    detail: str
    next_step: str
    user_can_choose: bool  # the welcome window can set the folders
    facility_file: Path  # where the facility's choices live
    facility_example: str  # what staff put in it ("" when the user chooses)
    title: str = NOT_SET_UP

    def lines(self) -> tuple[str, ...]:
        """The detail and the next step, for a tooltip or a terminal."""
        return (self.detail, self.next_step)


def example_folder(platform: str | None = None) -> str:
    """A plausible acquisition folder for this OS (for examples, never used)."""
    windows = (platform or sys.platform) == "win32"
    return "D:\\Acquisitions" if windows else "/data/acquisitions"


def facility_example(platform: str | None = None) -> str:
    """What staff put in the facility file to name the acquisition folders."""
    folder = example_folder(platform).replace("\\", "\\\\")  # TOML basic string
    return f'[watch]\nfolders = ["{folder}"]'


def setup_needed(config: Config, paths: AppPaths) -> SetupNeeded | None:
    """``None`` when acquisition folders are configured; else what to do about it."""
    if config.acquisition_folders:
        return None
    nothing = "No acquisition folders are set, so almc-assistant watches nothing yet."
    if config.allow_user_folders:
        return SetupNeeded(
            detail=nothing,
            next_step="Choose your acquisition folders and backup destinations in the "
            "welcome window (tray menu: Set up…), or add them to "
            f"{paths.user_config} under [watch] folders.",
            user_can_choose=True,
            facility_file=paths.facility_config,
            facility_example="",
        )
    example = facility_example()
    return SetupNeeded(
        detail=f"{nothing} On this computer the facility chooses them, and has not yet.",
        next_step="Ask the facility staff to list the acquisition folders under [watch] "
        f"folders in {paths.facility_config}.",
        user_can_choose=False,
        facility_file=paths.facility_config,
        facility_example=example,
    )


class NotSetUp(ConfigError):
    """Watching was asked for but nothing is set up (exit status 2 on the command line)."""

    title = NOT_SET_UP

    def __init__(self, setup: SetupNeeded) -> None:
        example = f"\n{setup.facility_example}" if setup.facility_example else ""
        super().__init__(
            setup.detail,
            next_step=setup.next_step + example,
            paths=(setup.facility_file,) if not setup.user_can_choose else (),
        )
        self.setup = setup

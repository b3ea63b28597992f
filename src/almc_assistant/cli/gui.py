"""`almc-assistant gui` (also: no command): start the tray app.

Imports the Qt package only when the command runs, so the rest of the CLI works without
PySide6.
"""

from __future__ import annotations

import argparse

from almc_assistant.core.errors import AlmcError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("gui", help="start the tray app (the default)")
    p.add_argument("paths", nargs="*", help="files or folders to hand to the transfer window")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        from almc_assistant.qt import app
    except ImportError as exc:
        raise AlmcError(
            f"The tray app needs PySide6, which cannot be loaded here ({exc}).",
            title="Cannot start the tray app",
            next_step="Install almc-assistant with its GUI dependencies, or use the "
            "command line (almc-assistant --help).",
        ) from exc
    return app.run(list(args.paths))

"""`almc-assistant gui` (also: no command): start the tray app.

Imports the Qt package only when the command runs, so the rest of the CLI works without
PySide6.
"""

from __future__ import annotations

import argparse

from almc_assistant.cli import _common


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("gui", help="start the tray app (the default)")
    p.add_argument("paths", nargs="*", help="files or folders to hand to the transfer window")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        from almc_assistant.qt import app  # type: ignore[attr-defined]
    except ImportError:
        return _common.not_yet("gui")(args)
    return int(app.run(list(args.paths)))

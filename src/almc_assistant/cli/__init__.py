"""The command line: ``almc-assistant [COMMAND] ...``.

Thread contract: runs on the main thread; commands start core workers through the core
and consume their events. Each command lives in its own module (``cli/<name>.py``) with a
``register(subparsers)`` function; the Qt package is imported only by the ``gui`` command,
and only when it runs.

Exit status (a contract): 0 all good; 1 some files failed or were flagged; 2 usage or
configuration error; 130 interrupted (Ctrl-C); 141 the reader of stdout went away
(``| head``: quietly, as Unix tools do). ``--json`` prints one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from almc_assistant import __version__
from almc_assistant.cli import _common
from almc_assistant.cli import check as check_cmd
from almc_assistant.cli import cleanup as cleanup_cmd
from almc_assistant.cli import copy as copy_cmd
from almc_assistant.cli import gui as gui_cmd
from almc_assistant.cli import status as status_cmd
from almc_assistant.cli import verify as verify_cmd
from almc_assistant.cli import watch as watch_cmd

_COMMANDS = (gui_cmd, check_cmd, copy_cmd, verify_cmd, watch_cmd, status_cmd, cleanup_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="almc-assistant",
        description=(
            "Keeps your microscopy data safe: checks files, copies them to your backup "
            "destinations with verification, and reminds you before data is at risk. "
            "With no command, starts the tray app."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more detail in the log (repeatable)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(words)
    if args.command is None:  # no command: the tray app
        args = parser.parse_args([*words, "gui"])
    _common.setup_logging(args.verbose)
    return _common.run_command(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

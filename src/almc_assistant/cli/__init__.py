"""The command line: ``almc-assistant [COMMAND] ...``.

Thread contract: runs on the main thread; commands start core workers through the core
and consume their events. Each command lives in its own module (``cli/<name>.py``) with a
``register(subparsers)`` function; the Qt package is imported only by the ``gui`` command,
and only when it runs.

``almc-assistant PATH...`` (no command, only existing files or folders) is
``almc-assistant gui PATH...``: the tray app starts with them, or the running one gets
them. A first word that is neither a command, an option nor an existing path is a usage
error (exit 2) that lists the commands.

Exit status (a contract): 0 all good; 1 some files failed or were flagged; 2 usage or
configuration error; 130 interrupted (Ctrl-C); 141 the reader of stdout went away
(``| head``: quietly, as Unix tools do). ``--json`` prints one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from almc_assistant import __version__
from almc_assistant.cli import _common
from almc_assistant.cli import autostart as autostart_cmd
from almc_assistant.cli import check as check_cmd
from almc_assistant.cli import cleanup as cleanup_cmd
from almc_assistant.cli import copy as copy_cmd
from almc_assistant.cli import gui as gui_cmd
from almc_assistant.cli import remote as remote_cmd
from almc_assistant.cli import status as status_cmd
from almc_assistant.cli import verify as verify_cmd
from almc_assistant.cli import watch as watch_cmd

_COMMANDS = (
    gui_cmd,
    check_cmd,
    copy_cmd,
    verify_cmd,
    remote_cmd,
    watch_cmd,
    status_cmd,
    cleanup_cmd,
    autostart_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="almc-assistant",
        description=(
            "Keeps your microscopy data safe: checks files, copies them to your backup "
            "destinations with verification, and reminds you before data is at risk. "
            "With no command, starts the tray app; given only files or folders, opens them "
            "in its transfer window."
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


def commands(parser: argparse.ArgumentParser) -> list[str]:
    """The command names ``parser`` knows (``gui``, ``check``, ...)."""
    for action in parser._actions:  # argparse keeps its sub-commands in an action
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def resolve_words(parser: argparse.ArgumentParser, words: Sequence[str]) -> list[str]:
    """The words as ``parser`` should read them: ``PATH...`` with no command becomes
    ``gui PATH...``; a first word that is neither a command, an option nor an existing
    file or folder is a usage error (``parser.error``: exit 2, naming the word)."""
    words = list(words)
    if not words or words[0].startswith("-") or words[0] in commands(parser):
        return words
    missing = [w for w in words if not w.startswith("-") and not Path(w).exists()]
    if missing:
        parser.error(
            f"{missing[0]!r} is not a command, nor a file or folder that exists. "
            f"Commands: {', '.join(commands(parser))}; or give existing files or folders "
            "to open them in the tray app's transfer window."
        )
    return ["gui", *words]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    words = resolve_words(parser, sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(words)
    if args.command is None:  # no command: the tray app
        args = parser.parse_args([*words, "gui"])
    _common.utf8_output()  # Windows: a pipe or file gets UTF-8, not the ANSI code page
    _common.setup_logging(args.verbose)
    return _common.run_command(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""`almc-assistant autostart [on|off|status] [--json]`: start the tray app at login.

Thread contract: main thread. Changes one small file (Linux, macOS) or registry value
(Windows) through :mod:`almc_assistant.core.autostart`.

Exit status: 0 done (``status``: whatever the state); 1 the entry could not be changed;
2 the facility decides (``start_at_login`` in its configuration) and the request goes
against it. Installers run ``almc-assistant autostart on`` (or ``off``) after installing
and ``off`` before uninstalling.
"""

from __future__ import annotations

import argparse

from almc_assistant.cli import _common
from almc_assistant.core.autostart import AutostartStatus, for_config
from almc_assistant.core.config import load_config
from almc_assistant.core.paths import AppPaths


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "autostart",
        help="start almc-assistant when you log in (on, off, status)",
        description="Start the tray app when you log in, so that it can remind you before "
        "data that is not backed up is at risk. 'on' and 'off' change it (unless the "
        "facility decides); 'status' (the default) shows it.",
    )
    p.add_argument("action", nargs="?", choices=("on", "off", "status"), default="status")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    paths = AppPaths.default().ensure()
    autostart = for_config(load_config(paths), paths)
    if args.action == "status":
        status = autostart.status()
    else:
        status = autostart.set_enabled(args.action == "on")
    if args.json:
        _common.print_json({"ok": True, **status.as_dict()})
    else:
        render(status)
    return _common.EXIT_OK


def render(status: AutostartStatus) -> None:
    console = _common.console()
    state = "starts" if status.enabled else "does not start"
    who = " (set by your facility)" if status.decided_by_facility else ""
    console.print(f"almc-assistant {state} when you log in{who}.", highlight=False)
    console.print(f"  Entry: {status.location}", highlight=False, soft_wrap=True)
    if status.command:
        console.print(f"  Starts: {' '.join(status.command)}", highlight=False, soft_wrap=True)
    elif not status.decided_by_facility:
        console.print("  Turn it on with: almc-assistant autostart on", highlight=False)

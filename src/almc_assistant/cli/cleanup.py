"""`almc-assistant cleanup`."""

from __future__ import annotations

import argparse

from almc_assistant.cli import _common


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("cleanup", help="(not yet available)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=_common.not_yet("cleanup"))

"""Whose files the caller's own catalog speaks for: everyone's for staff (root on POSIX,
an elevated administrator on Windows), else the caller's own, named as the evidence
rules compare owners (a uid; on Windows a SID, ``st_uid`` being 0 for every file).
Runs on Linux and in the Windows lane (Wine's user is an elevated administrator)."""

from __future__ import annotations

import os
from pathlib import Path

from almc_assistant.core import privatefs
from almc_assistant.core.events import ListSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.service import Service
from tests.portable import UNDER_WINE, WINDOWS


def test_the_callers_catalog_is_staffs_exactly_when_the_token_says_so(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path / "home").ensure()
    service = Service(paths, ListSink())
    try:
        own = service.cleanup._sources()[0]
        rules = service.cleanup._evidence_rules(own)
    finally:
        service.stop()
    if UNDER_WINE:
        assert privatefs.is_superuser(), "Wine's user is an administrator"
    if privatefs.is_superuser():
        assert rules.catalog_owner_uid is None
    elif WINDOWS:  # pragma: no cover - a plain Windows account (not reachable under Wine)
        from almc_assistant.core import winacl

        assert rules.catalog_owner_uid == winacl.user_sid()
    else:
        assert rules.catalog_owner_uid == os.geteuid()

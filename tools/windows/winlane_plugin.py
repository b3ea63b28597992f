"""pytest plugin of the Windows lane (.ci/windows-lane): Wine's known gaps, each with why.

Loaded with ``-p winlane_plugin`` by the lane only. ``known-failures.txt`` beside it has
one entry a line, ``xfail|skip <test id or prefix> | <reason>``: ``xfail`` for a test that
fails under Wine because of Wine (it still runs; a pass shows as XPASS), ``skip`` for one
that would hang or take the whole run down. Everything else must pass, as on Linux.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_LIST = Path(__file__).with_name("known-failures.txt")


def _entries() -> list[tuple[str, str, str]]:
    out = []
    for line in _LIST.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        head, _, reason = line.partition("|")
        kind, _, test = head.strip().partition(" ")
        if kind not in ("xfail", "skip") or not test.strip() or not reason.strip():
            raise pytest.UsageError(f"{_LIST}: bad entry (kind, test id and reason): {line}")
        out.append((kind, test.strip(), reason.strip()))
    return out


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    entries = _entries()
    for item in items:
        for kind, test, reason in entries:
            if item.nodeid == test or item.nodeid.startswith((test + "::", test + "[")):
                mark = pytest.mark.skip if kind == "skip" else pytest.mark.xfail
                item.add_marker(mark(reason=reason))

"""Shared pieces of the native-format structure walkers: bounded reads and verdicts.

Thread contract: pure functions on one open file; safe from any thread (one file object
per call).

Every walker reads only headers and tables, never pixels, and never trusts a size or
count from the file before comparing it with the file's real size (a corrupt count must
not make it read gigabytes). It reports with one of three findings: ``complete`` (every
part the headers list lies inside the file), ``damaged`` (with the problems in plain
words) or ``not_checked`` (the format is recognised but its structure is not walked: the
``structure-not-checked`` flag, never a plain "all good").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO

from almc_assistant.core.inspect import wording
from almc_assistant.core.inspect.finding import Finding
from almc_assistant.core.inspect.model import Flag
from almc_assistant.core.verdicts import Verdict

MAX_TABLE = 64 << 20  # a directory or index larger than this is corrupt, not real
MAX_PROBLEMS = 5


class Damage(Exception):
    """A structure problem that ends the walk (plain words)."""


def read_at(fh: BinaryIO, pos: int, n: int, size: int) -> bytes:
    """Up to ``n`` bytes at ``pos``, never past ``size`` (a file's real length)."""
    if pos < 0 or n <= 0 or pos >= size:
        return b""
    fh.seek(pos)
    return fh.read(min(n, size - pos))


def read_exact(fh: BinaryIO, pos: int, n: int, size: int, what: str) -> bytes:
    """Exactly ``n`` bytes at ``pos`` or :class:`Damage` saying ``what`` is cut off."""
    if pos < 0 or pos + n > size:
        raise Damage(
            f"Its {what} should lie at bytes {pos:,}-{pos + n:,} but the file ends at byte "
            f"{size:,}: the rest of the file is missing."
        )
    data = read_at(fh, pos, n, size)
    if len(data) < n:
        raise Damage(f"Its {what} could not be read completely.")
    return data


def complete(
    fmt: str,
    summary: str,
    details: Mapping[str, Any],
    flags: Iterable[Flag] = (),
    extra: Iterable[str] = (),
) -> Finding:
    found = frozenset(flags)
    reasons = [summary, *extra, *(wording.FLAG_TEXT[f] for f in sorted(found))]
    return Finding(Verdict.NATIVE_OK, fmt, tuple(reasons), found, dict(details))


def damaged(fmt: str, problems: list[str], details: Mapping[str, Any]) -> Finding:
    shown = problems[:MAX_PROBLEMS]
    if len(problems) > MAX_PROBLEMS:
        shown.append(f"... and {len(problems) - MAX_PROBLEMS:,} more problems.")
    reasons = (wording.NATIVE_DAMAGED.format(format=fmt), *shown)
    return Finding(Verdict.NATIVE_DAMAGED, fmt, reasons, frozenset(), dict(details))


def not_checked(fmt: str, why: str = "", details: Mapping[str, Any] | None = None) -> Finding:
    reasons = [wording.NOT_CHECKED.format(format=fmt)]
    if why:
        reasons.append(why)
    return Finding(
        Verdict.NATIVE_OK,
        fmt,
        tuple(reasons),
        frozenset({Flag.STRUCTURE_NOT_CHECKED}),
        dict(details or {}),
    )

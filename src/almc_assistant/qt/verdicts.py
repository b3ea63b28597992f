"""How a file's check verdict looks in the GUI: a badge and a short label.

Thread contract: pure lookups, GUI thread for the icons. Verdicts, their labels and their
order are the core's (:mod:`almc_assistant.core.verdicts`); this maps a verdict's tone to
a badge. The file states are the catalog's (``acquiring``, ``complete``, ``lost``).
"""

from __future__ import annotations

from dataclasses import dataclass

from almc_assistant.core.verdicts import Tone, parse
from almc_assistant.qt.icons import Badge


@dataclass(frozen=True, slots=True)
class VerdictLook:
    badge: Badge
    label: str


BADGES = {Tone.OK: Badge.OK, Tone.NOTE: Badge.NOTE, Tone.BAD: Badge.BAD, Tone.DAMAGED: Badge.BAD}
ACQUIRING = VerdictLook(Badge.WAITING, "Still acquiring")
UNKNOWN = VerdictLook(Badge.NOTE, "Not checked")


def look(verdict: str | None, *, state: str | None = None) -> VerdictLook:
    """The look of ``verdict``; a file still ``acquiring`` is never judged."""
    if state == "acquiring":
        return ACQUIRING
    if verdict is None:
        return UNKNOWN
    known = parse(str(verdict))
    if known is None:  # written by a newer version: its own words
        return VerdictLook(Badge.NOTE, str(verdict))
    return VerdictLook(BADGES[known.tone], known.label)

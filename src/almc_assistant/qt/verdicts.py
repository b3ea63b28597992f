"""How a file's check verdict looks: a badge, a short label, and whether it needs a word.

Thread contract: pure lookups, GUI thread for the icons. The verdict strings are the
check's contract (``core/inspect``): ``native-ok``, ``tiff-compressed-lossy``, ...; the
file states are the catalog's (``acquiring``, ``complete``, ``lost``).
"""

from __future__ import annotations

from dataclasses import dataclass

from almc_assistant.qt.icons import Badge


@dataclass(frozen=True, slots=True)
class VerdictLook:
    badge: Badge
    label: str
    needs_attention: bool  # listed on the "Files to look at" page, and first in lists


_LOOKS = {
    "native-ok": VerdictLook(Badge.OK, "Native file", False),
    "tiff-uncompressed-ok": VerdictLook(Badge.OK, "Uncompressed TIFF", False),
    "tiff-compressed-lossless": VerdictLook(Badge.NOTE, "Compressed TIFF (lossless)", True),
    "tiff-compressed-lossy": VerdictLook(Badge.BAD, "Lossy TIFF: pixels changed", True),
    "lossy-format": VerdictLook(Badge.BAD, "Lossy image format", True),
    "other-format": VerdictLook(Badge.NOTE, "Not raw image data", True),
    "native-damaged": VerdictLook(Badge.BAD, "Damaged or incomplete", True),
    "tiff-damaged": VerdictLook(Badge.BAD, "Damaged TIFF", True),
    "unreadable": VerdictLook(Badge.BAD, "Could not be read", True),
    "empty": VerdictLook(Badge.NOTE, "Empty file", True),
    "dataset-metadata": VerdictLook(Badge.OK, "Dataset metadata", False),
}
ACQUIRING = VerdictLook(Badge.WAITING, "Still acquiring", False)
CHECKING = VerdictLook(Badge.WAITING, "Checking…", False)
UNKNOWN = VerdictLook(Badge.NOTE, "Not checked", False)

EXPORT_VERDICTS = frozenset(
    {"tiff-compressed-lossless", "tiff-compressed-lossy", "lossy-format", "other-format"}
)


def look(verdict: str | None, *, state: str | None = None) -> VerdictLook:
    """The look of ``verdict``; a file still ``acquiring`` is never judged."""
    if state == "acquiring":
        return ACQUIRING
    if verdict is None:
        return UNKNOWN
    return _LOOKS.get(str(verdict), VerdictLook(Badge.NOTE, str(verdict), True))

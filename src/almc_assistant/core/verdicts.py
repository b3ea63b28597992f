"""Verdicts of the file check: the values, their order, their labels, defined once.

Thread contract: immutable values, safe anywhere.

The verdict strings are a contract (``check --json``, the catalog, the GUI): keep them.
Front ends present a verdict by its :attr:`Verdict.label` and its :attr:`Verdict.tone`
(the GUI maps the tone to a badge, the CLI to a colour), and list verdicts in
:data:`ORDER` (best first). A verdict added here needs nothing more in the front ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Tone(StrEnum):
    """How a front end marks a verdict."""

    OK = "ok"  # keep as it is
    NOTE = "note"  # worth a word, nothing lost
    BAD = "bad"  # pixels changed: not the original data
    DAMAGED = "damaged"  # damaged, incomplete or unreadable: never delete the source


class Verdict(StrEnum):
    """What a file (or a dataset) is, judged from its contents."""

    NATIVE_OK = "native-ok"
    NATIVE_DAMAGED = "native-damaged"
    TIFF_UNCOMPRESSED_OK = "tiff-uncompressed-ok"
    TIFF_COMPRESSED_LOSSLESS = "tiff-compressed-lossless"
    TIFF_COMPRESSED_LOSSY = "tiff-compressed-lossy"
    TIFF_DAMAGED = "tiff-damaged"
    LOSSY_FORMAT = "lossy-format"
    OTHER_FORMAT = "other-format"
    # Added: the check itself could not look inside (permission denied, vanished, I/O
    # error, a symlink loop, a folder given as a file). No content verdict applies.
    UNREADABLE = "unreadable"
    # Added: a 0-byte file has no content to judge; it is neither damaged data nor an
    # export (often a file an instrument has just created and not written yet).
    EMPTY = "empty"
    # Added: a file that belongs to a multi-file dataset and describes it (Harmony's
    # Index.idx.xml, FFC profile and assay layout XML, OIF's .pty/.roi/.lut, a SlideBook
    # 7 .sldy, Micro-Manager's metadata.txt): not image data on its own, not an export
    # to fix either; it is judged as part of its dataset.
    DATASET_METADATA = "dataset-metadata"

    @property
    def is_ok(self) -> bool:
        """True for the verdicts the facility's policy accepts as they are."""
        return _ABOUT[self].tone is Tone.OK

    @property
    def severity(self) -> int:
        """Higher is worse; used to judge a dataset by its worst member."""
        return _ABOUT[self].severity

    @property
    def label(self) -> str:
        """A short label for tables and badges ("Lossy TIFF: pixels changed")."""
        return _ABOUT[self].label

    @property
    def tone(self) -> Tone:
        return _ABOUT[self].tone

    @property
    def is_export(self) -> bool:
        """An export or conversion rather than the instrument's data (the wizard asks
        about these before backing up)."""
        return _ABOUT[self].export

    @property
    def needs_fixing(self) -> bool:
        """Shown on the wizard's "Files to fix" page: an export, or not sound data."""
        return self.is_export or self.blocks_deletion

    @property
    def blocks_deletion(self) -> bool:
        """Cleanup never deletes such a file: damaged, unreadable, or empty (perhaps not
        written yet)."""
        return self.tone is Tone.DAMAGED or self is Verdict.EMPTY


@dataclass(frozen=True, slots=True)
class _About:
    severity: int
    label: str
    tone: Tone
    export: bool = False


_ABOUT = {
    Verdict.NATIVE_OK: _About(0, "Native file", Tone.OK),
    Verdict.DATASET_METADATA: _About(0, "Dataset metadata", Tone.OK),
    Verdict.TIFF_UNCOMPRESSED_OK: _About(1, "Uncompressed TIFF", Tone.OK),
    Verdict.EMPTY: _About(2, "Empty file", Tone.NOTE),
    Verdict.OTHER_FORMAT: _About(3, "Not raw image data", Tone.NOTE, export=True),
    Verdict.TIFF_COMPRESSED_LOSSLESS: _About(
        4, "Compressed TIFF (lossless)", Tone.NOTE, export=True
    ),
    Verdict.LOSSY_FORMAT: _About(5, "Lossy image format", Tone.BAD, export=True),
    Verdict.TIFF_COMPRESSED_LOSSY: _About(6, "Lossy TIFF: pixels changed", Tone.BAD, export=True),
    Verdict.UNREADABLE: _About(7, "Could not be read", Tone.DAMAGED),
    Verdict.TIFF_DAMAGED: _About(8, "Damaged TIFF", Tone.DAMAGED),
    Verdict.NATIVE_DAMAGED: _About(9, "Damaged or incomplete", Tone.DAMAGED),
}

# Best first: how front ends list verdicts (counts, summaries).
ORDER: tuple[Verdict, ...] = tuple(sorted(Verdict, key=lambda v: v.severity))
NEEDS_FIXING = frozenset(v for v in Verdict if v.needs_fixing)


def parse(value: str | None) -> Verdict | None:
    """The verdict a stored string names; None for None or a string no verdict has (a
    catalog written by a newer version)."""
    try:
        return None if value is None else Verdict(value)
    except ValueError:
        return None

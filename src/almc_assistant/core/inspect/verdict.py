"""What a file or a dataset is, in the words of the check's contract: verdicts and flags.

Thread contract: plain enums, safe anywhere. Nothing here does I/O.

The verdict and flag strings are a contract (``check --json``, the catalog, the GUI):
keep them.
"""

from __future__ import annotations

from enum import StrEnum


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
        """True for the two verdicts the facility's policy accepts as they are."""
        return self in _OK

    @property
    def severity(self) -> int:
        """Higher is worse; used to judge a dataset by its worst member."""
        return _SEVERITY[self]


_OK = frozenset({Verdict.NATIVE_OK, Verdict.TIFF_UNCOMPRESSED_OK, Verdict.DATASET_METADATA})
_SEVERITY = {
    Verdict.NATIVE_OK: 0,
    Verdict.DATASET_METADATA: 0,
    Verdict.TIFF_UNCOMPRESSED_OK: 1,
    Verdict.EMPTY: 2,
    Verdict.OTHER_FORMAT: 3,
    Verdict.TIFF_COMPRESSED_LOSSLESS: 4,
    Verdict.LOSSY_FORMAT: 5,
    Verdict.TIFF_COMPRESSED_LOSSY: 6,
    Verdict.UNREADABLE: 7,
    Verdict.TIFF_DAMAGED: 8,
    Verdict.NATIVE_DAMAGED: 9,
}


class Flag(StrEnum):
    """Warnings that can accompany any verdict."""

    RENDERED_SNAPSHOT = "8bit-rgb-or-palette"
    REDUCED_BIT_DEPTH = "8bit-from-higher-bit-depth"
    ND2_LOSSY = "nd2-lossy-compression"
    MIXED_COMPRESSION = "mixed-compression"
    DATASET_MEMBER = "dataset-member"
    # Added from the red-flag list (DOMAIN.md 4): thresholded or processed data.
    BILEVEL = "1bit-thresholded"
    FLOAT_PROCESSED = "32bit-float"
    FLOAT16 = "16bit-float"
    FLOAT64 = "64bit-float"
    # Added (issue 16): a native format recognised but whose structure is not walked, so
    # completeness is unknown; and native files whose pixels were stored lossily (CZI
    # JPEG / JPEG XR subblocks, VSI/ETS JPEG tiles).
    STRUCTURE_NOT_CHECKED = "structure-not-checked"
    NATIVE_LOSSY = "native-lossy-compression"

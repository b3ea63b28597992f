"""Flags: warnings that may accompany any verdict of the file check.

Thread contract: plain enums, safe anywhere. Nothing here does I/O.

The flag strings are a contract (``check --json``, the catalog, the GUI): keep them.
Verdicts themselves (values, order, labels) are :mod:`almc_assistant.core.verdicts`.
"""

from __future__ import annotations

from enum import StrEnum


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

"""Verdicts for files that are not ND2 or TIFF: other vendors' native formats (each
through its structure walker), lossy or lossless image formats, other exports.

Thread contract: called from worker threads, one file per call; never modifies the file.

Native formats with a walker (CZI, LIF/LOF/LIFEXT, XLEF/XLIF, OIB and other OLE2 files,
OIR, IMS, ETS, SlideBook 7's NumPy planes) are judged complete or damaged from their
headers. Those recognised only by signature (SlideBook 6 SLD) get the
``structure-not-checked`` flag and words that say completeness is unknown. An OLE2
compound file is an Olympus OIB when its directory names the ``OibInfo.txt`` stream.
JPEG, JPEG-LS, JPEG 2000 and JPEG XL files are lossy unless their header proves lossless.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from almc_assistant.core.inspect import codestreams, wording
from almc_assistant.core.inspect.czi_check import check_czi
from almc_assistant.core.inspect.ets_check import check_ets
from almc_assistant.core.inspect.finding import Finding
from almc_assistant.core.inspect.fits_check import check_fits
from almc_assistant.core.inspect.hdf5_check import check_hdf5
from almc_assistant.core.inspect.lif_check import check_lif
from almc_assistant.core.inspect.npy_check import check_npy
from almc_assistant.core.inspect.oir_check import check_oir
from almc_assistant.core.inspect.ole2_check import check_ole2
from almc_assistant.core.inspect.signatures import Family, Sniffed
from almc_assistant.core.inspect.structure import not_checked
from almc_assistant.core.inspect.xlef_check import check_xlef
from almc_assistant.core.verdicts import Verdict

_PROBE_BYTES = 256 << 10  # enough for any JPEG's APPn segments before its frame header

_WALKERS: dict[str, Callable[[BinaryIO, int, str], Finding]] = {
    "Zeiss CZI": check_czi,
    "Leica LIF": check_lif,
    "Leica LOF": check_lif,
    "Leica LIFEXT": check_lif,
    "Olympus/Evident OIR": check_oir,
    "Imaris IMS": check_hdf5,
    "Olympus/Evident ETS (VSI pixel data)": check_ets,
    "NumPy array": check_npy,
}
_INDEX_FILES = {
    "Olympus FluoView OIF": "its images are the TIFF files in its '.oif.files' folder",
    "MetaMorph ND index": "its images are the TIFF/STK files named after it",
}


def check_by_signature(path: Path, fh: BinaryIO, size: int, sniffed: Sniffed) -> Finding:
    fmt = sniffed.format
    if sniffed.family is Family.OLE2:
        return check_ole2(fh, size)
    if sniffed.family is Family.NATIVE:
        return _native(path, fh, size, fmt)
    if sniffed.family is Family.LOSSY:
        return _codestream(fh, size, fmt)
    if fmt == "FITS image":
        return check_fits(fh, size, fmt)
    if fmt == "HDF5":  # not Imaris (or cut off before Imaris's marker): check it is whole
        found = check_hdf5(fh, size, fmt)
        if found.verdict is Verdict.NATIVE_DAMAGED:
            return found
    if sniffed.family is Family.OTHER:
        text = wording.OTHER_FORMAT.format(article=wording.article(fmt), format=fmt)
        return Finding(Verdict.OTHER_FORMAT, fmt, (text,))
    suffix = path.suffix or "(no extension)"
    return Finding(Verdict.OTHER_FORMAT, fmt, (wording.UNRECOGNISED.format(suffix=suffix),))


def _native(path: Path, fh: BinaryIO, size: int, fmt: str) -> Finding:
    walker = _WALKERS.get(fmt)
    if walker is not None:
        return walker(fh, size, fmt)
    if fmt.startswith("Leica XL"):
        return check_xlef(path, fh, size, fmt)
    if fmt in _INDEX_FILES:
        return Finding(
            Verdict.NATIVE_OK,
            fmt,
            (
                f"The index (text) of {wording.article(fmt)} {fmt} dataset: "
                f"{_INDEX_FILES[fmt]}, each checked on its own, and the dataset check "
                "confirms that they are there.",
            ),
        )
    return not_checked(fmt)


def _codestream(fh: BinaryIO, size: int, fmt: str) -> Finding:
    """JPEG, JPEG-LS, JPEG 2000, JPEG XL: lossy unless the header proves lossless."""
    probe: Callable[[bytes], bool | None] | None = None
    if fmt == "JPEG":
        probe = codestreams.jpeg_lossless
    elif fmt.startswith("JPEG 2000"):
        probe = codestreams.j2k_lossless
    elif fmt == "JPEG XL":
        probe = codestreams.jxl_lossless
    elif fmt == "WebP":
        probe = codestreams.webp_lossless
    data = b""
    if probe is not None:
        fh.seek(0)
        data = fh.read(min(size, _PROBE_BYTES))
        if fmt == "JPEG":
            fmt = {"lossless JPEG": "lossless JPEG (SOF3)", "JPEG-LS": "JPEG-LS"}.get(
                codestreams.jpeg_kind(data), fmt
            )
    lossless = probe(data) if probe is not None else False
    if lossless:
        return Finding(
            Verdict.OTHER_FORMAT,
            fmt,
            (
                f"This is {wording.article(fmt)} {fmt} image compressed without loss (its "
                "header says so): the pixel values are intact, but it is an export, not the "
                "native file or the uncompressed TIFF the facility asks for.",
            ),
        )
    reason = wording.lossy_format_reason(fmt)
    if lossless is None:
        reason = wording.LOSSY_UNPROVEN.format(format=fmt)
        if fmt.startswith("JPEG 2000") and data:
            reason += " " + wording.J2K_REVERSIBLE
    return Finding(Verdict.LOSSY_FORMAT, fmt, (reason,))

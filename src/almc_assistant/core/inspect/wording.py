"""Plain words for microscopists: why a verdict, what to do next.

Thread contract: constants and pure functions; safe from any thread.
"""

from __future__ import annotations

from almc_assistant.core.inspect.model import Flag
from almc_assistant.core.verdicts import Verdict

NEXT_STEP: dict[Verdict, str] = {
    Verdict.NATIVE_OK: "Back it up as it is: this is the original data.",
    Verdict.NATIVE_DAMAGED: (
        "Do not delete it or its source. If the acquisition is still running, wait until it "
        "has finished and check again. Otherwise copy the file again from where it came "
        "from; if no good copy exists, ask the facility staff about recovering it "
        "(the acquisition software, or for ND2 nd2's rescue tool, can often read the parts "
        "that are there)."
    ),
    Verdict.TIFF_UNCOMPRESSED_OK: "Back it up; keep the native file too if you still have it.",
    Verdict.TIFF_COMPRESSED_LOSSLESS: (
        "Keep the native file. If you need an export, export again as uncompressed TIFF "
        "(the facility's policy)."
    ),
    Verdict.TIFF_COMPRESSED_LOSSY: (
        "Do not use this file for measurements. Keep and back up the native file; if you "
        "need an export, export again as uncompressed TIFF."
    ),
    Verdict.TIFF_DAMAGED: (
        "Do not rely on this file. Export or copy it again from the native data; if it is "
        "the only copy, keep it and ask the facility staff."
    ),
    Verdict.LOSSY_FORMAT: (
        "Use it only for figures or slides. Keep and back up the native file for analysis."
    ),
    Verdict.OTHER_FORMAT: (
        "Back up the native data this was made from; this file alone is not the raw data."
    ),
    Verdict.UNREADABLE: "Check that the file exists and that you may read it, then check again.",
    Verdict.EMPTY: (
        "If an acquisition is writing this file, wait until it finishes and check again; "
        "otherwise the save or copy failed: save or copy it again."
    ),
    Verdict.DATASET_METADATA: (
        "Keep it with its dataset: copy or delete the dataset only as a whole."
    ),
}

LOSSLESS = (
    "It is compressed without loss ({codecs}): the pixel values are intact, but this is not "
    "the uncompressed export the facility asks for."
)
LOSSY = (
    "It is compressed with a lossy method ({codecs}): pixel values were changed, so it is "
    "not fit for quantitative analysis."
)
LOSSY_MAYBE = (
    "It is compressed with {codecs}, a method that can discard data; whether it did cannot "
    "be confirmed from the file, so pixel values must be assumed changed: not fit for "
    "quantitative analysis."
)
UNCOMPRESSED = "Every page ({pages}) is stored without compression: pixel values are intact."
LOSSY_FORMAT = (
    "This is a {format} image, not a TIFF or native file. {why} It is fine for figures, not "
    "for measurements."
)
_LOSSY_WHY = {
    "JPEG": "JPEG compression changes pixel values and keeps only 8 bits.",
    "GIF": "GIF keeps at most 256 colours from a palette, so intensities are lost.",
    "JPEG-LS": (
        "It was saved near-lossless (its header allows values to differ from the original)."
    ),
    "JPEG 2000": "Its header shows lossy coding (an irreversible wavelet or quantisation).",
    "JPEG 2000 codestream": (
        "Its header shows lossy coding (an irreversible wavelet or quantisation)."
    ),
    "JPEG XL": "Its header shows lossy coding (the XYB colour transform or a recompressed JPEG).",
}
J2K_REVERSIBLE = (
    "Its header shows the reversible 5/3 wavelet without quantisation: lossless only if the "
    "encoder kept every coding pass, which the header cannot show (a compression-ratio "
    "setting makes it lossy with the same header)."
)
LOSSY_UNPROVEN = (
    "This is a {format} image, not a TIFF or native file. Its compression can be lossless or "
    "lossy and its header does not prove it lossless, so pixel values must be assumed "
    "changed: fine for figures, not for measurements."
)
OTHER_FORMAT = "This is {article} {format} file: an export or document, not native microscope data."
UNRECOGNISED = (
    "The contents do not match any image or microscope format this check knows. If this "
    "should be image data (its name ends in '{suffix}'), it may be damaged or mislabelled."
)
NATIVE_DAMAGED = (
    "This {format} file is incomplete or damaged: it may still be being written, or a copy "
    "or the acquisition was interrupted."
)
NOT_CHECKED = (
    "A {format} file, recognised by its signature: a native microscope format. Whether it "
    "is complete is NOT known: this check cannot walk its internal structure, so a "
    "cut-off copy would look the same. Compare it with the original (size, or open it in "
    "the acquisition software) before relying on it."
)
DATASET_METADATA = (
    "It is metadata of the multi-file dataset '{anchor}' (not image data on its own): it "
    "belongs with that dataset and is judged with it, not as an export."
)
NPY_ALONE = (
    "A NumPy array outside a SlideBook 7 dataset: usually data saved by an analysis "
    "script, not an instrument's native file."
)


_SPELLED_AN = ("XML", "HDF5", "MP4", "OLE2", "SVG", "LSM", "NPY", "ND2")


def article(word: str) -> str:
    """'a' or 'an' before ``word`` as it is spoken (an XML, an HDF5, a PNG, a FITS...)."""
    if word[:1].upper() in "AEIOU" or word.startswith(_SPELLED_AN):
        return "an"
    return "a"


FLAG_TEXT: dict[Flag, str] = {
    Flag.RENDERED_SNAPSHOT: (
        "It is an 8-bit colour (RGB or palette) image: most likely a rendered snapshot with "
        "display colours and contrast baked in, not the raw intensities."
    ),
    Flag.REDUCED_BIT_DEPTH: (
        "It holds 8-bit data although its metadata says the instrument recorded more bits: "
        "the intensity scale was reduced when it was exported."
    ),
    Flag.ND2_LOSSY: (
        "NIS-Elements saved this ND2 with lossy compression: pixel values were changed "
        "during acquisition."
    ),
    Flag.MIXED_COMPRESSION: "Its pages are not all stored the same way ({codecs}).",
    Flag.DATASET_MEMBER: (
        "It is part of a multi-file dataset: copy or delete the dataset only as a whole."
    ),
    Flag.BILEVEL: "It is a 1-bit (black and white) image: the data were already thresholded.",
    Flag.FLOAT_PROCESSED: (
        "It holds 32-bit floating-point values: usually processed data (ratios, "
        "deconvolution, background subtraction), not the raw recording."
    ),
    Flag.FLOAT16: (
        "It holds 16-bit (half-precision) floating-point values: processed data, and half "
        "precision keeps only about 3 significant digits, so it may not hold a 12- or 16-bit "
        "camera's values exactly."
    ),
    Flag.FLOAT64: (
        "It holds 64-bit floating-point values: usually processed data (ratios, "
        "deconvolution, background subtraction), not the raw recording."
    ),
    Flag.STRUCTURE_NOT_CHECKED: (
        "Its internal structure was not checked: it is not known whether the file is complete."
    ),
    Flag.NATIVE_LOSSY: (
        "The acquisition software stored its pixels with lossy compression (JPEG-type): "
        "pixel values were changed when it was saved."
    ),
}


def lossy_format_reason(fmt: str) -> str:
    why = _LOSSY_WHY.get(fmt, "This format changes or reduces pixel values.")
    return LOSSY_FORMAT.format(format=fmt, why=why)

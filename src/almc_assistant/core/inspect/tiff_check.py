"""Judge a TIFF (or BigTIFF) from its page headers: compression, damage, red flags.

Thread contract: called from worker threads, one file per call; never modifies the file.

Every page is audited with the fast walker in ``tiff_ifd`` (DOMAIN.md 3.4). tifffile
then opens the file as a second opinion when the walker found damage (its messages are
added) or the file carries metadata tifffile interprets (ImageJ, OME, Micro-Manager,
LSM, STK): whatever it logs at ERROR (captured per thread by ``tifflog``) counts as damage,
and it names the flavour. Plain single-plane exports, the 10^5-file case, skip it: opening
with tifffile would cost two thirds of the time and the walker already checks everything
it would. Pixels are never decoded.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, BinaryIO

from almc_assistant.core.inspect import tiff_codes, tifflog, wording
from almc_assistant.core.inspect.finding import Finding
from almc_assistant.core.inspect.model import Flag
from almc_assistant.core.inspect.tiff_ifd import Layout, PageWalk, walk_pages
from almc_assistant.core.verdicts import Verdict

_PHOTOMETRIC = {0: "MINISWHITE", 1: "MINISBLACK", 2: "RGB", 3: "PALETTE", 4: "MASK",
                5: "SEPARATED", 6: "YCBCR", 8: "CIELAB", 32803: "CFA"}  # fmt: skip
_COLOUR = frozenset({2, 5, 6, 8})
_NATIVE_TIFF_TAGS = {34412: "Zeiss LSM", 33628: "MetaMorph STK"}
_HARMONY_TAG, _MM_TAG = 65500, 51123
_FLOAT_FLAGS = {16: Flag.FLOAT16, 64: Flag.FLOAT64}  # 24- and 32-bit: FLOAT_PROCESSED


def check_tiff(fh: BinaryIO, size: int, fmt: str, head: bytes = b"") -> Finding:
    walk = walk_pages(fh, size, head)
    details: dict[str, Any] = {
        "pages": walk.pages,
        "bigtiff": walk.bigtiff,
        "byteorder": "little" if walk.byteorder == "<" else "big",
        "shape": list(walk.first_shape),
        "tiled": walk.tiled,
        "compression_per_page": [
            {"compression": tiff_codes.name(c), "code": c, "first_page": a, "last_page": b}
            for c, a, b in walk.compression_runs
        ],
        "layouts": [_layout_dict(layout, n) for layout, n in walk.layouts.items()],
    }
    text = walk.first_page_text
    if text.get(305):
        details["software"] = text[305][:200]
    problems = list(walk.problems)
    if problems or _has_rich_metadata(walk):
        problems += _tifffile_view(fh, details)
    problems += _declared_pages(walk, text.get(270, ""), size, details)
    native = next((n for t, n in _NATIVE_TIFF_TAGS.items() if t in walk.first_page_tags), None)
    if native:
        fmt = native
    flags = _flags(walk, text)
    if problems:
        verdict = Verdict.NATIVE_DAMAGED if native else Verdict.TIFF_DAMAGED
        reasons = [
            "The file is damaged or incomplete: it may have been cut off while being "
            "written or copied.",
            *problems[:5],
        ]
        if len(problems) > 5:
            reasons.append(f"... and {len(problems) - 5} more problems.")
        return Finding(verdict, fmt, tuple(reasons), flags, details)
    verdict, reasons = _compression_verdict(fh, walk, details)
    if native:
        verdict = Verdict.NATIVE_OK
        reasons = [
            f"A complete {native} file (a native TIFF-based format): every page header and "
            f"all image data of its {walk.pages:,} pages lie inside the file.",
            *reasons[1:],
        ]
    reasons += [_flag_text(f, walk) for f in sorted(flags)]
    return Finding(verdict, fmt, tuple(reasons), flags, details)


def _layout_dict(layout: Layout, pages: int) -> dict[str, Any]:
    return {
        "pages": pages,
        "photometric": _PHOTOMETRIC.get(layout.photometric, str(layout.photometric))
        if layout.photometric is not None
        else None,
        "bits_per_sample": layout.bits,
        "samples_per_pixel": layout.samples,
        "dtype": _dtype(layout),
        "planar": "separate" if layout.planar == 2 else "contig",
    }


def _dtype(layout: Layout) -> str:
    if layout.bits == 1:
        return "bool"
    kind = {1: "uint", 2: "int", 3: "float", 6: "complex"}.get(layout.sampleformat, "uint")
    return f"{kind}{layout.bits}"


def _compression_verdict(
    fh: BinaryIO, walk: PageWalk, details: dict[str, Any]
) -> tuple[Verdict, list[str]]:
    kinds: dict[tiff_codes.Kind, list[str]] = {}
    provably_lossy = False
    for (code, _, _), (offset, count) in zip(walk.compression_runs, walk.run_samples, strict=False):
        sample = b""
        if tiff_codes.needs_probe(code) and count:
            fh.seek(offset)
            sample = fh.read(min(count, 65536))
        kind, proved = tiff_codes.classify(code, sample)
        provably_lossy |= kind is tiff_codes.Kind.LOSSY and proved
        label = tiff_codes.probe_label(code, sample)
        if tiff_codes.needs_probe(code):
            label += f" ({kind.value})"
        if label not in kinds.setdefault(kind, []):
            kinds[kind].append(label)
    details["compression_kinds"] = {k.value: v for k, v in kinds.items()}
    if tiff_codes.Kind.LOSSY in kinds:
        text = wording.LOSSY if provably_lossy else wording.LOSSY_MAYBE
        return Verdict.TIFF_COMPRESSED_LOSSY, [
            text.format(codecs=", ".join(kinds[tiff_codes.Kind.LOSSY]))
        ]
    if tiff_codes.Kind.LOSSLESS in kinds:
        return Verdict.TIFF_COMPRESSED_LOSSLESS, [
            wording.LOSSLESS.format(codecs=", ".join(kinds[tiff_codes.Kind.LOSSLESS]))
        ]
    return Verdict.TIFF_UNCOMPRESSED_OK, [wording.UNCOMPRESSED.format(pages=f"{walk.pages:,}")]


def _has_rich_metadata(walk: PageWalk) -> bool:
    """Metadata tifffile interprets better than the walker (ImageJ, OME, MM, LSM, STK).

    tifffile's own "shaped" JSON description is not among them: the walker reads its
    pages just as well, and every file tifffile writes carries one.
    """
    description = walk.first_page_text.get(270, "")
    return (
        description.startswith("ImageJ=")
        or "<OME" in description[:2000]
        or bool(walk.first_page_tags & {_MM_TAG, *_NATIVE_TIFF_TAGS})
    )


def _tifffile_view(fh: BinaryIO, details: dict[str, Any]) -> list[str]:
    """Open with tifffile (header and first page only); return its damage reports."""
    import tifffile

    problems: list[str] = []
    with tifflog.capture() as records:
        try:
            fh.seek(0)
            with tifffile.TiffFile(fh) as tif:
                flavours = [
                    name
                    for name in ("imagej", "ome", "shaped", "micromanager", "mmstack",
                                 "ndtiff", "lsm", "stk", "svs", "ndpi", "philips")
                    if getattr(tif, f"is_{name}", False)
                ]  # fmt: skip
                details["flavour"] = flavours
                page = tif.pages.first
                details["dtype"] = str(page.dtype) if page.dtype is not None else None
                if tif.is_imagej and tif.imagej_metadata:
                    details["imagej"] = {
                        k: v
                        for k, v in tif.imagej_metadata.items()
                        if isinstance(v, int | float | str | bool)
                    }
        except Exception as exc:  # tifffile raises many types on broken files
            problems.append(f"The TIFF reader could not read it: {exc}")
    messages = [f"{r.levelname}: {r.getMessage()}"[:300] for r in records]
    if messages:
        details["reader_messages"] = messages
    problems += [
        f"The TIFF reader reported: {r.getMessage()[:200]}"
        for r in records
        if r.levelno >= logging.ERROR
    ]
    return problems


def _declared_pages(
    walk: PageWalk, description: str, size: int, details: dict[str, Any]
) -> list[str]:
    """Compare the page count with what ImageJ metadata declares (DOMAIN.md 3.3)."""
    if not description.startswith("ImageJ="):
        return []
    match = re.search(r"^images=(\d+)", description, re.MULTILINE)
    declared = int(match.group(1)) if match else 1
    details["declared_images"] = declared
    if declared <= walk.pages:
        return []
    if walk.pages == 1 and walk.first_data_offset is not None:
        # ImageJ hyperstacks > 4 GB: one page, the planes follow contiguously
        (layout,) = walk.layouts
        height, width = walk.first_shape
        plane = height * width * layout.samples * max(layout.bits, 8) // 8
        end = walk.first_data_offset + declared * plane
        if end <= size:
            return []
        return [
            f"ImageJ says it holds {declared:,} images but the file ends after "
            f"{max(0, size - walk.first_data_offset) // max(plane, 1):,} of them."
        ]
    return [f"ImageJ says it holds {declared:,} images but only {walk.pages:,} pages exist."]


def _flags(walk: PageWalk, text: dict[int, str]) -> frozenset[Flag]:
    flags: set[Flag] = set()
    for layout in walk.layouts:
        if layout.bits == 8 and (
            layout.photometric == 3 or layout.photometric in _COLOUR or layout.samples >= 3
        ):
            flags.add(Flag.RENDERED_SNAPSHOT)
        if layout.bits == 1:
            flags.add(Flag.BILEVEL)
        if layout.sampleformat == 3:
            flags.add(_FLOAT_FLAGS.get(layout.bits, Flag.FLOAT_PROCESSED))
        if layout.bits == 8 and _instrument_bits(walk, text) > 8:
            flags.add(Flag.REDUCED_BIT_DEPTH)
    if len(walk.codes()) > 1:
        flags.add(Flag.MIXED_COMPRESSION)
    return frozenset(flags)


def _instrument_bits(walk: PageWalk, text: dict[int, str]) -> int:
    """The bit depth the instrument recorded, when the metadata says so (else 0)."""
    match = re.search(r'SignificantBits="(\d+)"', text.get(270, ""))
    if match:
        return int(match.group(1))
    if _MM_TAG in text:
        try:
            value = json.loads(text[_MM_TAG]).get("BitDepth", 0)
            return int(value)
        except (ValueError, AttributeError, TypeError):
            return 0
    if _HARMONY_TAG in walk.first_page_tags:
        return 16  # Opera Phenix / Operetta cameras record 16-bit planes
    return 0


def _flag_text(flag: Flag, walk: PageWalk) -> str:
    codecs = ", ".join(tiff_codes.name(c) for c in sorted(walk.codes()))
    return wording.FLAG_TEXT[flag].format(codecs=codecs)

"""A session folder as users have it: a 300-tile Opera Phenix plate with its metadata, an
ND2 series, a loose ND2 and a damaged export (for the file lists' tests and screenshots).

Real files made here: TIFFs by tifffile, Harmony's index XML in its documented layout
(DOMAIN.md 1.3). No ND2 writer exists, so the ND2s are copies of real NIS-Elements files
when a folder of them is given (the shared corpus), else files that start like an ND2
and stop there (the check calls them damaged: an acquisition cut off).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import tifffile

NS = "http://www.perkinelmer.com/PEHH/HarmonyV6"
TILE = np.arange(16 * 16, dtype=np.uint16).reshape(16, 16)
ND2_START = bytes.fromhex("dacebe0a") + b"\0" * 12 + b"ND2 FILE SIGNATURE CHUNK NAME01!Ver3.0"


def plate(root: Path, wells: int = 25, fields: int = 3, planes: int = 4) -> Path:
    """``root``/Images/Index.idx.xml + wells x fields x planes TIFFs, FFC_Profile/ and
    Assaylayout/ beside Images/ (300 tiles by default); returns the index."""
    images = root / "Images"
    images.mkdir(parents=True)
    entries = []
    for w in range(wells):
        for f in range(1, fields + 1):
            for p in range(1, planes + 1):
                name = f"r{w // 5 + 1:02d}c{w % 5 + 1:02d}f{f:02d}p{p:02d}-ch1sk1fk1fl1.tiff"
                tifffile.imwrite(images / name, TILE)
                entries.append(f"<Image><URL>{name}</URL></Image>")
    index = images / "Index.idx.xml"
    index.write_text(
        f'<?xml version="1.0" encoding="utf-8"?><EvaluationInputData xmlns="{NS}">'
        f"<User>someone</User><Images>{''.join(entries)}</Images></EvaluationInputData>"
    )
    for folder, name, text in (
        ("FFC_Profile", "Metadata_FFC_Profile.xml", "<FFC/>"),
        ("Assaylayout", "layout.xml", "<AssayLayout/>"),
    ):
        (root / folder).mkdir()
        (root / folder / name).write_text(text)
    return index


def nd2(path: Path, real: Path | None = None) -> Path:
    """A real ND2 copied from ``real`` (a corpus file), else a cut-off one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if real is not None:
        shutil.copyfile(real, path)
    else:
        path.write_bytes(ND2_START)
    return path


def damaged_export(path: Path) -> Path:
    """A Deflate-compressed TIFF export cut in the middle of its pixels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, np.tile(TILE, (8, 8)), compression="zlib")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def session(root: Path, corpus: Path | None = None) -> dict[str, Path]:
    """The whole session folder; ``corpus`` (the shared corpus) gives real ND2s."""
    files = (corpus / "files") if corpus else None
    out = {"plate": plate(root / "plate1")}
    out["nd2"] = nd2(root / "overview.nd2", files / "cluster.nd2" if files else None)
    for i in (1, 2):
        real = files / "example-timelapse.nd2" if files else None
        out[f"run{i}"] = nd2(root / "timelapse" / f"run{i:03d}.nd2", real)
    out["export"] = damaged_export(root / "exports" / "max_projection.tif")
    return out

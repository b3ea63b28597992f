"""Make the Windows ``.ico`` and macOS ``.icns`` app icons from the SVG app icon.

    python packaging/make_icons.py [--svg src/almc_assistant/assets/icons/app.svg]
                                   [--out packaging/icons]

Renders the SVG with Qt (QSvgRenderer into a transparent QImage, antialiased) at each
size and writes both containers by hand: each entry is a PNG image, which Windows
(Vista and later) and macOS (10.7 and later) read in ICO and ICNS files.

- ``app.ico``: 16, 20, 24, 32, 40, 48, 64 and 256 px (100-250 % display scaling of the
  16/32/48 px sizes Windows asks for; 256 px for large Explorer views).
- ``app.icns``: 16-1024 px, with the @2x (Retina) variants.

Run it after changing the app icon and commit the results (``packaging/icons``); the
PyInstaller spec uses them. A build tool: not part of the installed app.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SVG = ROOT / "src" / "almc_assistant" / "assets" / "icons" / "app.svg"
DEFAULT_OUT = ROOT / "packaging" / "icons"

ICO_SIZES = (16, 20, 24, 32, 40, 48, 64, 256)
# ICNS element types with PNG data, and their pixel sizes (Apple's icns format: "icp4"
# 16, "icp5" 32, "icp6" 64, "ic07" 128, "ic08" 256, "ic09" 512, "ic10" 1024 = 512@2x,
# "ic11" 32 = 16@2x, "ic12" 64 = 32@2x, "ic13" 256 = 128@2x, "ic14" 512 = 256@2x).
ICNS_TYPES: Mapping[bytes, int] = {
    b"icp4": 16,
    b"icp5": 32,
    b"icp6": 64,
    b"ic07": 128,
    b"ic08": 256,
    b"ic09": 512,
    b"ic10": 1024,
    b"ic11": 32,
    b"ic12": 64,
    b"ic13": 256,
    b"ic14": 512,
}


def render_pngs(svg: Path, sizes: Iterable[int]) -> dict[int, bytes]:
    """The SVG rendered at each size, as PNG bytes."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"error: {svg} is not an SVG file Qt can render")
    out: dict[int, bytes] = {}
    for size in sorted(set(sizes)):
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        if not image.save(buffer, "PNG"):  # (PySide6 6.12 wants str here, despite its stubs)
            raise SystemExit(f"error: could not encode the {size} px image as PNG")
        out[size] = bytes(data.data())
    return out


def ico_bytes(pngs: Mapping[int, bytes]) -> bytes:
    """An ICO file: ICONDIR, one ICONDIRENTRY per image (256 is written as 0), then the
    PNG images."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = [], []
    for size in sizes:
        data = pngs[size]
        side = 0 if size >= 256 else size
        entries.append(struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset))
        blobs.append(data)
        offset += len(data)
    return header + b"".join(entries) + b"".join(blobs)


def icns_bytes(pngs: Mapping[int, bytes]) -> bytes:
    """An ICNS file: the "icns" header, then one (type, length, PNG) element per type."""
    body = b"".join(
        kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size]
        for kind, size in ICNS_TYPES.items()
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def make_icons(svg: Path, out: Path) -> tuple[Path, Path]:
    """Write ``app.ico`` and ``app.icns`` into ``out``; returns their paths."""
    pngs = render_pngs(svg, (*ICO_SIZES, *ICNS_TYPES.values()))
    out.mkdir(parents=True, exist_ok=True)
    ico, icns = out / "app.ico", out / "app.icns"
    ico.write_bytes(ico_bytes({s: pngs[s] for s in ICO_SIZES}))
    icns.write_bytes(icns_bytes(pngs))
    return ico, icns


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--svg", type=Path, default=DEFAULT_SVG, help="the SVG app icon")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write")
    args = parser.parse_args(argv)
    if not args.svg.is_file():
        parser.error(f"{args.svg} does not exist; give the app icon with --svg")
    for path in make_icons(args.svg, args.out):
        print(f"{path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

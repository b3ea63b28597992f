"""packaging/make_icons.py: the .ico and .icns parse, and hold every size, read back by
independent readers (Qt's ico and icns image plugins; icoutils when installed)."""

from __future__ import annotations

import importlib.util
import shutil
import struct
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from PySide6.QtCore import QByteArray
from PySide6.QtGui import QImage, QImageReader

ROOT = Path(__file__).resolve().parents[2]
ICONS = ROOT / "packaging" / "icons"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_icons", ROOT / "packaging" / "make_icons.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_icons = _load()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("icons")
    made: tuple[Path, Path] = make_icons.make_icons(make_icons.DEFAULT_SVG, out)
    return made


def _ico_directory(data: bytes) -> list[tuple[int, bytes]]:
    reserved, kind, count = struct.unpack_from("<HHH", data, 0)
    assert (reserved, kind) == (0, 1)
    out = []
    for i in range(count):
        w, h, _, _, planes, bpp, size, offset = struct.unpack_from("<BBBBHHII", data, 6 + 16 * i)
        assert w == h and planes == 1 and bpp == 32
        out.append((w or 256, data[offset : offset + size]))
    return out


def _icns_elements(data: bytes) -> dict[bytes, bytes]:
    assert data[:4] == b"icns"
    assert struct.unpack_from(">I", data, 4)[0] == len(data)
    out, pos = {}, 8
    while pos < len(data):
        kind, length = data[pos : pos + 4], struct.unpack_from(">I", data, pos + 4)[0]
        out[kind] = data[pos + 8 : pos + length]
        pos += length
    assert pos == len(data)
    return out


def _image_sizes(path: Path, fmt: bytes) -> set[int]:
    reader = QImageReader(str(path), fmt)
    sizes = set()
    for i in range(reader.imageCount()):
        assert reader.jumpToImage(i)
        image = reader.read()
        assert not image.isNull(), reader.errorString()
        assert image.width() == image.height()
        sizes.add(image.width())
    return sizes


@pytest.mark.parametrize("which", ["generated", "committed"])
def test_ico_holds_every_size_as_a_png(generated: tuple[Path, Path], which: str) -> None:
    ico = generated[0] if which == "generated" else ICONS / "app.ico"
    entries = _ico_directory(ico.read_bytes())
    assert [size for size, _ in entries] == list(make_icons.ICO_SIZES)
    for size, png in entries:
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        image = QImage.fromData(png)  # the format is read from the data
        assert (image.width(), image.height()) == (size, size)
        assert image.hasAlphaChannel()
        corner, centre = image.pixelColor(0, 0), image.pixelColor(size // 2, size // 4)
        assert corner.alpha() == 0  # transparent around the shield
        assert centre.alpha() == 255 and centre.blue() > 200  # the blue shield
    assert _image_sizes(ico, b"ico") == set(make_icons.ICO_SIZES)


@pytest.mark.parametrize("which", ["generated", "committed"])
def test_icns_holds_every_type_at_its_size(generated: tuple[Path, Path], which: str) -> None:
    icns = generated[1] if which == "generated" else ICONS / "app.icns"
    elements = _icns_elements(icns.read_bytes())
    assert set(elements) == set(make_icons.ICNS_TYPES)
    for kind, png in elements.items():
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        image = QImage.fromData(png)  # the format is read from the data
        size = make_icons.ICNS_TYPES[kind]
        assert (image.width(), image.height()) == (size, size), kind
    assert QByteArray(b"icns") in QImageReader.supportedImageFormats()
    assert {16, 32, 64, 128, 256, 512, 1024} <= _image_sizes(icns, b"icns")


@pytest.mark.skipif(shutil.which("icotool") is None, reason="icoutils not installed")
def test_icotool_lists_every_size(generated: tuple[Path, Path]) -> None:
    listing = subprocess.run(
        ["icotool", "--list", str(generated[0])], capture_output=True, text=True, check=True
    ).stdout
    widths = [int(line.split("--width=")[1].split()[0]) for line in listing.splitlines()]
    assert widths == list(make_icons.ICO_SIZES)


def test_a_missing_svg_is_a_clear_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        make_icons.main(["--svg", str(tmp_path / "nope.svg"), "--out", str(tmp_path)])
    assert info.value.code == 2
    assert "nope.svg does not exist" in capsys.readouterr().err


def test_a_file_that_is_not_svg_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.svg"
    bad.write_text("not svg at all", encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        make_icons.make_icons(bad, tmp_path / "out")
    assert "bad.svg is not an SVG file" in str(info.value.code)
    assert not (tmp_path / "out" / "app.ico").exists()

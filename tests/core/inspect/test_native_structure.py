"""Other vendors' native files are judged complete or damaged from their structure.

Real files where public (a ZEN CZI, HDF5-library IMS files), generated ones otherwise
(``native_samples``); each is also cut off at several points and has its header zeroed,
and none of those may pass as ``native-ok``.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest
import tifffile

from almc_assistant.core.inspect import Flag, Verdict, check_file, check_paths
from tests.core.inspect import native_samples
from tests.core.inspect.helpers import fingerprint

REAL = Path(__file__).parent / "data" / "real"


def real_compound_as_oib() -> bytes:
    """Microsoft Word's compound file (olefile's test file) with one stream renamed
    ``OibInfo.txt``: a real sector layout, FAT and directory, judged as an OIB."""
    data = bytearray((REAL / "test-ole-file.doc").read_bytes())
    at = data.find("WordDocument".encode("utf-16-le"))
    assert at > 0 and at % 128 == 0
    name = "OibInfo.txt\0".encode("utf-16-le")
    data[at : at + 64] = name.ljust(64, b"\0")
    data[at + 0x40 : at + 0x42] = len(name).to_bytes(2, "little")
    return bytes(data)


SAMPLES: dict[str, Callable[[], bytes]] = {
    "sample.czi": native_samples.czi,
    "dir-last.czi": lambda: native_samples.czi(directory_first=False),
    "real.czi": lambda: (REAL / "s_1_t_1_c_1_z_1.czi").read_bytes(),
    "v2.lif": native_samples.lif,
    "v1.lif": lambda: native_samples.lif(version=1),
    "sample.lof": native_samples.lof,
    "sample.oib": native_samples.ole2,
    "real-compound.oib": real_compound_as_oib,
    "v2.ims": native_samples.hdf5,
    "real-v0.ims": lambda: (REAL / "hdf5-v0.ims").read_bytes(),
    "real-v3.ims": lambda: (REAL / "hdf5-v3.ims").read_bytes(),
    # Leica LAS X (Bio-Formats' sample, CC BY 4.0) and Olympus FV1000 (oiffile's test
    # file, kept gzipped: 1.3 MB unpacked) files, as their software wrote them
    "real-lasx.lif": lambda: (REAL / "PR2729_frameOrderCombinedScanTypes.lif").read_bytes(),
    "real-fv1000.oib": lambda: gzip.decompress((REAL / "test.oib.gz").read_bytes()),
    "sample.oir": native_samples.oir,
    "frame_t.ets": native_samples.ets,
    "sample.lsm": native_samples.lsm,  # through the TIFF page walker
}
CUTS = (0.02, 0.25, 0.5, 0.75, 0.98)


@pytest.fixture(params=sorted(SAMPLES))
def sample(request: pytest.FixtureRequest) -> tuple[str, bytes]:
    name: str = request.param
    return name, SAMPLES[name]()


def test_complete_file_is_native_ok_with_its_structure_checked(
    tmp_path: Path, sample: tuple[str, bytes]
) -> None:
    name, data = sample
    path = tmp_path / name
    path.write_bytes(data)
    before = fingerprint(path)

    result = check_file(path)

    assert result.verdict == Verdict.NATIVE_OK, result.reasons
    assert Flag.STRUCTURE_NOT_CHECKED not in result.flags
    assert result.reasons[0].startswith("A complete")
    assert fingerprint(path) == before


@pytest.mark.parametrize("fraction", CUTS)
def test_cut_off_file_is_damaged(
    tmp_path: Path, sample: tuple[str, bytes], fraction: float
) -> None:
    name, data = sample
    path = tmp_path / name
    path.write_bytes(data[: max(64, int(len(data) * fraction))])

    result = check_file(path)

    # an LSM cut inside its first page header no longer shows the LSM tag: a damaged TIFF
    damaged = (
        {Verdict.NATIVE_DAMAGED, Verdict.TIFF_DAMAGED}
        if name.endswith(".lsm")
        else {Verdict.NATIVE_DAMAGED}
    )
    assert result.verdict in damaged, result.reasons
    assert "damaged" in result.reasons[0] and "incomplete" in result.reasons[0]
    assert len(result.reasons) >= 2  # and where: which part lies beyond the end


def test_one_byte_short_is_damaged(tmp_path: Path, sample: tuple[str, bytes]) -> None:
    name, data = sample
    path = tmp_path / name
    path.write_bytes(data[:-1])

    assert check_file(path).verdict == Verdict.NATIVE_DAMAGED


def test_zeroed_header_is_never_native_ok(tmp_path: Path, sample: tuple[str, bytes]) -> None:
    name, data = sample
    path = tmp_path / name
    path.write_bytes(bytes(512) + data[512:])

    result = check_file(path)

    assert result.verdict != Verdict.NATIVE_OK
    assert result.verdict in (Verdict.NATIVE_DAMAGED, Verdict.OTHER_FORMAT), result.reasons


@pytest.mark.parametrize("name", ["real.czi", "v2.lif", "sample.oib"])
def test_zeroed_header_of_a_known_layout_is_named_damaged(tmp_path: Path, name: str) -> None:
    """Structures further in still name the format: the walker reports the damage."""
    path = tmp_path / name
    path.write_bytes(bytes(64) + SAMPLES[name]()[64:])

    result = check_file(path)

    assert result.verdict == Verdict.NATIVE_DAMAGED, result.reasons


def test_half_length_czi_names_the_subblocks_beyond_the_end(tmp_path: Path) -> None:
    """The issue's case: a CZI cut to half its length with subblocks beyond its end."""
    path = tmp_path / "half.czi"
    path.write_bytes(native_samples.czi(subblocks=20)[: len(native_samples.czi(20)) // 2])

    result = check_file(path)

    assert result.verdict == Verdict.NATIVE_DAMAGED
    assert any("image subblocks lie beyond the end of the file" in r for r in result.reasons)


def test_lif_cut_inside_its_last_block_says_by_how_much(tmp_path: Path) -> None:
    data = native_samples.lif(blocks=5)
    path = tmp_path / "cut.lif"
    path.write_bytes(data[:-100])

    result = check_file(path)

    assert result.verdict == Verdict.NATIVE_DAMAGED
    assert any("runs 100 bytes past the end" in r for r in result.reasons)


def test_lif_missing_whole_blocks_is_damaged(tmp_path: Path) -> None:
    """Cut exactly between two blocks: the chain looks whole, the XML names the lost ones."""
    data = native_samples.lif(blocks=3)
    block = 4 + 4 + 1 + 8 + 1 + 4 + len("MemBlock_2") * 2 + 256
    path = tmp_path / "cut.lif"
    path.write_bytes(data[:-block])

    result = check_file(path)

    assert result.verdict == Verdict.NATIVE_DAMAGED
    assert any("MemBlock_2" in r for r in result.reasons)


def test_hdf5_still_open_for_writing_is_damaged(tmp_path: Path) -> None:
    data = bytearray((REAL / "hdf5-v3.ims").read_bytes())
    data[11] |= 0x01  # superblock v3: "file is open for writing"
    path = tmp_path / "writing.ims"
    path.write_bytes(bytes(data))

    result = check_file(path)

    assert result.verdict == Verdict.NATIVE_DAMAGED
    assert any("open for writing" in r for r in result.reasons)


def test_czi_with_jpeg_subblocks_is_flagged_lossy(tmp_path: Path) -> None:
    path = tmp_path / "jpeg.czi"
    path.write_bytes(native_samples.czi(compression=1))

    result = check_file(path)

    assert result.verdict == Verdict.NATIVE_OK
    assert Flag.NATIVE_LOSSY in result.flags
    assert any("JPEG" in r for r in result.reasons)


def test_ets_with_jpeg_tiles_is_flagged_lossy(tmp_path: Path) -> None:
    path = tmp_path / "frame_t.ets"
    path.write_bytes(native_samples.ets(compression=2))

    assert Flag.NATIVE_LOSSY in check_file(path).flags


def test_recognised_only_format_says_completeness_is_unknown(tmp_path: Path) -> None:
    path = tmp_path / "slide.sld"
    path.write_bytes(native_samples.sld())

    result = check_file(path)
    report = check_paths([path])

    assert result.verdict == Verdict.NATIVE_OK
    assert Flag.STRUCTURE_NOT_CHECKED in result.flags
    assert "NOT known" in result.reasons[0]
    assert not any("all good" in r.lower() or r.startswith("A complete") for r in result.reasons)
    assert not report.all_ok


def test_office_document_is_not_native_even_when_complete(tmp_path: Path) -> None:
    path = tmp_path / "slides.ppt"
    path.write_bytes(native_samples.ole2(("PowerPoint Document", "Pictures")))

    result = check_file(path)

    assert (result.verdict, result.format) == (Verdict.OTHER_FORMAT, "PowerPoint document")


def test_sldy_numpy_planes_are_checked_against_their_header(tmp_path: Path) -> None:
    (tmp_path / "run.sldy").write_text("ImageRecord: {}\n")
    planes = tmp_path / "run.dir" / "1.imgdir"
    planes.mkdir(parents=True)
    (planes / "ImageData_Ch0_TP0000000.npy").write_bytes(native_samples.npy())
    cut = native_samples.npy()
    (planes / "ImageData_Ch1_TP0000000.npy").write_bytes(cut[: len(cut) - 10])

    report = check_paths([tmp_path])

    verdicts = {c.path.name: c.verdict for c in report.files}
    assert verdicts["ImageData_Ch0_TP0000000.npy"] == Verdict.NATIVE_OK
    assert verdicts["ImageData_Ch1_TP0000000.npy"] == Verdict.NATIVE_DAMAGED
    assert verdicts["run.sldy"] == Verdict.DATASET_METADATA
    (dataset,) = report.datasets
    assert dataset.verdict == Verdict.NATIVE_DAMAGED


def test_numpy_array_outside_a_dataset_is_not_native(tmp_path: Path) -> None:
    path = tmp_path / "result.npy"
    path.write_bytes(native_samples.npy())

    assert check_file(path).verdict == Verdict.OTHER_FORMAT


def test_xlef_with_all_its_files_is_complete_and_without_them_damaged(tmp_path: Path) -> None:
    (tmp_path / "image.lof").write_bytes(native_samples.lof())
    xlef = tmp_path / "project.xlef"
    xlef.write_bytes(native_samples.xlef(("image.lof",)))
    broken = tmp_path / "broken.xlef"
    broken.write_bytes(native_samples.xlef(("image.lof", "gone.lof")))

    assert check_file(xlef).verdict == Verdict.NATIVE_OK
    result = check_file(broken)
    assert result.verdict == Verdict.NATIVE_DAMAGED
    assert any("gone.lof" in r for r in result.reasons)


def test_vsi_with_a_cut_off_ets_is_a_damaged_dataset(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "slide.vsi", native_samples.npy_plane())
    stack = tmp_path / "_slide_" / "stack1"
    stack.mkdir(parents=True)
    ets = native_samples.ets(tiles=8)
    (stack / "frame_t.ets").write_bytes(ets[: len(ets) * 3 // 4])

    report = check_paths([tmp_path / "slide.vsi"])

    (dataset,) = report.datasets
    assert dataset.verdict == Verdict.NATIVE_DAMAGED
    assert "frame_t.ets" in dataset.reasons[0]


def test_ole2_header_claiming_more_fat_than_the_file_holds_is_damaged(tmp_path: Path) -> None:
    data = bytearray(native_samples.ole2())
    data[0x2C:0x30] = (10**6).to_bytes(4, "little")  # FAT sectors
    path = tmp_path / "corrupt.oib"
    path.write_bytes(bytes(data))

    result = check_file(path)

    assert result.verdict == Verdict.NATIVE_DAMAGED
    assert any("more than a file of this size" in r for r in result.reasons)


def test_old_imaris_is_recognised_but_not_called_complete(tmp_path: Path) -> None:
    path = tmp_path / "old.ims"
    path.write_bytes((5021964).to_bytes(4, "little") + bytes(1000))

    result = check_file(path)

    assert (result.verdict, result.format) == (Verdict.NATIVE_OK, "Imaris IMS (before 5.5)")
    assert Flag.STRUCTURE_NOT_CHECKED in result.flags


def test_real_office_document_is_walked_and_named(tmp_path: Path) -> None:
    result = check_file(REAL / "test-ole-file.doc")

    assert (result.verdict, result.format) == (Verdict.OTHER_FORMAT, "Word document")
    assert result.details["streams"] == 5


def test_czi_still_being_written_is_damaged(tmp_path: Path) -> None:
    data = bytearray((REAL / "s_1_t_1_c_1_z_1.czi").read_bytes())
    data[32 + 68 : 32 + 72] = (1).to_bytes(4, "little")  # UpdatePending
    path = tmp_path / "writing.czi"
    path.write_bytes(bytes(data))

    result = check_file(path)

    assert result.verdict == Verdict.NATIVE_DAMAGED
    assert any("still being written" in r for r in result.reasons)


def test_real_lif_and_oib_are_walked_whole() -> None:
    """The vendored real files: the OIB is oiffile's byte for byte, and both are walked
    to the end of their structure (every memory block, every stream)."""
    import hashlib

    oib = SAMPLES["real-fv1000.oib"]()
    assert hashlib.sha256(oib).hexdigest() == (
        "70c8e6637cd1c2c7beb10b94bd5a3359566d00625d4e2ed16e361ee1e1e968c9"
    )
    lif = check_file(REAL / "PR2729_frameOrderCombinedScanTypes.lif")
    assert lif.verdict == Verdict.NATIVE_OK and lif.format == "Leica LIF"
    assert "all 2 memory blocks" in lif.reasons[0]

"""Multi-file datasets are grouped, judged as one, and partial selections are warned about."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from almc_assistant.core.events import ListSink
from almc_assistant.core.inspect import (
    CheckFinished,
    CheckStarted,
    FileChecked,
    Flag,
    Verdict,
    check_file,
    check_paths,
    dataset_of,
    partial_datasets,
)
from tests.core.inspect import native_samples

PLANE = np.arange(32 * 32, dtype=np.uint16).reshape(32, 32)
NS = "http://www.perkinelmer.com/PEHH/HarmonyV6"


def harmony_export(root: Path, planes: int = 4, index: str = "Index.idx.xml") -> Path:
    """An Opera Phenix / Harmony export: Images/Index.idx.xml + one TIFF per plane."""
    images = root / "Images"
    images.mkdir(parents=True)
    entries = []
    for p in range(1, planes + 1):
        name = f"r01c01f01p{p:02d}-ch1sk1fk1fl1.tiff"
        tifffile.imwrite(images / name, PLANE)
        entries.append(f"<Image><id>1{p}</id><URL>{name}</URL><PlaneID>{p}</PlaneID></Image>")
    (images / index).write_text(
        f'<?xml version="1.0" encoding="utf-8"?><EvaluationInputData xmlns="{NS}">'
        f"<User>someone</User><Images>{''.join(entries)}</Images></EvaluationInputData>"
    )
    (root / "FFC_Profile").mkdir()
    (root / "FFC_Profile" / "profile.xml").write_text("<FFC/>")
    return images / index


def test_complete_harmony_export_is_one_good_dataset(tmp_path: Path) -> None:
    index = harmony_export(tmp_path / "plate1")
    sink = ListSink()

    report = check_paths([tmp_path / "plate1"], sink=sink)

    (dataset,) = report.datasets
    assert dataset.verdict == Verdict.TIFF_UNCOMPRESSED_OK, dataset.reasons
    assert dataset.id == str(index)
    assert dataset.missing == ()
    assert len(dataset.members) == 6  # index + 4 planes + FFC profile
    assert all(c.dataset == str(index) for c in report.files)
    assert all(Flag.DATASET_MEMBER in c.flags for c in report.files)
    assert report.all_ok  # the XML files do not spoil a complete uncompressed export
    assert sink.of_type(CheckStarted)[0].total == 6
    assert len(sink.of_type(FileChecked)) == 6
    assert sink.of_type(CheckFinished)[0].ok is True


def test_missing_plane_makes_the_export_damaged(tmp_path: Path) -> None:
    index = harmony_export(tmp_path / "plate1")
    gone = index.parent / "r01c01f01p03-ch1sk1fk1fl1.tiff"
    gone.unlink()

    report = check_paths([tmp_path])

    (dataset,) = report.datasets
    assert dataset.verdict == Verdict.TIFF_DAMAGED
    assert dataset.missing == (gone,)
    assert "missing" in dataset.reasons[0]
    assert not report.all_ok


def test_one_compressed_plane_lowers_the_whole_export(tmp_path: Path) -> None:
    index = harmony_export(tmp_path / "plate1")
    tifffile.imwrite(index.parent / "r01c01f01p02-ch1sk1fk1fl1.tiff", PLANE, compression="lzw")

    (dataset,) = check_paths([tmp_path]).datasets

    assert dataset.verdict == Verdict.TIFF_COMPRESSED_LOSSLESS
    assert Flag.MIXED_COMPRESSION in dataset.flags


def test_checking_one_plane_checks_the_whole_export(tmp_path: Path) -> None:
    index = harmony_export(tmp_path / "plate1")

    report = check_paths([index.parent / "r01c01f01p01-ch1sk1fk1fl1.tiff"])

    assert len(report.files) == 6
    assert report.datasets[0].verdict == Verdict.TIFF_UNCOMPRESSED_OK
    assert check_file(index.parent / "r01c01f01p02-ch1sk1fk1fl1.tiff").dataset == str(index)


def test_referenced_images_export_has_no_pixels(tmp_path: Path) -> None:
    images = tmp_path / "ref" / "Images"
    images.mkdir(parents=True)
    (images / "Index.ref.xml").write_text(f'<EvaluationInputData xmlns="{NS}"/>')

    (dataset,) = check_paths([tmp_path]).datasets

    assert dataset.verdict == Verdict.OTHER_FORMAT
    assert any("no pixel data" in r for r in dataset.reasons)


def test_partial_selection_of_an_export_is_reported(tmp_path: Path) -> None:
    index = harmony_export(tmp_path / "plate1")
    one = index.parent / "r01c01f01p01-ch1sk1fk1fl1.tiff"

    (partial,) = partial_datasets([one])
    (images_only,) = partial_datasets([index.parent])

    assert partial.dataset == str(index)
    assert partial.selected == (one,)
    assert len(partial.left_out) == 5
    assert "Only 1 of 6 files" in partial.message()
    assert images_only.left_out == (tmp_path / "plate1" / "FFC_Profile" / "profile.xml",)
    assert partial_datasets([tmp_path / "plate1"]) == []


def _oif(root: Path, with_folder: bool = True) -> Path:
    oif = root / "cells.oif"
    oif.write_bytes("\ufeff[FileInformation]\r\nAppName=FV10-ASW\r\n".encode("utf-16-le"))
    if with_folder:
        files = root / "cells.oif.files"
        files.mkdir()
        tifffile.imwrite(files / "s_C001.tif", PLANE)
        (files / "s_C001.pty").write_text("[Acquisition Parameters Common]\n")
    return oif


def test_oif_with_its_folder_is_native_ok(tmp_path: Path) -> None:
    oif = _oif(tmp_path)

    report = check_paths([oif])

    (dataset,) = report.datasets
    assert dataset.verdict == Verdict.NATIVE_OK
    assert len(report.files) == 3  # the folder's files were pulled in
    assert report.all_ok


def test_oif_without_its_folder_is_damaged(tmp_path: Path) -> None:
    oif = _oif(tmp_path, with_folder=False)

    (dataset,) = check_paths([oif]).datasets

    assert dataset.verdict == Verdict.NATIVE_DAMAGED
    assert dataset.missing == (tmp_path / "cells.oif.files",)


def test_vsi_with_ets_folder(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "slide.vsi", PLANE)
    stack = tmp_path / "_slide_" / "stack1"
    stack.mkdir(parents=True)
    (stack / "frame_t.ets").write_bytes(native_samples.ets())

    report = check_paths([tmp_path / "slide.vsi"])

    (dataset,) = report.datasets
    assert dataset.verdict == Verdict.NATIVE_OK
    ets = next(c for c in report.files if c.path.suffix == ".ets")
    assert ets.format.startswith("Olympus/Evident ETS")
    assert dataset_of(stack / "frame_t.ets") == str(tmp_path / "slide.vsi")


def test_oir_parts_belong_together(tmp_path: Path) -> None:
    for name in ("big.oir", "big_00001", "big_00002"):
        (tmp_path / name).write_bytes(native_samples.oir())

    (dataset,) = check_paths([tmp_path]).datasets
    (partial,) = partial_datasets([tmp_path / "big.oir"])

    assert dataset.verdict == Verdict.NATIVE_OK
    assert len(dataset.members) == 3
    assert [p.name for p in partial.left_out] == ["big_00001", "big_00002"]


def test_micromanager_stack_files_are_grouped(tmp_path: Path) -> None:
    for name in ("run_MMStack_Pos0.ome.tif", "run_MMStack_Pos0_1.ome.tif"):
        tifffile.imwrite(tmp_path / name, PLANE)
    tifffile.imwrite(tmp_path / "other.tif", PLANE)

    report = check_paths([tmp_path])

    (dataset,) = report.datasets
    assert dataset.kind == "Micro-Manager image stack"
    assert len(dataset.members) == 2
    other = next(c for c in report.files if c.path.name == "other.tif")
    assert other.dataset is None and Flag.DATASET_MEMBER not in other.flags


@pytest.mark.parametrize("workers", [1, 3])
def test_results_keep_the_walk_order(tmp_path: Path, workers: int) -> None:
    for i in range(12):
        tifffile.imwrite(tmp_path / f"{i:02d}.tif", PLANE)

    report = check_paths([tmp_path], workers=workers)

    assert [c.path.name for c in report.files] == [f"{i:02d}.tif" for i in range(12)]
    assert report.as_dict()["counts"] == {"tiff-uncompressed-ok": 12}

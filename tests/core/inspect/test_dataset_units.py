"""Datasets as the units people think in: metadata belongs to its dataset, rows carry
their folder, and ``CheckReport.groups()`` gives one row per dataset or standalone file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile

from almc_assistant.core.events import ListSink
from almc_assistant.core.inspect import (
    CheckGroup,
    FileChecked,
    Flag,
    Verdict,
    check_file,
    check_paths,
)
from tests.core.inspect.test_datasets import PLANE, harmony_export


def _harmony_with_metadata(root: Path) -> Path:
    index = harmony_export(root)
    (root / "Assaylayout").mkdir()
    (root / "Assaylayout" / "layout.xml").write_text("<AssayLayout/>")
    (root / "FFC_Profile" / "Metadata_FFC_Profile.xml").write_text("<FFC/>")
    return index


def test_harmony_metadata_is_a_member_not_an_export(tmp_path: Path) -> None:
    index = _harmony_with_metadata(tmp_path / "plate")

    report = check_paths([tmp_path / "plate"])

    xml = [c for c in report.files if c.path.suffix == ".xml"]
    assert {c.path.name for c in xml} == {
        "Index.idx.xml", "layout.xml", "profile.xml", "Metadata_FFC_Profile.xml"
    }  # fmt: skip
    for check in xml:
        assert check.verdict == Verdict.DATASET_METADATA, check.reasons
        assert check.is_ok
        assert check.dataset == str(index)
        assert "export" not in check.next_step
        assert not any("not the raw data" in r or "This is a XML" in r for r in check.reasons)
    assert report.all_ok


def test_standalone_xml_is_still_another_format_in_plain_words(tmp_path: Path) -> None:
    path = tmp_path / "settings.xml"
    path.write_text("<settings/>")

    result = check_file(path)

    assert result.verdict == Verdict.OTHER_FORMAT
    assert result.reasons[0].startswith("This is an XML file")


def test_same_file_name_in_two_plates_can_be_told_apart(tmp_path: Path) -> None:
    _harmony_with_metadata(tmp_path / "plate1")
    _harmony_with_metadata(tmp_path / "plate2")

    report = check_paths([tmp_path])

    rows = [c.as_dict() for c in report.files if c.path.name == "Metadata_FFC_Profile.xml"]
    assert len(rows) == 2
    assert rows[0]["folder"] != rows[1]["folder"]
    assert {Path(r["folder"]).parent.name for r in rows} == {"plate1", "plate2"}


def test_groups_give_one_row_per_dataset_and_per_loose_file(tmp_path: Path) -> None:
    index = _harmony_with_metadata(tmp_path / "plate")
    tifffile.imwrite(tmp_path / "loose.tif", PLANE)
    (tmp_path / "notes.txt").write_text("exposure 100 ms\n")

    report = check_paths([tmp_path])
    groups = report.groups()

    assert len(groups) == 3
    (plate,) = [g for g in groups if g.is_dataset]
    assert isinstance(plate, CheckGroup)
    assert (plate.id, plate.kind) == (str(index), "Opera Phenix / Harmony export")
    assert plate.verdict == Verdict.TIFF_UNCOMPRESSED_OK
    assert plate.file_count == 8  # index, 4 planes, 3 metadata XML
    assert plate.size == sum(f.stat().st_size for f in (tmp_path / "plate").rglob("*.*"))
    assert {f.path.name for f in plate.files} >= {"Index.idx.xml", "layout.xml"}
    loose = {g.anchor.name: g for g in groups if not g.is_dataset}
    assert set(loose) == {"loose.tif", "notes.txt"}
    assert loose["loose.tif"].file_count == 1 and loose["loose.tif"].is_ok
    assert loose["notes.txt"].verdict == Verdict.OTHER_FORMAT
    data = plate.as_dict()
    assert (data["file_count"], data["size"], data["verdict"]) == (
        8,
        plate.size,
        "tiff-uncompressed-ok",
    )
    assert data["folder"] == str(index.parent)


def test_damaged_member_makes_its_group_damaged(tmp_path: Path) -> None:
    index = harmony_export(tmp_path / "plate")
    plane = index.parent / "r01c01f01p02-ch1sk1fk1fl1.tiff"
    plane.write_bytes(plane.read_bytes()[:300])

    (group,) = check_paths([tmp_path]).groups()

    assert group.verdict == Verdict.TIFF_DAMAGED
    assert not group.is_ok


def test_micromanager_metadata_belongs_to_its_acquisition(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "run_MMStack_Pos0.ome.tif", PLANE)
    (tmp_path / "metadata.txt").write_text('{"Summary": {"BitDepth": 16}}')
    (tmp_path / "display_and_comments.txt").write_text("{}")

    report = check_paths([tmp_path])

    (dataset,) = report.datasets
    assert {p.name for p in dataset.members} == {
        "run_MMStack_Pos0.ome.tif", "metadata.txt", "display_and_comments.txt"
    }  # fmt: skip
    meta = next(c for c in report.files if c.path.name == "metadata.txt")
    assert meta.verdict == Verdict.DATASET_METADATA
    assert Flag.DATASET_MEMBER in meta.flags


def test_oif_folder_files_are_members_not_exports(tmp_path: Path) -> None:
    oif = tmp_path / "cells.oif"
    oif.write_bytes("\ufeff[FileInformation]\r\nAppName=FV10-ASW\r\n".encode("utf-16-le"))
    folder = tmp_path / "cells.oif.files"
    folder.mkdir()
    tifffile.imwrite(folder / "s_C001.tif", np.zeros((8, 8), np.uint16))
    (folder / "s_C001.pty").write_text("[Acquisition Parameters]\n")
    (folder / "s_C001.roi").write_text("[ROI]\n")

    report = check_paths([tmp_path])

    verdicts = {c.path.name: c.verdict for c in report.files}
    assert verdicts["s_C001.pty"] == Verdict.DATASET_METADATA
    assert verdicts["s_C001.roi"] == Verdict.DATASET_METADATA
    assert verdicts["cells.oif"] == Verdict.NATIVE_OK
    (group,) = report.groups()
    assert group.kind == "Olympus OIF dataset" and group.file_count == 4


def test_progress_events_name_each_files_dataset(tmp_path: Path) -> None:
    index = harmony_export(tmp_path / "plate")
    tifffile.imwrite(tmp_path / "loose.tif", PLANE)
    sink = ListSink()

    check_paths([tmp_path], sink=sink)

    datasets = {Path(e.path).name: e.dataset for e in sink.of_type(FileChecked)}
    assert datasets["loose.tif"] is None
    assert datasets["Index.idx.xml"] == datasets["r01c01f01p01-ch1sk1fk1fl1.tiff"] == str(index)


def test_check_help_says_dataset_metadata_belongs_to_its_dataset(capsys) -> None:
    import pytest

    from almc_assistant.cli import main

    with pytest.raises(SystemExit) as done:
        main(["check", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "dataset-metadata: they are part of the dataset" in text
    assert "not exports to fix" in text and "Index.idx.xml" in text and "ND2 series" in text

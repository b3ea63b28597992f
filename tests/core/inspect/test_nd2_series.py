"""An ND2 series (NIS-Elements runs saved as numbered ND2 files) is one dataset.

The real-file cases copy real NIS-Elements files of the shared corpus into tmp_path under
series names (skipped cleanly when the corpus is absent); the grouping cases need only
names, so they run everywhere.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from almc_assistant.core.inspect import (
    Verdict,
    check_paths,
    group_by_dataset,
    partial_datasets,
    units_of,
)
from almc_assistant.core.inspect.datasets import ND2_SERIES

REAL = ["example-timelapse.nd2", "example-zstack.nd2", "example-cerevisiae.nd2"]


def _series(corpus: Path, folder: Path, names: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for source, name in zip(REAL * 3, names, strict=False):
        shutil.copyfile(corpus / "files" / source, folder / name)
        out.append(folder / name)
    return out


def test_numbered_nd2_files_are_one_series_of_real_files(corpus: Path, tmp_path: Path) -> None:
    files = _series(corpus, tmp_path / "day1", ["run001.nd2", "run002.nd2", "run003.nd2"])
    shutil.copyfile(corpus / "files" / "cluster.nd2", tmp_path / "day1" / "overview.nd2")

    report = check_paths([tmp_path / "day1"])

    [series] = [g for g in report.groups() if g.is_dataset]
    assert series.kind == ND2_SERIES
    assert [f.path for f in series.files] == files
    assert series.verdict == Verdict.NATIVE_OK and series.is_ok, series.reasons
    assert "3 files, each one complete" in series.reasons[0]
    loose = [g for g in report.groups() if not g.is_dataset]
    assert [g.anchor.name for g in loose] == ["overview.nd2"]
    assert report.all_ok


def test_a_cut_off_member_makes_the_series_damaged(corpus: Path, tmp_path: Path) -> None:
    files = _series(corpus, tmp_path, ["Seq0001.nd2", "Seq0002.nd2", "Seq0003.nd2"])
    data = files[1].read_bytes()
    files[1].write_bytes(data[: len(data) // 2])  # an acquisition that never finished

    report = check_paths([files[0]])  # one file given: the whole series is checked

    [series] = report.datasets
    assert series.verdict == Verdict.NATIVE_DAMAGED
    assert "Seq0002.nd2" in series.reasons[0]
    assert not report.all_ok


def test_a_gap_in_the_numbering_is_said(corpus: Path, tmp_path: Path) -> None:
    _series(corpus, tmp_path, ["t_01.nd2", "t_02.nd2", "t_05.nd2"])

    [series] = check_paths([tmp_path]).datasets

    assert series.verdict == Verdict.NATIVE_OK  # what is there is complete
    assert any("skips 2 file(s) (t_03.nd2, t_04.nd2)" in r for r in series.reasons)


def test_series_are_found_by_name_before_the_number(tmp_path: Path) -> None:
    for name in ("run1.nd2", "run2.nd2", "RUN3.nd2", "other.nd2", "cell7.nd2", "b1.tif"):
        (tmp_path / name).write_bytes(b"x")

    found = units_of(sorted(tmp_path.iterdir()))

    assert set(found) == {str(tmp_path / n) for n in ("run1.nd2", "run2.nd2", "RUN3.nd2")}
    unit = found[str(tmp_path / "run2.nd2")]
    assert unit.kind == ND2_SERIES and unit.anchor == tmp_path / "run1.nd2"
    assert unit.label == "run1.nd2 …"


def test_dates_as_numbers_do_not_make_a_list_of_gaps(tmp_path: Path) -> None:
    for name in ("scan_20240501120301.nd2", "scan_20240501130502.nd2"):
        (tmp_path / name).write_bytes(b"x")

    [series] = check_paths([tmp_path]).datasets

    assert series.kind == ND2_SERIES
    assert not any("skips" in r for r in series.reasons)


def test_units_group_known_files_one_row_per_dataset(tmp_path: Path) -> None:
    (tmp_path / "Images").mkdir()
    (tmp_path / "Images" / "Index.idx.xml").write_text("<EvaluationInputData/>")
    tiles = [tmp_path / "Images" / f"r01c01f{i:02d}p01-ch1sk1fk1fl1.tiff" for i in range(3)]
    for t in tiles:
        t.write_bytes(b"t")
    for name in ("a01.nd2", "a02.nd2", "lone.nd2"):
        (tmp_path / name).write_bytes(b"n")
    items = [*tiles, tmp_path / "lone.nd2", tmp_path / "a01.nd2", tmp_path / "a02.nd2"]

    groups = group_by_dataset(items, lambda p: p)

    assert [(u.label if u else None, len(m)) for u, m in groups] == [
        (tmp_path.name, 3),
        (None, 1),
        ("a01.nd2 …", 2),
    ]
    assert groups[0][0] is not None and groups[0][0].folder == tmp_path


@pytest.mark.parametrize("chosen", [["run01.nd2"], ["run01.nd2", "run02.nd2"]])
def test_a_selection_of_part_of_a_series_is_reported(tmp_path: Path, chosen: list[str]) -> None:
    for name in ("run01.nd2", "run02.nd2", "run03.nd2"):
        (tmp_path / name).write_bytes(b"n")

    [part] = partial_datasets([tmp_path / n for n in chosen])

    assert part.kind == ND2_SERIES and len(part.left_out) == 3 - len(chosen)

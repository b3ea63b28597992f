"""Every file of the shared corpus gets the verdict CATALOG.tsv expects (one test per file)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from almc_assistant.core.inspect import Verdict, check_file, check_paths
from tests.core.inspect.conftest import corpus_location
from tests.core.inspect.helpers import fingerprint


def _rows() -> list[dict[str, str]]:
    found = corpus_location()
    if found is None:
        return []
    with (found / "CATALOG.tsv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


ROWS = _rows()


@pytest.mark.corpus
@pytest.mark.parametrize(
    "row", ROWS or [pytest.param({}, marks=pytest.mark.skip("no corpus"))],
    ids=[r["file"] for r in ROWS] or ["no-corpus"],
)  # fmt: skip
def test_corpus_file_verdict(corpus: Path, row: dict[str, str]) -> None:
    path = corpus / "files" / row["file"]
    before = fingerprint(path)

    result = check_file(path)

    assert str(result.verdict) == row["expected_verdict"], (result.reasons, row["details"])
    assert result.size == int(row["bytes"])
    assert result.reasons and result.next_step
    assert fingerprint(path) == before


@pytest.mark.corpus
def test_whole_corpus_folder_in_one_run(corpus: Path) -> None:
    report = check_paths([corpus / "files"], workers=2)

    expected = {r["file"]: r["expected_verdict"] for r in _rows()}
    got = {c.path.name: str(c.verdict) for c in report.files}
    assert got == expected
    assert not report.all_ok  # the corpus holds damaged and lossy files
    assert report.counts()[str(Verdict.NATIVE_OK)] == 6

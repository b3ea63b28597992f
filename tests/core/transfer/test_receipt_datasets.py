"""Copy receipts list each dataset's files together (an optional section), and receipts
with or without that section are read the same way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.inspect import UnitFinder
from almc_assistant.core.receipts import read_receipt
from almc_assistant.core.transfer import CopyRequest
from almc_assistant.core.transfer.job import run_copy
from almc_assistant.core.transfer.naming import RECEIPTS_DIR
from almc_assistant.core.transfer.receipt_datasets import remembered
from tests.portable import WINDOWS


def _session(root: Path) -> Path:
    images = root / "plate1" / "Images"
    images.mkdir(parents=True)
    names = [f"r01c01f01p0{p}-ch1sk1fk1fl1.tiff" for p in (1, 2, 3)]
    for name in names:
        (images / name).write_bytes(b"II*\0" + name.encode())
    urls = "".join(f"<Image><URL>{n}</URL></Image>" for n in names)
    (images / "Index.idx.xml").write_text(
        f"<EvaluationInputData><Images>{urls}</Images></EvaluationInputData>"
    )
    for name in ("run001.nd2", "run002.nd2", "overview.nd2"):
        (root / name).write_bytes(name.encode() * 10)
    return root


def _copy(source: Path, dest: Path, **extra: Any) -> dict[str, Any]:
    dest.mkdir()
    result = run_copy(
        CopyRequest(sources=[source], destinations=[dest], workers=1, **extra), ListSink()
    )
    [receipt] = result.summary.receipts
    return {"path": Path(receipt), "doc": json.loads(Path(receipt).read_text("utf-8"))}


def test_a_receipt_lists_each_dataset_with_its_files(tmp_path: Path) -> None:
    source = _session(tmp_path / "session")

    got = _copy(source, tmp_path / "share", dataset_of=UnitFinder().key)

    doc = got["doc"]
    sections = {s["name"]: s for s in doc["datasets"]}
    assert set(sections) == {"plate1", "run001.nd2 …"}
    plate = sections["plate1"]
    assert plate["kind"] == "Opera Phenix / Harmony export" and plate["file_count"] == 4
    assert plate["dataset"] == str(source / "plate1" / "Images" / "Index.idx.xml")
    assert "session/plate1/Images/Index.idx.xml" in plate["files"]
    assert plate["size"] == sum(
        e["size"] for e in doc["verified"] if e["relative_path"] in plate["files"]
    )
    assert sections["run001.nd2 …"]["files"] == ["session/run001.nd2", "session/run002.nd2"]
    assert len(doc["verified"]) == 7  # every copy still has its own row
    if not WINDOWS:  # (Windows reads no receipt: test_receipts)
        # the reader counts the same copies with or without the section
        assert len(read_receipt(got["path"], tmp_path / "share")) == 7


def test_without_a_dataset_finder_the_receipt_is_as_before(tmp_path: Path) -> None:
    got = _copy(_session(tmp_path / "session"), tmp_path / "share")

    assert "datasets" not in got["doc"]
    if not WINDOWS:
        assert len(read_receipt(got["path"], tmp_path / "share")) == 7
    assert (tmp_path / "share" / RECEIPTS_DIR).is_dir()


def test_two_destinations_list_the_same_datasets_asking_once_per_source(tmp_path: Path) -> None:
    source = _session(tmp_path / "session")
    finder = UnitFinder()
    asked: list[Path] = []

    def dataset_of(path: Path) -> tuple[str, str, str] | None:
        asked.append(path)
        return finder.key(path)

    dests = [tmp_path / "a", tmp_path / "b"]
    for dest in dests:
        dest.mkdir()
    result = run_copy(
        CopyRequest(sources=[source], destinations=dests, workers=1, dataset_of=dataset_of),
        ListSink(),
    )

    docs = [json.loads(Path(r).read_text("utf-8")) for r in result.summary.receipts]
    assert len(docs) == 2 and docs[0]["datasets"] == docs[1]["datasets"]
    assert {s["name"] for s in docs[0]["datasets"]} == {"plate1", "run001.nd2 …"}
    assert sorted(asked) == sorted({Path(e["source"]) for e in docs[0]["verified"]})


def test_a_dataset_finder_that_failed_is_asked_again() -> None:
    calls: list[Path] = []

    def flaky(path: Path) -> tuple[str, str, str] | None:
        calls.append(path)
        if len(calls) == 1:
            raise OSError(5, "I/O error")
        return ("id", "kind", "name")

    of = remembered(flaky)
    assert of is not None and remembered(None) is None
    source = Path("/src/a.nd2")
    with pytest.raises(OSError):
        of(source)
    assert of(source) == ("id", "kind", "name") == of(source)
    assert calls == [source, source]

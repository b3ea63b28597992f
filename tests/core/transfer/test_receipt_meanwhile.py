"""Issue 17: a job's receipt rows are formatted by its thread while the workers copy, so
the receipt at the end only sorts and lays them out; the receipts are the same."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import blake3
import pytest

from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.events import ListSink
from almc_assistant.core.transfer import CopyHooks, CopyRequest, CopyVerified, start_copy
from almc_assistant.core.transfer import job as job_module
from almc_assistant.core.transfer.receipt import VerifiedRows
from almc_assistant.core.transfer.scan import FileTask
from tests.core.transfer.conftest import write


def test_rows_are_formatted_while_the_workers_copy_and_the_receipts_list_every_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(job_module, "_MEANWHILE", 0.01)
    taken: list[int] = []  # how many records each round found new
    some_taken = threading.Event()
    real_take = VerifiedRows.take

    def take(self: VerifiedRows, records: list[CopyRecord]) -> None:
        before = self.done
        real_take(self, records)
        if self.done > before:
            taken.append(self.done - before)
            some_taken.set()

    monkeypatch.setattr(VerifiedRows, "take", take)
    names = [f"f{i:02d}.tif" for i in range(24)]
    for i, name in enumerate(names):
        write(tmp_path / "src" / name, bytes([i]) * (100 + i))

    asked: list[tuple[str, bool]] = []  # the dataset finder: (file, while copying)
    copying = threading.Event()

    def dataset_of(source: Path) -> tuple[str, str, str] | None:
        asked.append((source.name, copying.is_set()))
        return ("plate", "series", "plate") if source.name < "f10" else None

    def hook(task: FileTask) -> None:
        copying.set()
        if task.source.name == names[-1]:  # the last file waits for a round of rows
            assert some_taken.wait(30), "no receipt rows were formatted during the copy"
            copying.clear()  # what is asked from now on is asked after the copies

    dests = [tmp_path / "d1", tmp_path / "d2"]
    request = CopyRequest(
        sources=[tmp_path / "src"],
        destinations=dests,
        workers=2,
        group_files=1,  # each file verified and recorded on its own, as it is copied
        create_missing=True,
        hooks=CopyHooks(before_file=hook),
        dataset_of=dataset_of,
    )
    sink = ListSink()
    result = start_copy(request, sink).wait(60)
    assert result is not None and result.summary.ok, result
    assert len(sink.of_type(CopyVerified)) == 2 * len(names)
    # each copy formatted once: some while the last file waited (the hook), the rest after
    assert sum(taken) == 2 * len(names) and len(taken) > 2
    assert sorted(name for name, _ in asked) == names  # once per source, not per receipt
    assert any(during for _, during in asked)  # some while the workers copied
    assert len(result.summary.receipts) == 2
    for dest, receipt in zip(dests, sorted(result.summary.receipts), strict=True):
        doc = json.loads(Path(receipt).read_text(encoding="utf-8"))
        rows = doc["verified"]
        assert [r["relative_path"] for r in rows] == [f"src/{n}" for n in names]  # sorted
        for row, name in zip(rows, names, strict=True):
            data = (tmp_path / "src" / name).read_bytes()
            assert row["blake3"] == blake3.blake3(data).hexdigest()
            assert row["destination"] == str(dest / "src" / name)
            assert row["size"] == len(data) and row["source"] == str(tmp_path / "src" / name)
        (section,) = doc["datasets"]
        assert section["files"] == [f"src/{n}" for n in names[:10]]


def test_a_row_that_cannot_be_formatted_during_the_copy_is_left_for_the_end(
    tmp_path: Path,
) -> None:
    """Formatting during the copy never stops it: a copy whose row cannot be made (here
    one that is not below its root, which the engine never records) leaves its
    destination's rows to the receipt at the end, which raises there as before."""
    odd = CopyRecord(
        source=tmp_path / "a",
        destination_root=tmp_path / "d",
        path=tmp_path / "elsewhere" / "a",
        size=1,
        mtime_ns=1,
        blake3="a" * 64,
        verified_at=1.0,
    )
    good = SimpleNamespace(root=tmp_path / "g", records=[])
    bad = SimpleNamespace(root=tmp_path / "d", records=[odd])
    run: Any = job_module._Run(ctx=None)  # type: ignore[arg-type]
    run.format_rows([bad, good])
    assert run.rows[id(bad)] is None and isinstance(run.rows[id(good)], VerifiedRows)
    run.format_rows([bad, good])  # not tried again
    assert run.rows[id(bad)] is None


def test_a_dataset_finder_that_fails_during_the_copy_is_left_for_the_end(
    tmp_path: Path,
) -> None:
    """An ``OSError`` is asked again next round (not remembered); anything else stops
    the finding during the copy (the receipts ask at the end); the rows go on."""
    asked: list[str] = []

    def finder(source: Path) -> tuple[str, str, str] | None:
        asked.append(source.name)
        if source.name == "a":
            raise OSError("busy")
        raise RuntimeError("a bug")

    def record(name: str) -> CopyRecord:
        return CopyRecord(
            source=tmp_path / name,
            destination_root=tmp_path / "d",
            path=tmp_path / "d" / name,
            size=1,
            mtime_ns=1,
            blake3="a" * 64,
            verified_at=1.0,
        )

    dest = SimpleNamespace(root=tmp_path / "d", records=[record("a")])
    run: Any = job_module._Run(ctx=None, datasets=finder)  # type: ignore[arg-type]
    run.format_rows([dest])
    assert run.finding and asked == ["a"]
    dest.records += [record("b"), record("c")]
    run.format_rows([dest])
    assert not run.finding and asked == ["a", "b"]  # stopped at the first bug
    dest.records.append(record("d"))
    run.format_rows([dest])
    assert asked == ["a", "b"] and run.rows[id(dest)].done == 4  # rows went on

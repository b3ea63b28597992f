"""GroupTreeModel: rows under their dataset's row, attention first, selection and open
rows kept while rows move, a dataset's row gone with its last file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPersistentModelIndex
from PySide6.QtTest import QAbstractItemModelTester

from almc_assistant.qt.group_model import GroupTreeModel
from almc_assistant.qt.table_model import Column


@dataclass(frozen=True)
class Row:
    name: str
    group: str | None = None
    bad: bool = False
    size: int = 1


@dataclass(frozen=True)
class Summary:
    name: str
    bad: bool
    size: int


def _summarize(group: str, rows: Sequence[Row]) -> Summary:
    return Summary(group, any(r.bad for r in rows), sum(r.size for r in rows))


COLUMNS: tuple[Column[Row | Summary], ...] = (
    Column("Name", lambda r: r.name),
    Column("Size", lambda r: str(r.size), sort_key=lambda r: r.size),
)


def _model() -> GroupTreeModel[Row, Summary]:
    model: GroupTreeModel[Row, Summary] = GroupTreeModel(
        COLUMNS,
        key=lambda r: r.name,
        group_of=lambda r: r.group,
        summarize=_summarize,
        rank=lambda item: 0 if item.bad else 2,
    )
    QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Fatal, model)
    return model


def _top(model: GroupTreeModel[Row, Summary]) -> list[str]:
    return [str(model.data(model.index(i, 0))) for i in range(model.rowCount())]


def test_rows_group_under_their_dataset_and_bad_ones_come_first(qtbot) -> None:
    model = _model()
    model.upsert([Row("a.nd2"), Row("t1", "plate"), Row("t2", "plate"), Row("b.tif")])
    assert _top(model) == ["a.nd2", "plate", "b.tif"]
    plate = model.group_index("plate")
    summary = model.item(plate)
    assert model.rowCount(plate) == 2 and summary is not None and summary.size == 2
    keep = QPersistentModelIndex(model.index_of("t2"))

    model.upsert([Row("b.tif", bad=True), Row("t2", "plate", bad=True, size=5)])

    assert _top(model) == ["plate", "b.tif", "a.nd2"]  # both bad: arrival order among them
    assert model.item(model.group_index("plate")) == Summary("plate", True, 6)
    assert [model.data(model.index(i, 0, model.group_index("plate"))) for i in range(2)] == [
        "t2",
        "t1",
    ]
    assert keep.isValid() and model.data(keep) == "t2"  # the selection follows its row


def test_sorting_keeps_attention_first_and_removal_drops_empty_datasets(qtbot) -> None:
    model = _model()
    model.upsert([Row("x", size=3), Row("y", size=9), Row("z", bad=True, size=1)])
    model.sort(1)
    assert _top(model) == ["z", "x", "y"]
    model.upsert([Row("t1", "plate", size=2), Row("t2", "plate", size=2)])
    assert _top(model) == ["z", "x", "plate", "y"]
    model.remove(["t1"])
    assert model.rowCount(model.group_index("plate")) == 1
    model.remove(["t2", "z"])
    assert _top(model) == ["x", "y"] and model.summary("plate") is None
    assert len(model) == 2


def test_a_row_that_changes_dataset_moves_under_it(qtbot) -> None:
    model = _model()
    model.upsert([Row("a"), Row("b")])
    model.upsert([Row("a", "series"), Row("b", "series")])
    assert _top(model) == ["series"] and model.rowCount(model.group_index("series")) == 2
    model.replace_all([Row("c")])
    assert _top(model) == ["c"] and model.row_of("a") is None

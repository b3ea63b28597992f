"""Columns that give way in a narrow view (qt/tree_view.py): the rule, and a real view."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QApplication

from almc_assistant.qt.group_model import GroupTreeModel
from almc_assistant.qt.table_model import Column
from almc_assistant.qt.tree_view import give_way, make_tree
from tests.qt.test_group_model import Row, Summary, _summarize


def test_columns_that_fit_keep_the_widths_they_want() -> None:
    wanted = {1: 100, 2: 300, 3: 200}
    assert give_way(wanted, {1: 40, 2: 40, 3: 40}, 600) == wanted
    assert give_way(wanted, {1: 40, 2: 40, 3: 40}, 5000) == wanted


def test_the_widest_give_way_first_and_the_kept_column_last() -> None:
    wanted = {1: 100, 2: 300, 3: 200}
    floors = {1: 40, 2: 40, 3: 150}
    # 100 px too many: only the widest gives way.
    assert give_way(wanted, floors, 500) == {1: 100, 2: 200, 3: 200}
    # 300 px too many with column 3 kept: 1 and 2 share the cut, 3 keeps its width.
    widths = give_way(wanted, floors, 300, keep=(3,))
    assert widths[3] == 200 and widths[1] + widths[2] == 100 and widths[1] == widths[2]
    # Too few pixels even then: the others at their floors, the kept one gives way last.
    assert give_way(wanted, floors, 220, keep=(3,)) == {1: 40, 2: 40, 3: 150}
    assert give_way(wanted, floors, 250, keep=(3,)) == {1: 40, 2: 40, 3: 170}


def test_a_real_view_keeps_every_column_in_view_and_follows_the_user(qtbot) -> None:
    def text(header: str) -> Callable[[Row | Summary], str]:
        return lambda r: f"{header} {r.name} with a long text"

    columns = tuple(Column(h, text(h)) for h in "ABCD")
    model: GroupTreeModel[Row, Summary] = GroupTreeModel(
        columns,
        key=lambda r: r.name,
        group_of=lambda r: r.group,
        summarize=_summarize,
        rank=lambda item: 0,
    )
    model.upsert(Row(f"f{i}", "g") for i in range(3))
    view = make_tree(model, fit={1: "x" * 40, 2: "y" * 60, 3: "Status text"}, stretch=0, keep=(3,))
    qtbot.addWidget(view)
    view.resize(view.minimumWidth(), 300)
    view.show()
    qtbot.waitExposed(view)
    header = view.header()
    status = header.sectionSize(3)
    assert header.sectionViewportPosition(3) + status <= view.viewport().width()
    assert status >= view.fontMetrics().horizontalAdvance("Status text")
    narrow = header.sectionSize(2)
    view.resize(2000, 300)
    QApplication.processEvents()
    assert header.sectionSize(2) > narrow  # room again: as wanted
    wide = header.sectionSize(2)
    header.resizeSection(2, wide + 50)  # as a person dragging the column's edge
    view.resize(1999, 300)
    QApplication.processEvents()
    assert header.sectionSize(2) == wide + 50  # kept: the width the user chose

"""The wizard's lists of this session's files, by dataset: catalog records grouped under
one row per dataset (a plate, an ND2 series), what needs a look first.

Thread contract: GUI thread only; no I/O. Which dataset each file belongs to is found by
the files page's worker (:func:`almc_assistant.core.inspect.units_of`) and kept in the
wizard's state (``WizardState.datasets``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject

from almc_assistant.core.inspect.wording import NEXT_STEP
from almc_assistant.core.units import human_size
from almc_assistant.core.verdicts import NEEDS_FIXING, Verdict
from almc_assistant.qt import humanize, icons, verdicts
from almc_assistant.qt.dataset_rows import (
    ATTENTION,
    BUSY,
    FINE,
    DatasetRow,
    files_text,
    summarize,
    verdict_counts,
    worst,
)
from almc_assistant.qt.group_model import GroupTreeModel
from almc_assistant.qt.table_model import Column
from almc_assistant.qt.wizard.state import WizardState

ACQUIRING = "acquiring"


def _acquiring(record: Any) -> bool:
    return str(record.state) == ACQUIRING


def look(item: Any) -> verdicts.VerdictLook:
    if isinstance(item, DatasetRow):
        return (
            verdicts.ACQUIRING
            if item.verdict is None and item.busy
            else verdicts.look(item.verdict)
        )
    return verdicts.look(item.verdict, state=str(item.state))


def reasons(item: Any) -> str:
    if isinstance(item, DatasetRow):
        return "\n".join(item.reasons)
    found = list(getattr(item, "verdict_reasons", ()) or ())
    if _acquiring(item):
        found.insert(
            0,
            "Still being written by the acquisition software: not in this backup. It is "
            "added here once it has been quiet for a while; if acquisition goes on, back "
            "it up in a later session once it has finished.",
        )
    return "\n".join(found)


def next_step(item: Any) -> str:
    if isinstance(item, DatasetRow):
        return item.next_step
    return _next_step(item.verdict)


def rank(item: Any) -> int:
    if isinstance(item, DatasetRow):
        return ATTENTION if item.attention else BUSY if item.busy else FINE
    if not _acquiring(item) and (item.verdict or "") in NEEDS_FIXING:
        return ATTENTION
    return BUSY if _acquiring(item) else FINE


def name(item: Any) -> str:
    return str(item.name) if isinstance(item, DatasetRow) else str(item.path.name)


def folder(item: Any) -> str:
    return str(item.folder) if isinstance(item, DatasetRow) else str(item.path.parent)


NAME: Column[Any] = Column(
    "File", name, tooltip=lambda r: str(r.path), sort_key=lambda r: name(r).lower()
)
FOLDER: Column[Any] = Column("Folder", folder, tooltip=folder)
FILES: Column[Any] = Column(
    "Files", files_text, sort_key=lambda r: getattr(r, "files", 1), align_right=True
)
SIZE: Column[Any] = Column(
    "Size",
    lambda r: human_size(r.size) if r.size is not None else "",
    sort_key=lambda r: r.size or 0,
    align_right=True,
)


def check_column(header: str) -> Column[Any]:
    return Column(
        header,
        lambda r: look(r).label,
        icon=lambda r: icons.badge_icon(look(r).badge),
        tooltip=reasons,
    )


class RecordsByDataset:
    """A :class:`GroupTreeModel` over the wizard's records, grouped by the state's
    datasets."""

    def __init__(self, state: WizardState, columns: Sequence[Column[Any]], parent: QObject) -> None:
        self._state = state
        self.model: GroupTreeModel[Any] = GroupTreeModel(
            columns,
            key=lambda r: str(r.path),
            group_of=self._group_of,
            summarize=self._summarize,
            rank=rank,
            parent=parent,
        )

    def _group_of(self, record: Any) -> str | None:
        unit = self._state.datasets.get(str(record.path))
        return unit.id if unit is not None else None

    def _summarize(self, group: str, records: Sequence[Any]) -> DatasetRow:
        unit = self._state.datasets.get(str(records[0].path))
        done = [r for r in records if not _acquiring(r)]
        acquiring = len(records) - len(done)
        found = [r.verdict for r in done]
        why = [f"{humanize.count(len(records), 'file')}: {verdict_counts(found)}"] if done else []
        if acquiring:
            why.append(
                f"{humanize.count(acquiring, 'file')} still being written: not in this backup."
            )
        return summarize(
            group,
            verdicts_found=found,
            sizes=[r.size for r in records],
            status_text="",
            failed=False,
            busy=bool(acquiring),
            kind=unit.kind if unit is not None else "",
            reasons=tuple(why),
            next_step=_next_step(worst(found)),
        )


def _next_step(verdict: str | None) -> str:
    try:
        return NEXT_STEP[Verdict(verdict)] if verdict is not None else ""
    except ValueError:
        return ""

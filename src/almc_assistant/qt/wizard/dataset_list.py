"""The wizard's lists of this session's files, by dataset: catalog records grouped under
one row per dataset (a plate, an ND2 series), what needs a look first.

Thread contract: GUI thread only; no I/O. Which dataset each file belongs to is found by
the files page's worker (:func:`almc_assistant.core.inspect.units_of`) and kept in the
wizard's state (``WizardState.datasets``).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject

from almc_assistant.core.catalog import FileRecord
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
# A row of the wizard's lists: a file the catalog knows, or the summary of a dataset's.
Item = FileRecord | DatasetRow


def _acquiring(record: FileRecord) -> bool:
    return str(record.state) == ACQUIRING


def look(item: Item) -> verdicts.VerdictLook:
    if isinstance(item, DatasetRow):
        return (
            verdicts.ACQUIRING
            if item.verdict is None and item.busy
            else verdicts.look(item.verdict)
        )
    return verdicts.look(item.verdict, state=str(item.state))


def reasons(item: Item) -> str:
    if isinstance(item, DatasetRow):
        return "\n".join(item.reasons)
    found = list(item.verdict_reasons)
    if _acquiring(item):
        found.insert(
            0,
            "Still being written by the acquisition software: not in this backup. It is "
            "added here once it has been quiet for a while; if acquisition goes on, back "
            "it up in a later session once it has finished.",
        )
    return "\n".join(found)


def next_step(item: Item) -> str:
    if isinstance(item, DatasetRow):
        return item.next_step
    return _next_step(item.verdict)


def rank(item: Item) -> int:
    if isinstance(item, DatasetRow):
        return ATTENTION if item.attention else BUSY if item.busy else FINE
    if not _acquiring(item) and (item.verdict or "") in NEEDS_FIXING:
        return ATTENTION
    return BUSY if _acquiring(item) else FINE


def name(item: Item) -> str:
    return str(item.name) if isinstance(item, DatasetRow) else str(item.path.name)


def folder(item: Item) -> str:
    return str(item.folder) if isinstance(item, DatasetRow) else str(item.path.parent)


NAME: Column[Item] = Column(
    "File", name, tooltip=lambda r: str(r.path), sort_key=lambda r: name(r).lower()
)
FOLDER: Column[Item] = Column("Folder", folder, tooltip=folder)
FILES: Column[Item] = Column(
    "Files",
    files_text,
    sort_key=lambda r: r.files if isinstance(r, DatasetRow) else 1,
    align_right=True,
)
SIZE: Column[Item] = Column(
    "Size",
    lambda r: human_size(r.size) if r.size is not None else "",
    sort_key=lambda r: r.size or 0,
    align_right=True,
)


def check_column(header: str) -> Column[Item]:
    return Column(
        header,
        lambda r: look(r).label,
        icon=lambda r: icons.badge_icon(look(r).badge),
        tooltip=reasons,
    )


class RecordsByDataset:
    """A :class:`GroupTreeModel` over the wizard's records, grouped by the state's
    datasets."""

    def __init__(
        self, state: WizardState, columns: Sequence[Column[Item]], parent: QObject
    ) -> None:
        self._state = state
        self.model: GroupTreeModel[FileRecord, DatasetRow] = GroupTreeModel(
            columns,
            key=lambda r: str(r.path),
            group_of=self._group_of,
            summarize=self._summarize,
            rank=rank,
            parent=parent,
        )

    def _group_of(self, record: FileRecord) -> str | None:
        unit = self._state.datasets.get(str(record.path))
        return unit.id if unit is not None else None

    def _summarize(self, group: str, records: Sequence[FileRecord]) -> DatasetRow:
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

"""A dataset's row in the file lists: its name, folder, file count, size, overall verdict.

Thread contract: pure functions over frozen values (``qt/`` only because the lists that
show them are Qt's). The transfer window summarises its file rows (and the dataset's
check, once the report has come); the wizard summarises catalog records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core.inspect import datasets as kinds
from almc_assistant.core.inspect.datasets import HARMONY, MMSTACK
from almc_assistant.core.inspect.results import DatasetCheck
from almc_assistant.core.inspect.units import dataset_folder, dataset_label
from almc_assistant.core.verdicts import Verdict, parse
from almc_assistant.qt import humanize, verdicts

ATTENTION, BUSY, FINE = 0, 1, 2  # ranks: lists show lower first
# A dataset's kind in a few words, after its name in the lists (the whole in the tooltip).
SHORT_KIND = {
    kinds.HARMONY: "Harmony export",
    kinds.ND2_SERIES: "ND2 series",
    kinds.OIF: "OIF + folder",
    kinds.VSI: "VSI + ETS",
    kinds.SLDY: "SlideBook 7",
    kinds.OIR: "OIR parts",
    kinds.MMSTACK: "Micro-Manager",
    kinds.CZI: "CZI parts",
    kinds.LIF: "LIF + LIFEXT",
}


@dataclass(frozen=True, slots=True)
class DatasetRow:
    """The summary row of one dataset; its files are the rows under it."""

    id: str
    label: str
    kind: str
    folder: str
    files: int
    size: int | None
    verdict: str | None
    reasons: tuple[str, ...]
    next_step: str
    status_text: str
    attention: bool
    busy: bool = False

    @property
    def name(self) -> str:
        return f"{self.label} · {SHORT_KIND.get(self.kind, self.kind)}" if self.kind else self.label

    @property
    def path(self) -> str:
        return self.id


def kind_of(anchor: Path, check: DatasetCheck | None = None) -> str:
    """The dataset's kind: the check's word, or what the anchor's name says."""
    if check is not None:
        return str(check.kind)
    if anchor.name in ("Index.idx.xml", "Index.ref.xml", "Index.xml"):
        return HARMONY
    if anchor.name.endswith("_MMStack"):
        return MMSTACK
    return ""


def worst(found: Sequence[str | None]) -> str | None:
    """The worst of some verdicts (by the check's severity); None if none is known."""
    known = [v for v in found if v is not None]
    if not known:
        return None

    def severity(v: str) -> int:
        try:
            return Verdict(v).severity
        except ValueError:
            return 5

    return max(known, key=severity)


def needs_attention(verdict: str | None) -> bool:
    """Listed on the "Files to look at" page and first in lists: a verdict that needs
    fixing (:attr:`Verdict.needs_fixing`), or one this version does not know."""
    if verdict is None:
        return False
    known = parse(verdict)
    return known is None or known.needs_fixing


def summarize(
    group: str,
    *,
    verdicts_found: Sequence[str | None],
    sizes: Sequence[int | None],
    status_text: str,
    failed: bool,
    busy: bool,
    check: DatasetCheck | None = None,
    kind: str = "",
    reasons: tuple[str, ...] = (),
    next_step: str = "",
) -> DatasetRow:
    """A dataset's row from its members' verdicts and sizes, and the dataset's own check
    (``DatasetCheck``: missing files, reasons) when there is one."""
    anchor = Path(group)
    kind = kind or kind_of(anchor, check)
    verdict = str(check.verdict) if check is not None else worst(verdicts_found)
    flagged = bool(check.flags) if check is not None else False
    known = [s for s in sizes if s is not None]
    return DatasetRow(
        id=group,
        label=dataset_label(kind, anchor),
        kind=kind,
        folder=str(dataset_folder(kind, anchor)),
        files=len(sizes),
        size=sum(known) if known else None,
        verdict=verdict,
        reasons=(check.reasons if check is not None else ()) or reasons,
        next_step=(check.next_step if check is not None else "") or next_step,
        status_text=status_text,
        attention=failed or flagged or needs_attention(verdict),
        busy=busy,
    )


def verdict_counts(found: Sequence[str | None]) -> str:
    """ "300 Uncompressed TIFF, 3 Dataset metadata": what a dataset's files are."""
    counts: dict[str, int] = {}
    for v in found:
        label = verdicts.look(v).label
        counts[label] = counts.get(label, 0) + 1
    return ", ".join(f"{n:,} {label}" for label, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def files_text(item: object) -> str:
    """A dataset's count of files; nothing for a file's row (of any kind)."""
    return humanize.count(item.files, "file") if isinstance(item, DatasetRow) else ""

"""A whole run's findings (``CheckReport``) and its units people think in (``CheckGroup``:
one per dataset or standalone file).

Thread contract: plain frozen values, safe to share between threads. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from almc_assistant.core.inspect.flags import Flag
from almc_assistant.core.inspect.results import DatasetCheck, FileCheck
from almc_assistant.core.verdicts import Verdict


@dataclass(frozen=True, slots=True)
class CheckReport:
    """Everything one ``check_paths`` run found."""

    files: tuple[FileCheck, ...]
    datasets: tuple[DatasetCheck, ...] = ()

    @property
    def all_ok(self) -> bool:
        """True when every standalone file and every dataset is acceptable as it is.

        A file in a dataset is judged through its dataset (an index XML on its own is
        not an image, but a complete, uncompressed export is fine); a file flagged with
        anything but ``dataset-member`` is not ok.
        """
        datasets = {d.id: d for d in self.datasets}
        for dataset in self.datasets:
            if not dataset.is_ok or dataset.flags:
                return False
        for check in self.files:
            if check.dataset in datasets:
                continue
            if not check.is_ok or (check.flags - {Flag.DATASET_MEMBER}):
                return False
        return True

    def groups(self) -> tuple[CheckGroup, ...]:
        """The report as units people think in: one per dataset, one per standalone file.

        A dataset's group holds its members' checks (expandable rows); groups come in the
        order their first file appears in ``files``.
        """
        by_id = {d.id: d for d in self.datasets}
        members: dict[str, list[FileCheck]] = {d.id: [] for d in self.datasets}
        order: list[str | FileCheck] = []
        for check in self.files:
            if check.dataset in members:
                if not members[check.dataset]:
                    order.append(check.dataset)
                members[check.dataset].append(check)
            else:
                order.append(check)
        order += [d.id for d in self.datasets if not members[d.id]]
        out = []
        for item in order:
            if isinstance(item, FileCheck):
                out.append(CheckGroup.of_file(item))
            else:
                out.append(CheckGroup.of_dataset(by_id[item], tuple(members[item])))
        return tuple(out)

    def counts(self) -> dict[str, int]:
        """How many files got each verdict."""
        out: dict[str, int] = {}
        for check in self.files:
            out[str(check.verdict)] = out.get(str(check.verdict), 0) + 1
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.all_ok,
            "counts": self.counts(),
            "files": [f.as_dict() for f in self.files],
            "datasets": [d.as_dict() for d in self.datasets],
        }


@dataclass(frozen=True, slots=True)
class CheckGroup:
    """One row of the "datasets as units" view: a whole dataset, or one standalone file.

    ``files`` are the rows it expands to (one for a standalone file). ``verdict``,
    ``flags``, ``reasons`` and ``next_step`` are the dataset's (or the file's) overall ones.
    """

    id: str
    kind: str  # the dataset's kind, or "file"
    anchor: Path
    verdict: Verdict
    flags: frozenset[Flag]
    reasons: tuple[str, ...]
    next_step: str
    files: tuple[FileCheck, ...]
    missing: tuple[Path, ...] = ()

    @classmethod
    def of_file(cls, check: FileCheck) -> CheckGroup:
        return cls(
            id=str(check.path),
            kind="file",
            anchor=check.path,
            verdict=check.verdict,
            flags=check.flags - {Flag.DATASET_MEMBER},
            reasons=check.reasons,
            next_step=check.next_step,
            files=(check,),
        )

    @classmethod
    def of_dataset(cls, dataset: DatasetCheck, files: tuple[FileCheck, ...]) -> CheckGroup:
        return cls(
            id=dataset.id,
            kind=dataset.kind,
            anchor=dataset.anchor,
            verdict=dataset.verdict,
            flags=dataset.flags,
            reasons=dataset.reasons,
            next_step=dataset.next_step,
            files=files,
            missing=dataset.missing,
        )

    @property
    def is_dataset(self) -> bool:
        return self.kind != "file"

    @property
    def folder(self) -> Path:
        return self.anchor.parent

    @property
    def file_count(self) -> int:
        return len(self.files)

    @property
    def size(self) -> int:
        """Bytes in all its files (files whose size is unknown count as 0)."""
        return sum(f.size or 0 for f in self.files)

    @property
    def is_ok(self) -> bool:
        return self.verdict.is_ok and not self.flags

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "anchor": str(self.anchor),
            "folder": str(self.folder),
            "verdict": str(self.verdict),
            "flags": sorted(str(f) for f in self.flags),
            "reasons": list(self.reasons),
            "next_step": self.next_step,
            "size": self.size,
            "file_count": self.file_count,
            "missing": [str(p) for p in self.missing],
            "files": [str(f.path) for f in self.files],
        }

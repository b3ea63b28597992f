"""Values the file check returns: verdicts, flags, per-file and per-dataset results.

Thread contract: plain frozen values, safe to share between threads. Nothing here does I/O.

Verdicts themselves (values, order, labels) are :mod:`almc_assistant.core.verdicts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from almc_assistant.core.verdicts import Verdict


class Flag(StrEnum):
    """Warnings that can accompany any verdict."""

    RENDERED_SNAPSHOT = "8bit-rgb-or-palette"
    REDUCED_BIT_DEPTH = "8bit-from-higher-bit-depth"
    ND2_LOSSY = "nd2-lossy-compression"
    MIXED_COMPRESSION = "mixed-compression"
    DATASET_MEMBER = "dataset-member"
    # Added from the red-flag list (DOMAIN.md 4): thresholded or processed data.
    BILEVEL = "1bit-thresholded"
    FLOAT_PROCESSED = "32bit-float"
    FLOAT16 = "16bit-float"
    FLOAT64 = "64bit-float"
    # Added (issue 16): a native format recognised but whose structure is not walked, so
    # completeness is unknown; and native files whose pixels were stored lossily (CZI
    # JPEG / JPEG XR subblocks, VSI/ETS JPEG tiles).
    STRUCTURE_NOT_CHECKED = "structure-not-checked"
    NATIVE_LOSSY = "native-lossy-compression"


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class FileCheck:
    """The verdict on one file, with reasons in plain words and what to do next.

    ``details`` holds what the headers said (dimensions, dtype, pages, compression per
    page, ND2 version, acquisition time, ...): JSON-friendly values only.
    """

    path: Path
    verdict: Verdict
    format: str
    size: int | None
    reasons: tuple[str, ...]
    next_step: str
    flags: frozenset[Flag] = frozenset()
    details: Mapping[str, Any] = field(default_factory=lambda: _frozen(None))
    dataset: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.details, MappingProxyType):
            object.__setattr__(self, "details", _frozen(self.details))

    @property
    def is_ok(self) -> bool:
        return self.verdict.is_ok

    @property
    def folder(self) -> Path:
        """The folder the file is in (tells apart rows with the same file name)."""
        return self.path.parent

    def as_dict(self) -> dict[str, Any]:
        """JSON form (the ``check --json`` contract)."""
        return {
            "path": str(self.path),
            "folder": str(self.folder),
            "verdict": str(self.verdict),
            "flags": sorted(str(f) for f in self.flags),
            "reasons": list(self.reasons),
            "next_step": self.next_step,
            "format": self.format,
            "size": self.size,
            "dataset": self.dataset,
            "details": dict(self.details),
        }


@dataclass(frozen=True, slots=True)
class DatasetCheck:
    """A multi-file dataset judged as one (a Harmony export, an OIF with its folder, ...).

    ``id`` is the path of the file that anchors the dataset (the index XML, the ``.oif``,
    the ``.vsi``...); ``missing`` lists files the dataset needs that are not there.
    """

    id: str
    kind: str
    anchor: Path
    members: tuple[Path, ...]
    missing: tuple[Path, ...]
    verdict: Verdict
    reasons: tuple[str, ...]
    next_step: str
    flags: frozenset[Flag] = frozenset()

    @property
    def is_ok(self) -> bool:
        return self.verdict.is_ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "anchor": str(self.anchor),
            "verdict": str(self.verdict),
            "flags": sorted(str(f) for f in self.flags),
            "reasons": list(self.reasons),
            "next_step": self.next_step,
            "members": len(self.members),
            "missing": [str(p) for p in self.missing],
        }


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


@dataclass(frozen=True, slots=True)
class PartialDataset:
    """A selection that holds only part of a multi-file dataset (warn before copy/delete)."""

    dataset: str
    kind: str
    anchor: Path
    selected: tuple[Path, ...]
    left_out: tuple[Path, ...]

    def message(self) -> str:
        return (
            f"Only {len(self.selected)} of {len(self.selected) + len(self.left_out)} files of "
            f"the {self.kind} '{self.anchor.name}' are selected; the others belong with them "
            "(copy or delete the whole dataset together)."
        )

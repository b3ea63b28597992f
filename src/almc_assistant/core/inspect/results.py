"""What the check found: one file's result, one dataset's, a selection holding part of one.

Thread contract: plain frozen values, safe to share between threads. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from almc_assistant.core.inspect.flags import Flag
from almc_assistant.core.verdicts import Verdict


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

"""Datasets as units for lists of files already known (the wizard, status, receipts).

Thread contract: reads folder listings (one per folder, cached per :class:`UnitFinder`),
never file contents except a Harmony index when asked for what a dataset lacks; call it
from a worker or the CLI, never the GUI thread. A finder is not shared between threads.

``check_paths`` judges datasets from their contents; this only says which files belong
together, by the same layout rules (:mod:`almc_assistant.core.inspect.datasets`), so a
list of catalog records (a session's files, the files not yet safe, the copies of a job)
can be shown one row per dataset.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from almc_assistant.core.inspect import datasets

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DatasetUnit:
    """The dataset a file belongs to: its id (the anchor's path), kind and anchor."""

    id: str
    kind: str
    anchor: Path

    @property
    def label(self) -> str:
        return dataset_label(self.kind, self.anchor)

    @property
    def folder(self) -> Path:
        """The folder that holds the dataset (a Harmony export's, not its Images/)."""
        return dataset_folder(self.kind, self.anchor)


def dataset_folder(kind: str, anchor: Path) -> Path:
    folder = anchor.parent
    if kind == datasets.HARMONY and folder.name.lower() == "images":
        return folder.parent
    return folder


def dataset_label(kind: str, anchor: Path) -> str:
    """A short name for a dataset, as people call it: the export folder of a Harmony
    plate, the acquisition prefix of a Micro-Manager stack, the first file of an ND2
    series and an ellipsis."""
    if kind == datasets.HARMONY:
        return dataset_folder(kind, anchor).name or str(anchor)
    if kind == datasets.MMSTACK:
        return anchor.name[: -len("_MMStack")] or anchor.name
    if kind == datasets.ND2_SERIES:  # its first file, and more
        return f"{anchor.name} …"
    return anchor.name


class UnitFinder:
    """Which dataset each file belongs to (listings cached for this finder's life)."""

    def __init__(self) -> None:
        self._disk = datasets.Disk()

    def unit_of(self, path: str | os.PathLike[str]) -> DatasetUnit | None:
        found = datasets.anchor_of(Path(path), self._disk)
        if found is None:
            return None
        kind, anchor = found
        return DatasetUnit(id=str(anchor), kind=kind, anchor=anchor)

    def key(self, path: Path) -> tuple[str, str, str] | None:
        """``(id, kind, name)`` of ``path``'s dataset (what a copy receipt lists)."""
        unit = self.unit_of(path)
        return None if unit is None else (unit.id, unit.kind, unit.label)


def units_of(paths: Iterable[str | os.PathLike[str]]) -> dict[str, DatasetUnit]:
    """``str(path)`` -> its dataset, for the paths that belong to one."""
    finder = UnitFinder()
    out: dict[str, DatasetUnit] = {}
    for path in paths:
        unit = finder.unit_of(path)
        if unit is not None:
            out[str(path)] = unit
    return out


def group_by_dataset(
    items: Iterable[T], path_of: Callable[[T], str | os.PathLike[str]]
) -> list[tuple[DatasetUnit | None, list[T]]]:
    """``items`` as units: one entry per dataset (its items), one per loose item (its
    unit is None), in the order each unit's first item comes."""
    finder = UnitFinder()
    order: list[tuple[DatasetUnit | None, list[T]]] = []
    index: dict[str, int] = {}
    for item in items:
        unit = finder.unit_of(path_of(item))
        if unit is None:
            order.append((None, [item]))
            continue
        at = index.get(unit.id)
        if at is None:
            index[unit.id] = len(order)
            order.append((unit, [item]))
        else:
            order[at][1].append(item)
    return order

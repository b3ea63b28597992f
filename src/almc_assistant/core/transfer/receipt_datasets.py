"""The receipt's dataset section: the verified copies of each multi-file dataset, listed
together (a plate's 303 files, an ND2 series), as an addition to the receipt's rows.

Thread contract: called on the job thread when the receipt is written. ``dataset_of``
is the service's (it knows datasets; ``transfer`` does not import ``inspect``): it may
list folders, never reads file contents.

The section is an optional key (``"datasets"``) next to ``"verified"``; every entry still
stands alone in ``"verified"``, so readers of earlier receipts (``core.receipts``) and
receipts without the key both keep working: nothing here changes how a copy is proved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from almc_assistant.core.copies import CopyRecord

# source file -> (dataset id, kind, short name), or None for a file of no dataset
DatasetOf = Callable[[Path], "tuple[str, str, str] | None"]


def remembered(dataset_of: DatasetOf | None) -> DatasetOf | None:
    """``dataset_of`` answering each source once per job: the receipts of a job's
    destinations list the same sources (a second destination asks nothing again). An
    ``OSError`` is not remembered (the next receipt asks again)."""
    if dataset_of is None:
        return None
    answers: dict[Path, tuple[str, str, str] | None] = {}

    def of(source: Path) -> tuple[str, str, str] | None:
        try:
            return answers[source]
        except KeyError:
            found = answers[source] = dataset_of(source)
            return found

    return of


def dataset_sections(
    records: Iterable[CopyRecord], dataset_of: DatasetOf | None
) -> list[dict[str, object]]:
    """One entry per dataset with verified copies here: its id, kind, name, the copies'
    paths relative to the destination, how many and their bytes."""
    if dataset_of is None:
        return []
    sections: dict[str, dict[str, object]] = {}
    files: dict[str, list[str]] = {}
    sizes: dict[str, int] = {}
    for record in records:
        try:
            found = dataset_of(record.source)
        except OSError:
            found = None
        if found is None:
            continue
        key, kind, name = found
        if key not in sections:
            sections[key] = {"dataset": key, "kind": kind, "name": name}
            files[key], sizes[key] = [], 0
        files[key].append(record.relpath)
        sizes[key] += record.size
    return [
        {**head, "file_count": len(files[k]), "size": sizes[k], "files": sorted(files[k])}
        for k, head in sections.items()
    ]

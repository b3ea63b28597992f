"""What is this file? Header-only checks returning a verdict with plain-word reasons.

Thread contract: ``check_file`` may be called from any number of threads at once;
``check_paths`` blocks its caller and runs its own worker pool. Neither modifies a file.

Public API (the service, the catalog and the GUI rely on it)::

    check_file(path) -> FileCheck
    check_paths(paths, *, sink=None, workers=None) -> CheckReport
    partial_datasets(selected_paths) -> list[PartialDataset]
    dataset_of(path) -> str | None
    Verdict, Flag, FileCheck, DatasetCheck, CheckReport, PartialDataset
    CheckGroup   (CheckReport.groups(): one row per dataset or standalone file)
    DatasetUnit, UnitFinder, units_of, group_by_dataset   (known files as datasets)
    CheckStarted, FileChecked, CheckFinished   (events published by check_paths)
"""

from almc_assistant.core.inspect.checker import check_file
from almc_assistant.core.inspect.events import CheckFinished, CheckStarted, FileChecked
from almc_assistant.core.inspect.model import (
    CheckGroup,
    CheckReport,
    DatasetCheck,
    FileCheck,
    Flag,
    PartialDataset,
)
from almc_assistant.core.inspect.run import check_paths, dataset_of, partial_datasets
from almc_assistant.core.inspect.units import (
    DatasetUnit,
    UnitFinder,
    group_by_dataset,
    units_of,
)
from almc_assistant.core.verdicts import Verdict

__all__ = [
    "CheckFinished",
    "CheckGroup",
    "CheckReport",
    "CheckStarted",
    "DatasetCheck",
    "DatasetUnit",
    "FileCheck",
    "FileChecked",
    "Flag",
    "PartialDataset",
    "UnitFinder",
    "Verdict",
    "check_file",
    "check_paths",
    "dataset_of",
    "group_by_dataset",
    "partial_datasets",
    "units_of",
]

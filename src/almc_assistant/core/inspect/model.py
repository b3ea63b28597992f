"""Values the file check returns, under one name (kept for the modules importing it).

Thread contract: plain frozen values, safe to share between threads. Nothing here does I/O.

Split by responsibility: :mod:`~almc_assistant.core.inspect.flags` (warnings that may
accompany a verdict), :mod:`~almc_assistant.core.inspect.results` (one file's and one
dataset's findings) and :mod:`~almc_assistant.core.inspect.report` (a run's report and
its units). Verdicts themselves (values, order, labels) are
:mod:`almc_assistant.core.verdicts`.
"""

from almc_assistant.core.inspect.flags import Flag
from almc_assistant.core.inspect.report import CheckGroup, CheckReport
from almc_assistant.core.inspect.results import DatasetCheck, FileCheck, PartialDataset

__all__ = [
    "CheckGroup",
    "CheckReport",
    "DatasetCheck",
    "FileCheck",
    "Flag",
    "PartialDataset",
]

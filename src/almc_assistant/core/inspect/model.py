"""Values the file check returns, under one name (kept for the modules importing it).

Thread contract: plain frozen values, safe to share between threads. Nothing here does I/O.

Split by responsibility: :mod:`~almc_assistant.core.inspect.verdict` (what a file is:
``Verdict``, ``Flag``), :mod:`~almc_assistant.core.inspect.results` (one file's and one
dataset's findings) and :mod:`~almc_assistant.core.inspect.report` (a run's report and
its units). The verdict strings are a contract (``check --json``, the catalog, the GUI).
"""

from almc_assistant.core.inspect.report import CheckGroup, CheckReport
from almc_assistant.core.inspect.results import DatasetCheck, FileCheck, PartialDataset
from almc_assistant.core.inspect.verdict import Flag, Verdict

__all__ = [
    "CheckGroup",
    "CheckReport",
    "DatasetCheck",
    "FileCheck",
    "Flag",
    "PartialDataset",
    "Verdict",
]

"""Cleanup: which files retention allows to delete, and deleting only proven-safe ones.

Thread contract: see the modules. ``plan`` reads the catalog (any thread); ``apply`` does
heavy I/O and deletes (a worker or the CLI, one cleanup at a time).

- ``plan``: candidates by retention, kept files with the reason (acquiring, damaged,
  not safe per device, part of a dataset not all safe).
- ``apply``: each deletion proven right before it from the files themselves, through
  handles (``core.handles``), on evidence no other user can forge (``core.evidence``).
- ``checks``: the source and copy checks; ``audit``: the audit log.
"""

from almc_assistant.core.cleanup.apply import apply_cleanup
from almc_assistant.core.cleanup.plan import (
    BLOCKING_VERDICTS,
    Action,
    CleanupItem,
    CleanupOutcome,
    CleanupPlan,
    CleanupResult,
    DatasetPart,
    PartFinder,
    blocking_verdict,
    keep_unchecked_damage,
    keep_whole_datasets,
    plan_cleanup,
)

__all__ = [
    "BLOCKING_VERDICTS",
    "Action",
    "CleanupItem",
    "CleanupOutcome",
    "CleanupPlan",
    "CleanupResult",
    "DatasetPart",
    "PartFinder",
    "apply_cleanup",
    "blocking_verdict",
    "keep_unchecked_damage",
    "keep_whole_datasets",
    "plan_cleanup",
]

"""The catalog: files seen on the workstation, their verdicts, and their verified copies.

Thread contract: see :mod:`almc_assistant.core.catalog.store` (usable from any thread and
from several processes sharing one database file).
"""

from almc_assistant.core.catalog.connection import (
    CatalogBusyError,
    CatalogCorruptError,
    CatalogError,
    CatalogFullError,
    Recovery,
)
from almc_assistant.core.catalog.records import (
    FileRecord,
    FileState,
    SessionRecord,
    SessionTotals,
)
from almc_assistant.core.catalog.store import Catalog, SafetyRule, age_reference

__all__ = [
    "Catalog",
    "CatalogBusyError",
    "CatalogCorruptError",
    "CatalogError",
    "CatalogFullError",
    "FileRecord",
    "FileState",
    "Recovery",
    "SafetyRule",
    "SessionRecord",
    "SessionTotals",
    "age_reference",
]

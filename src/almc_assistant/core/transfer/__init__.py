"""Verified copy: read each source byte once, write every destination, prove each copy.

Public API (everything else in this package is internal):

- :func:`start_copy` (returns a :class:`CopyJob` at once) and :func:`run_copy` (same job
  on the calling thread), taking a :class:`CopyRequest` and an ``EventSink``;
- :func:`verify_destination` re-reads what a destination's manifest lists;
- the events in :mod:`almc_assistant.core.transfer.events`.

Thread contract: see each module; events may arrive from any worker thread.
"""

from almc_assistant.core.transfer.concurrency import default_workers
from almc_assistant.core.transfer.events import (
    READ_BACK_CACHED,
    READ_BACK_EVICTED,
    READ_BACK_FROM_STORAGE,
    READ_BACK_IN_MEMORY,
    READ_BACK_UNBUFFERED,
    CopyFailed,
    CopyPendingUpload,
    CopyRetried,
    CopySkipped,
    CopyVerified,
    DestinationRefused,
    EntryChecked,
    FileProgress,
    JobFinished,
    JobProgressed,
    JobSnapshot,
    JobStarted,
    JobSummary,
    SourceSkipped,
)
from almc_assistant.core.transfer.hooks import CopyHooks
from almc_assistant.core.transfer.job import (
    CopyJob,
    CopyRequest,
    JobResult,
    run_copy,
    start_copy,
)
from almc_assistant.core.transfer.naming import MANIFEST_NAME, RECEIPTS_DIR
from almc_assistant.core.transfer.targets import OnConflict
from almc_assistant.core.transfer.verifier import VerifyReport, verify_destination

__all__ = [
    "MANIFEST_NAME",
    "READ_BACK_CACHED",
    "READ_BACK_EVICTED",
    "READ_BACK_FROM_STORAGE",
    "READ_BACK_IN_MEMORY",
    "READ_BACK_UNBUFFERED",
    "RECEIPTS_DIR",
    "CopyFailed",
    "CopyHooks",
    "CopyJob",
    "CopyPendingUpload",
    "CopyRequest",
    "CopyRetried",
    "CopySkipped",
    "CopyVerified",
    "DestinationRefused",
    "EntryChecked",
    "FileProgress",
    "JobFinished",
    "JobProgressed",
    "JobResult",
    "JobSnapshot",
    "JobStarted",
    "JobSummary",
    "OnConflict",
    "SourceSkipped",
    "VerifyReport",
    "default_workers",
    "run_copy",
    "start_copy",
    "verify_destination",
]

"""The copy pipeline's test seam and its sizes.

Thread contract: frozen values, safe anywhere; the hooks run on the worker's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from almc_assistant.core.transfer.readback import FlushHook
from almc_assistant.core.transfer.scan import FileTask

CHUNK = 4 << 20  # bytes per read from the source (a file up to this size is read whole)
WINDOW = 32 << 20  # bytes per flush/evict/read-back window of a large file


@dataclass(frozen=True, slots=True)
class CopyHooks:
    """Test seam (never set in production).

    ``before_file(task)`` runs before anything of a file is opened (between files).
    ``on_chunk(task, bytes_read)`` runs after each source chunk is read and written.
    ``after_flush(partial, start, end)`` runs after a window of a partial is flushed and
    evicted, right before it is read back: a test may flip a byte on disk there.
    """

    before_file: Callable[[FileTask], None] | None = None
    on_chunk: Callable[[FileTask, int], None] | None = None
    after_flush: FlushHook | None = None

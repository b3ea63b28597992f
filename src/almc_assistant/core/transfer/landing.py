"""The destination side of one file's copy, after its bytes are verified: final name,
or settle with a file already there.

Thread contract: pure steps on one target, callable from any worker. Shared by the
one-file copier and the grouped small-file path (one per-file pipeline for both).

- :func:`land`: give the verified partial its final name (:mod:`publish`, never
  replacing). If the name was taken meanwhile (another job, process or user copying the
  same file), the file there is :func:`settle`\\ d instead of failing.
- :func:`settle` (also used to adopt a same-size file found when planning): read the
  file at the final name from storage, never through a link, and compare its BLAKE3 with
  the source's. Equal: the copy is there (``Verified``, ``adopted``). Otherwise
  ``Differs``: the worker plans a "keep both" name (or skips/fails, per policy). A manifest
  line, a size and an mtime are never taken as proof: only the bytes are.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core.transfer.faults import CopyError
from almc_assistant.core.transfer.hashing import hash_existing
from almc_assistant.core.transfer.publish import publish
from almc_assistant.core.transfer.targets import Target


@dataclass(frozen=True, slots=True)
class Verified:
    digest: str
    verified_at: float
    adopted: bool
    already: bool = False  # adopted, and the manifest already listed these bytes here


@dataclass(frozen=True, slots=True)
class Differs:
    """The file at the target name holds other bytes (or is a link, or not a file)."""


Result = Verified | Differs | CopyError


def settle(
    t: Target, digest: str, buf: bytearray, checkpoint: Callable[[], None] | None = None
) -> Verified | Differs:
    """Compare the file at ``t.final`` with ``digest``; record it in the manifest if equal.

    ``OSError`` propagates (the caller classifies it).
    """
    if hash_existing(t.final, buf, checkpoint) != digest:
        return Differs()
    already = t.dest.manifest.lookup(t.relpath) == digest
    t.dest.manifest.record(t.relpath, digest)
    return Verified(digest, time.time(), adopted=True, already=already)


def land(partial: Path, t: Target, digest: str, buf: bytearray) -> Verified | Differs:
    """Rename the verified ``partial`` to ``t.final``, or settle with what is there.

    A renamed copy (``adopted`` False) is recorded by the caller once the rename is
    durable; a settled one is recorded here. ``OSError`` propagates.
    """
    if not publish(partial, t.final):
        return settle(t, digest, buf)
    return Verified(digest, time.time(), adopted=False)

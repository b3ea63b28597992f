"""The copy engine's errors and their classification (retry or report).

Thread contract: plain values and pure functions, safe from any thread.

Retry policy (after rclone's classified retries): a read-back mismatch and transient
I/O errors are retried a bounded number of times; a full disk, a quota, permission
denied, a read-only file system, a name or size the file system cannot hold, a vanished
destination and a source that changed are reported at once. Errors that make a whole
destination unusable (full, read-only, gone) stop further work for that destination.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from almc_assistant.core.errors import AlmcError, describe_os_error
from almc_assistant.core.winfiles import held_by_another_program

MAX_ATTEMPTS = 3  # one copy and up to two retries

_NOT_RETRIED = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENAMETOOLONG,
    errno.EFBIG,
    errno.EINVAL,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.EEXIST,
}
_DESTINATION_DEAD = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


class CopyError(AlmcError):
    """A copy of one file to one destination failed. ``retryable`` drives the retry loop."""

    title = "Copy failed"

    def __init__(
        self,
        detail: str,
        *,
        title: str | None = None,
        next_step: str = "",
        paths: tuple[str | os.PathLike[str], ...] = (),
        retryable: bool = False,
        destination_dead: bool = False,
    ) -> None:
        super().__init__(detail, title=title, next_step=next_step, paths=paths)
        self.retryable = retryable
        self.destination_dead = destination_dead


class VerificationMismatch(CopyError):
    title = "Copy did not match"


class SourceChanged(CopyError):
    title = "File changed while it was copied"


class Cancelled(Exception):
    """The job was cancelled; partials are removed by whoever catches this."""


def mismatch(source: Path, partial: Path, expected: str, actual: str) -> VerificationMismatch:
    return VerificationMismatch(
        f"The copy of {source} read back from the destination does not match the source "
        f"(source BLAKE3 {expected[:16]}…, copy {actual[:16]}…). The bad copy was removed; "
        f"no final file was created.",
        next_step="Check the destination drive or connection (it may be failing); copy again.",
        paths=(source, partial),
        retryable=True,
    )


def source_changed(source: Path, what: str) -> SourceChanged:
    return SourceChanged(
        f"{source} changed while it was being copied ({what}). The copy was discarded.",
        next_step="Wait until the acquisition or export has finished writing it, then copy again.",
        paths=(source,),
        retryable=False,
    )


def from_os_error(exc: OSError, *, action: str, path: Path, source: Path) -> CopyError:
    """Wrap an ``OSError`` during the copy of ``source`` (``path`` is where it happened)."""
    plain = describe_os_error(exc, action=action, path=path)
    detail = plain.detail
    if path != source:
        detail += f" (while copying {source})"
    err = CopyError(
        detail,
        title=plain.title,
        next_step=plain.next_step,
        paths=(source, path),
        # Windows: a file held by another program (antivirus) is retried, with the reason
        retryable=exc.errno not in _NOT_RETRIED or held_by_another_program(exc, path),
        destination_dead=exc.errno in _DESTINATION_DEAD,
    )
    err.__cause__ = exc
    return err


def appeared(final: Path, source: Path) -> CopyError:
    return CopyError(
        f"A file appeared at {final} while {source} was being copied; it was not overwritten.",
        title=f"{final.name} appeared meanwhile",
        next_step="Run the copy again.",
        paths=(source, final),
    )


def destination_gone(root: Path, source: Path) -> CopyError:
    return CopyError(
        f"The destination {root} is no longer available (unplugged, unmounted or removed) "
        f"while copying {source}.",
        title=f"Destination {root.name or root} disappeared",
        next_step="Reconnect the drive or share and run the copy again; verified files "
        "are kept and will not be copied twice.",
        paths=(root, source),
        retryable=False,
        destination_dead=True,
    )

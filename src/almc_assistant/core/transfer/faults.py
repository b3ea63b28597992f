"""The copy engine's errors and their classification (retry or report).

Thread contract: plain values and pure functions, safe from any thread.

Retry policy (after rclone's classified retries): a read-back mismatch and transient
I/O errors are retried a bounded number of times; a full disk, a quota, permission
denied, a read-only file system, a name or size the file system cannot hold, a vanished
destination and a source that changed are reported at once. Errors that make a whole
destination unusable (full, read-only, gone) stop further work for that destination.

Windows: a file held by another program without sharing (an antivirus scanning the copy
it just saw written, keeping it from being renamed; the acquisition software still
writing the source) is retried on a longer, bounded backoff (:data:`IN_USE_DELAYS`, about
8 s in all), each retry with the reason; after the last one the error says how long it
waited.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path, PurePath

from almc_assistant.core.errors import AlmcError, describe_os_error
from almc_assistant.core.winfiles import held_by_another_program

MAX_ATTEMPTS = 3  # one copy and up to two retries
IN_USE_DELAYS = (0.25, 0.5, 1.0, 2.0, 4.0)  # seconds before each retry of a file in use

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
        in_use: bool = False,
    ) -> None:
        super().__init__(detail, title=title, next_step=next_step, paths=paths)
        self.retryable = retryable
        self.destination_dead = destination_dead
        self.in_use = in_use  # Windows: held open by another program, sharing refused

    @property
    def max_attempts(self) -> int:
        return len(IN_USE_DELAYS) + 1 if self.in_use else MAX_ATTEMPTS


def retry_delay(attempt: int, in_use: bool) -> float:
    """Seconds to wait before ``attempt`` (2 or more); ``in_use``: a file was held."""
    if in_use:
        return IN_USE_DELAYS[min(attempt - 2, len(IN_USE_DELAYS) - 1)]
    return 0.1 * attempt


def still_in_use(err: CopyError, attempts: int) -> CopyError:
    """``err`` after its last retry: the same error, saying how long it was waited for."""
    waited = sum(IN_USE_DELAYS[: attempts - 1])
    out = CopyError(
        f"{err.detail} It was still in use after {attempts} tries over {waited:g} s.",
        title=err.title,
        next_step=err.next_step,
        paths=tuple(err.paths),
        destination_dead=err.destination_dead,
        in_use=True,
    )
    out.__cause__ = err.__cause__
    return out


class VerificationMismatch(CopyError):
    title = "Copy did not match"


class SourceChanged(CopyError):
    title = "File changed while it was copied"


class Cancelled(Exception):
    """The job was cancelled; partials are removed by whoever catches this."""


def mismatch(source: Path, partial: PurePath, expected: str, actual: str) -> VerificationMismatch:
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
    in_use = held_by_another_program(exc, path)
    # Windows: the C runtime reports a sharing violation as plain EACCES, and one that has
    # ended by the time we ask (another job's read-back, a scanner) cannot be told from a
    # real "access denied": it gets the quick retries, and fails as denied if it persists
    ambiguous = os.name == "nt" and exc.errno == errno.EACCES and not getattr(exc, "winerror", 0)
    detail = plain.detail
    if path != source:
        detail += f" (while copying {source})"
    err = CopyError(
        detail,
        title=plain.title,
        next_step=plain.next_step,
        paths=(source, path),
        # Windows: a file held by another program (antivirus) is retried, with the reason
        retryable=exc.errno not in _NOT_RETRIED or in_use or ambiguous,
        destination_dead=exc.errno in _DESTINATION_DEAD,
        in_use=in_use,
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

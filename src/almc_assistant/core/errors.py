"""Errors a user can act on: a short title, what happened, what to do next, the paths.

Thread contract: plain values, safe anywhere. Every error the core raises on purpose
derives from :class:`AlmcError`; front ends show ``title``, ``detail`` and ``next_step``
and never a traceback. Unexpected exceptions are wrapped with :func:`describe_os_error`
so that even an ``OSError`` from deep inside a copy reaches the user in plain words.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from almc_assistant.core.winfiles import IN_USE, IN_USE_NEXT, held_by_another_program


class AlmcError(Exception):
    """Base class: something the user (or staff) can understand and act on."""

    title: str = "Something went wrong"

    def __init__(
        self,
        detail: str,
        *,
        title: str | None = None,
        next_step: str = "",
        paths: tuple[str | os.PathLike[str], ...] = (),
    ) -> None:
        super().__init__(detail)
        if title is not None:
            self.title = title
        self.detail = detail
        self.next_step = next_step
        self.paths = tuple(str(p) for p in paths)

    def __str__(self) -> str:
        text = f"{self.title}: {self.detail}"
        if self.next_step:
            text += f" {self.next_step}"
        return text

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form (used by ``--json`` output and receipts)."""
        return {
            "error": type(self).__name__,
            "title": self.title,
            "detail": self.detail,
            "next_step": self.next_step,
            "paths": list(self.paths),
        }


class UsageError(AlmcError):
    """The command line or a call was used wrongly (exit status 2)."""

    title = "Cannot run that"


class ServiceStopped(AlmcError):
    """The service was stopped; it does not reopen its catalog or start workers again."""

    title = "almc-assistant is stopping"


class ConfigError(AlmcError):
    """A configuration file is invalid (file, key, reason)."""

    title = "Configuration problem"


_ERRNO_ADVICE: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("the disk is full", "Free space there or choose another destination."),
    errno.EDQUOT: ("the storage quota is used up", "Free space or ask for a larger quota."),
    errno.EACCES: ("permission was denied", "Check that you may read or write there."),
    errno.EPERM: ("the operation is not permitted", "Check the permissions there."),
    errno.EROFS: (
        "the storage is read-only",
        "Check that the drive is not write-protected and is mounted for writing.",
    ),
    errno.ENOENT: ("it does not exist (any more)", "Check that the drive or share is connected."),
    errno.ENAMETOOLONG: ("the name or path is too long", "Use a shorter folder or file name."),
    errno.EIO: (
        "an input/output error occurred (failing disk or lost connection)",
        "Check the drive or network connection and try again.",
    ),
    errno.ENOTDIR: ("a part of the path is not a folder", "Check the path."),
    errno.EISDIR: ("it is a folder, not a file", "Check the path."),
    errno.EFBIG: (
        "the file is too large for that file system",
        "Use a drive formatted as exFAT or NTFS.",
    ),
}


def describe_os_error(exc: OSError, *, action: str, path: str | os.PathLike[str]) -> AlmcError:
    """Turn an ``OSError`` into an :class:`AlmcError` naming the file and what to do.

    ``action`` is a verb phrase such as ``"read"`` or ``"write the copy of"``.
    """
    what, advice = _ERRNO_ADVICE.get(
        exc.errno or -1,
        (exc.strerror or str(exc) or type(exc).__name__, "Try again; if it persists, ask staff."),
    )
    if held_by_another_program(exc, path):  # Windows: EACCES from a refused share mode
        what, advice = IN_USE, IN_USE_NEXT
    p = Path(path)
    err = AlmcError(
        f"Could not {action} {p}: {what}.",
        title=f"Could not {action} {p.name}",
        next_step=advice,
        paths=(p,),
    )
    err.__cause__ = exc
    return err

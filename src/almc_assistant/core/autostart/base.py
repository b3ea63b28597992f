"""The port every start-at-login backend implements, and the file writes they share.

Thread contract: backends touch one small file or one registry value per call; call them
from any single thread at a time (the CLI's main thread, the settings dialog's Save, the
app's start-up). Writes are atomic: a temporary file beside the target, ``fsync``, then
``os.replace``, so a crash never leaves half an entry. Every failure is an
:class:`~almc_assistant.core.errors.AlmcError` naming the file and the next step.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from almc_assistant.core.atomicfile import write_atomically
from almc_assistant.core.errors import AlmcError, describe_os_error

ERROR_TITLE = "Cannot change starting at login"


class AutostartBackend(Protocol):
    """One operating system's way of starting a program when the user logs in."""

    @property
    def location(self) -> str:
        """Where the entry lives, for people (a file path, a registry value)."""
        ...

    def registered_command(self) -> tuple[str, ...] | None:
        """The command of an enabled entry; ``None`` when it does not start at login."""
        ...

    def enable(self, command: Sequence[str]) -> None:
        """Start ``command`` at login (replacing an older entry of ours)."""
        ...

    def disable(self) -> None:
        """Do not start at login; a no-op when already so."""
        ...


def write_entry(path: Path, data: bytes) -> None:
    """Write a start-at-login entry (or our marker) atomically; :class:`AlmcError`."""
    try:
        write_atomically(path, data)
    except OSError as exc:
        raise file_error(exc, "write the start-at-login entry", path) from exc


def remove_file(path: Path) -> None:
    """Remove ``path`` (nothing to do when it is already gone)."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise file_error(exc, "remove the start-at-login entry", path) from exc


def file_error(exc: OSError, action: str, path: Path) -> AlmcError:
    err = describe_os_error(exc, action=action, path=path)
    return AlmcError(
        err.detail,
        title=ERROR_TITLE,
        next_step=f"{err.next_step} Meanwhile, start almc-assistant yourself after you log in.",
        paths=(path,),
    )

"""The cleanup audit log: one JSON line per deletion, written and synced before it.

Thread contract: called by ``cleanup.apply`` (one cleanup at a time).

The log is opened ``O_APPEND | O_NOFOLLOW`` (never through a link), created 0600, and
must be a regular file owned by the user running cleanup; otherwise cleanup stops before
deleting anything more.
"""

from __future__ import annotations

import json
import os
import stat as stat_mod
from pathlib import Path

from almc_assistant.core.errors import AlmcError, describe_os_error

_FLAGS = (
    os.O_WRONLY
    | os.O_APPEND
    | os.O_CREAT
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOCTTY", 0)
)


def write(audit_log: Path, entry: dict[str, object]) -> None:
    """Append ``entry`` and sync it; :class:`AlmcError` when the log cannot be written."""
    try:
        audit_log.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(audit_log, _FLAGS, 0o600)
    except OSError as exc:
        raise _stopped(
            describe_os_error(exc, action="write the audit log", path=audit_log)
        ) from exc
    try:
        st = os.fstat(fd)
        if not stat_mod.S_ISREG(st.st_mode) or st.st_uid != _uid():
            raise _stopped(
                AlmcError(
                    f"The audit log {audit_log} is not a regular file of yours.",
                    next_step=f"Remove {audit_log} or move it aside, then run cleanup again.",
                )
            )
        data = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
        os.write(fd, data)
        os.fsync(fd)
    except OSError as exc:
        raise _stopped(
            describe_os_error(exc, action="write the audit log", path=audit_log)
        ) from exc
    finally:
        os.close(fd)


def _uid() -> int:
    getuid = getattr(os, "getuid", None)
    return getuid() if getuid is not None else 0


def _stopped(err: AlmcError) -> AlmcError:
    return AlmcError(
        f"{err.detail} Nothing more is deleted until it can be written.",
        title="Cleanup stopped",
        next_step=err.next_step,
        paths=err.paths,
    )

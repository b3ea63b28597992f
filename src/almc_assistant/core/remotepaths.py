"""Paths on remote destinations (``research:lab/me``): ``/`` between names on every system.

Thread contract: pure functions, safe anywhere.

A remote destination is named by its rclone spec, ``NAME:path``, and rclone reads only
``/`` as a separator: on most backends a ``\\`` in a remote path is part of a name. So a
place on a remote, as events, receipts, manifests and the catalog name it, is a
:class:`~pathlib.PurePosixPath` on every system, never a :class:`~pathlib.Path` (on
Windows that would give ``research:lab/me\\sub\\a.nd2``, a name no one can find); and a
source's path below a destination is ``/``-separated wherever it was listed
(:func:`~almc_assistant.core.layout.relative_destination`).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath, PurePosixPath

# Two characters or more before the first colon (a remote's name, as rclone accepts it),
# which no absolute local path has (``C:\\``, ``\\\\server``, ``/``).
_REMOTE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_. -]+:")


def is_remote(text: str) -> bool:
    """Whether ``text`` names a place on a remote (``research:lab/me``)."""
    return _REMOTE.match(text) is not None


def remote_path(spec: str, relpath: str = "") -> PurePosixPath:
    """``relpath`` (``/``-separated) below remote destination ``spec``, as the records
    name it: ``research:lab/me/sub/a.nd2`` on every system."""
    root = PurePosixPath(spec)
    return root / relpath if relpath else root


def recorded_path(text: str) -> PurePath:
    """A copy's root or path as a receipt or the catalog recorded it: on a remote, a
    :class:`PurePosixPath` (its ``str`` is the text again, on every system); otherwise
    the local :class:`Path`."""
    return PurePosixPath(text) if is_remote(text) else Path(text)

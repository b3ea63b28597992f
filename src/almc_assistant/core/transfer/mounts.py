"""Is a destination's drive there? Mount-point containers and the folders below them.

Thread contract: pure path rules plus a few ``stat`` calls; safe anywhere.

A USB drive mounted at ``/media/usb`` (``/media/USER/LABEL``, ``/run/media/USER/LABEL``,
``/mnt/X``, ``/Volumes/X``, a drive letter) leaves, once unplugged, either nothing at
that name or an empty folder on the system disk. Creating the missing folder, or writing
into the empty one, would put "verified" copies on the system disk while the user
believes they are on the drive. So a folder directly inside a mount-point container must
be a mount point (a different device from its container) before anything is written
beneath it, and no folder is ever created inside a container.

Containers: ``/media``, ``/mnt``, ``/Volumes``, ``/run/media`` and the per-user folders
``/media/USER`` and ``/run/media/USER``; on Windows a drive root (``D:\\``). A facility
with other mount roots lists them in ``ALMC_MOUNT_CONTAINERS`` (``os.pathsep``-separated).
"""

from __future__ import annotations

import os
from pathlib import Path

_CONTAINERS = ("/media", "/mnt", "/Volumes", "/run/media")
_PER_USER = ("/media", "/run/media")  # /media/USER/LABEL (Ubuntu), /run/media/USER/LABEL


def _base_containers() -> list[Path]:
    extra = os.environ.get("ALMC_MOUNT_CONTAINERS", "")
    return [Path(p) for p in (*_CONTAINERS, *extra.split(os.pathsep)) if p]


def _is_user(name: str) -> bool:
    try:
        import pwd

        pwd.getpwnam(name)
    except (ImportError, KeyError):
        return False
    return True


def is_container(folder: Path) -> bool:
    """Whether drives are mounted *inside* ``folder`` (so it is never a backup's home)."""
    if folder.parent == folder:  # "/" or a drive root: "/" is the system disk itself
        return os.name == "nt"
    if folder in _base_containers():
        return True
    return str(folder.parent) in _PER_USER and _is_user(folder.name)


def expected_mount(path: Path) -> Path | None:
    """The folder at or above ``path`` where a drive should be mounted (a folder directly
    inside a container), or ``None`` when ``path`` is not below a container."""
    for folder in (path, *path.parents):
        if folder.parent != folder and is_container(folder.parent) and not is_container(folder):
            return folder
    return None


def _same_device(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_dev == b.stat().st_dev
    except OSError:
        return False


def not_mounted(path: Path) -> str | None:
    """Why ``path``'s drive is not there (in plain words), or ``None`` when it is, or when
    ``path`` is not on a drive mounted inside a container."""
    mount = expected_mount(path)
    if mount is None:
        return None
    if not mount.is_dir():
        return f"{mount} does not exist"
    if os.name != "nt" and _same_device(mount, mount.parent):
        return f"{mount} is a folder on the same disk as {mount.parent}, not a mounted drive"
    return None

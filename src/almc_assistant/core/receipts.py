"""Reading copy receipts found at a destination as evidence for this user's own files.

Thread contract: plain functions (they read and stat files); call them from a service
worker or the CLI, never the GUI thread.

A receipt (``DEST/almc-receipts/*.json``, written by ``almc-assistant copy``) lists
verified copies. On a shared destination anyone could drop a file there, so a receipt
adds evidence only when it is this user's own (a regular file, not a link, owned by the
importing user and writable by nobody else), only for entries whose source is this
user's own regular file, and only about copies that lie, links resolved, under the
folder where the receipt was found and are this user's regular files of the listed
size. Each entry that fails costs only that entry. On Windows "owned by" is the owner
SID and "writable by nobody else" is read from the ACL (``core.winacl``). (Cleanup hashes
copies again before it deletes anything: a receipt is a hint that a copy exists, not
proof of its bytes.)
"""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
from pathlib import Path, PurePath

from almc_assistant.core import privatefs
from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.evidence import others_may_write

log = logging.getLogger(__name__)

MAX_RECEIPT_BYTES = 512 << 20


def _mine(st: os.stat_result, path: Path) -> bool:
    if sys.platform == "win32":  # pragma: no cover - Windows: owners are SIDs
        try:
            return _windows_owner(path) == _windows_me()
        except OSError:
            return False
    return st.st_uid == os.geteuid()


def _windows_me() -> str:  # pragma: no cover - Windows only (the Windows lane runs it)
    from almc_assistant.core import winacl

    return winacl.user_sid()


def _windows_owner(path: Path) -> str:  # pragma: no cover - Windows only
    from almc_assistant.core import winacl, wininfo

    handle = wininfo.open_handle(path, access=wininfo.READ_CONTROL)
    try:
        return winacl.security_of(handle).owner
    finally:
        wininfo.close(handle)


def _others_may_write(fd: int, uid: int) -> str:
    """Why someone else could have written the open receipt ("" when nobody could).

    Windows: the owner SID must be this user's and the ACL must let no other account
    (but SYSTEM and Administrators) write it, as POSIX requires the owner and the mode."""
    if sys.platform == "win32":  # pragma: no cover - Windows only (the Windows lane runs it)
        from almc_assistant.core import winacl, wininfo

        handle = wininfo.handle_of_fd(fd)
        me = winacl.user_sid()
        sec = winacl.security_of(handle)
        if sec.owner != me:
            return f"it belongs to another account ({sec.owner})"
        return winacl.writers_besides(sec, me)
    return others_may_write(os.fstat(fd), uid, fd)


def read_receipt(path: Path, found_in: Path | None = None) -> list[CopyRecord]:
    """The verified copies ``path`` lists that may count for this user.

    ``found_in`` is the destination folder the receipt was found in (default: the
    folder holding ``almc-receipts``); copies outside it are ignored. Nothing when the
    receipt is not this user's own or cannot be read.
    """
    root = found_in or path.parent.parent
    try:
        uid = os.geteuid() if privatefs.POSIX else 0
        with privatefs.read_foreign(path, uid=uid, max_bytes=MAX_RECEIPT_BYTES) as fh:
            why = _others_may_write(fh.fileno(), uid)
            if why:
                log.warning("copy receipt %s may be written by others (%s); ignored", path, why)
                return []
            doc = json.loads(fh.read().decode("utf-8"))
        entries = doc["verified"]
        if not isinstance(entries, list):
            raise TypeError("'verified' is not a list")
    except (AlmcError, OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("copy receipt %s ignored: %s", path, getattr(exc, "detail", exc))
        return []
    try:
        real_root = Path(os.path.realpath(root))
    except OSError:
        return []
    out: list[CopyRecord] = []
    for entry in entries:
        found = _entry(entry, root, real_root)
        if found is not None:
            out.append(found)
    return out


def _entry(e: object, root: Path, real_root: Path) -> CopyRecord | None:
    try:
        if not isinstance(e, dict):
            raise TypeError("an entry is not an object")
        record = CopyRecord.from_receipt_row(e, root)
    except (KeyError, TypeError, ValueError):
        return None  # a malformed entry costs only itself
    why = _refusal(record.source, record.path, record.size, root, real_root)
    if why:
        log.info("receipt entry for %s not counted: %s", record.source, why)
        return None
    return record


def _refusal(source: Path, dest: Path, size: int, root: Path, real_root: Path) -> str:
    if ".." in PurePath(dest).parts or not dest.is_absolute():
        return "the copy's path is not a plain absolute path"
    if not (dest == root or root in dest.parents):
        return f"the copy is not under {root}, where the receipt was found"
    try:
        real = Path(os.path.realpath(dest))
        src = source.lstat()
        copy = real.lstat()
    except OSError as exc:
        return f"cannot be checked ({exc.strerror})"
    if real_root not in real.parents:
        return f"the copy lies outside {root} once links are resolved"
    if not stat.S_ISREG(src.st_mode) or not _mine(src, source):
        return "the source is not your own regular file"
    if not stat.S_ISREG(copy.st_mode) or not _mine(copy, real):
        return "the copy is not your own regular file"
    if copy.st_size != size:
        return "the copy's size differs from the receipt"
    return ""

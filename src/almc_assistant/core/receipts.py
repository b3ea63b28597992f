"""Reading copy receipts found at a destination as evidence for this user's own files.

Thread contract: plain functions (they read and stat files); call them from a service
worker or the CLI, never the GUI thread.

A receipt (``DEST/almc-receipts/*.json``, written by ``almc-assistant copy``) lists
verified copies. On a shared destination anyone could drop a file there, so a receipt
adds evidence only when it is this user's own (a regular file, not a link, owned by the
importing user and writable by nobody else), only for entries whose source is this
user's own regular file, and only about copies that lie, links resolved, under the
folder where the receipt was found and are this user's regular files of the listed
size. Each entry that fails costs only that entry.

A receipt at a remote destination (``research:lab/me/almc-receipts/*.json``, read by the
service with the user's own sign-in: :func:`read_remote_receipt`) adds only rows whose
copy lies under that remote destination, is there now with the listed size, and was
proven when it was copied (a server hash or a download back, said in the row's
``proof``: a row without a verified proof never counts), for this user's own regular
files. Who wrote a file on a remote cannot be told from here: a remote receipt is a hint
like a local one (the file counts once it hashes as the row says; cleanup proves the
remote copy again before anything is deleted). On Windows "owned by" is the owner
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
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from almc_assistant.core import privatefs
from almc_assistant.core.copies import NOT_CONFIRMED, CopyRecord
from almc_assistant.core.destination_backend import ProofKind
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.evidence import others_may_write
from almc_assistant.core.remotepaths import remote_path

if TYPE_CHECKING:
    from almc_assistant.core.remote.rclone_backend import RcloneBackend
    from almc_assistant.core.remote.session import RemoteSession

log = logging.getLogger(__name__)

MAX_RECEIPT_BYTES = 512 << 20
_NOT_YOURS = "the source is not your own regular file"
# How a remote copy may have been proven for its receipt row to count (never "none").
PROVEN = frozenset(
    k.value for k in ProofKind if k not in (ProofKind.NONE, ProofKind.LOCAL_READ_BACK)
)


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
        record = _unconfirmed(CopyRecord.from_receipt_row(e, root))
    except (KeyError, TypeError, ValueError):
        return None  # a malformed entry costs only itself
    why = _refusal(record.source, record.path, record.size, root, real_root)
    if why:
        log.info("receipt entry for %s not counted: %s", record.source, why)
        return None
    return record


def _unconfirmed(record: CopyRecord) -> CopyRecord:
    """A receipt does not say which version of its source was copied: the copy counts
    only once the source, re-read from storage, hashes as the row says (``NOT_CONFIRMED``
    until then; a rename or a later change never makes it count)."""
    return replace(record, source_ident=NOT_CONFIRMED)


def _refusal(source: Path, dest: PurePath, size: int, root: Path, real_root: Path) -> str:
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
        return _NOT_YOURS
    if not stat.S_ISREG(copy.st_mode) or not _mine(copy, real):
        return "the copy is not your own regular file"
    if copy.st_size != size:
        return "the copy's size differs from the receipt"
    return ""


def read_remote_receipt(
    data: bytes, spec: str, size_of: Callable[[str], int | None], name: str = ""
) -> list[CopyRecord]:
    """The proven copies a receipt read from remote destination ``spec`` lists that may
    count for this user (see the module docstring). ``size_of(relpath)``: the size of the
    file at that path below ``spec`` now (``None`` when it is not there)."""
    try:
        doc = json.loads(data.decode("utf-8"))
        entries = doc["verified"]
        if not isinstance(entries, list):
            raise TypeError("'verified' is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("copy receipt %s at %s ignored: %s", name, spec, exc)
        return []
    out: list[CopyRecord] = []
    for e in entries:
        try:
            if not isinstance(e, dict):
                raise TypeError("an entry is not an object")
            record = _slashed(_unconfirmed(CopyRecord.from_receipt_row(e, remote_path(spec))), e)
        except (KeyError, TypeError, ValueError):
            continue  # a malformed entry costs only itself
        why = _remote_refusal(record, spec, size_of)
        if why:
            log.info("receipt entry for %s not counted: %s", record.source, why)
            continue
        out.append(record)
    return out


def _slashed(record: CopyRecord, row: dict[str, object]) -> CopyRecord:
    """``record`` at its row's ``relative_path`` below the receipt's remote destination,
    when its ``destination`` names that place with ``\\`` for ``/``: receipts written on
    Windows before remote paths were kept ``/``-separated (``remotepaths``) named their
    copies ``research:lab\\me\\a.nd2`` (their ``relative_path`` always had ``/``)."""
    rel = row.get("relative_path")
    if not isinstance(rel, str) or not rel:
        return record
    path = record.destination_root / rel
    if str(record.path) != str(path) and str(record.path) == str(path).replace("/", "\\"):
        return replace(record, path=path)
    return record


def _remote_refusal(record: CopyRecord, spec: str, size_of: Callable[[str], int | None]) -> str:
    proof = record.proof or {}
    if proof.get("proof") not in PROVEN or proof.get("verified") is not True:
        return f"the copy at {spec} was not proven when it was copied"
    expected, stored = str(proof.get("expected", "")), str(proof.get("stored", ""))
    if not expected or expected.lower() != stored.lower():
        return "its proof does not match"
    if proof.get("algorithm") == "blake3" and expected.lower() != record.blake3.lower():
        return "its proof is of other bytes than the row's BLAKE3"
    base = spec if spec.endswith((":", "/")) else spec + "/"
    text = record.path.as_posix()
    rel = text[len(base) :].lstrip("/") if text.startswith(base) else ""
    if not rel or ".." in rel.split("/"):
        return f"the copy is not under {spec}, where the receipt was found"
    source = record.source
    try:
        src = source.lstat()
    except OSError as exc:
        return f"cannot be checked ({exc.strerror})"
    if not source.is_absolute() or not stat.S_ISREG(src.st_mode) or not _mine(src, source):
        return _NOT_YOURS
    try:
        size = size_of(rel)
    except (AlmcError, OSError) as exc:
        return f"{spec} cannot be checked now ({getattr(exc, 'detail', exc)})"
    if size is None:
        return f"the copy is no longer at {spec}"
    if size != record.size:
        return "the copy's size differs from the receipt"
    return ""


def remote_receipts(
    specs: Sequence[str],
    seen: Callable[[str], object],
    config: Path | None = None,
    *,
    session: RemoteSession | None = None,
) -> list[tuple[str, list[CopyRecord]]]:
    """The receipts at remote destinations ``specs`` not ``seen`` yet (by their key,
    ``receipt:<spec>/almc-receipts/<name>``), each with the copies it adds
    (:func:`read_remote_receipt`), read with the user's own sign-in (their private
    rclone config, or ``config``). A remote that cannot be reached now is skipped (its
    receipts are read next time). Blocking. ``session``: the service's rclone daemon
    (left running); without it one is started and stopped here."""
    if not specs:
        return []
    from almc_assistant.core.remote.session import RemoteSession
    from almc_assistant.core.transfer.naming import RECEIPTS_DIR

    out: list[tuple[str, list[CopyRecord]]] = []
    own = session is None
    remote = RemoteSession(config) if session is None else session
    try:
        for spec in specs:
            try:  # no probe file is written: only our own records are read
                backend = remote.backend(spec)
                listed = backend.list(RECEIPTS_DIR)
            except AlmcError as exc:
                log.info("receipts at %s not read now: %s", spec, exc.detail)
                continue

            def size_of(rel: str, backend: RcloneBackend = backend) -> int | None:
                entry = backend.stat(rel)
                return None if entry is None or entry.is_dir else entry.size

            for e in listed:
                leaf = e.relpath.rpartition("/")[2]
                key = f"receipt:{spec.rstrip('/')}/{RECEIPTS_DIR}/{leaf}"
                if e.is_dir or not leaf.endswith(".json") or seen(key):
                    continue
                if e.size > MAX_RECEIPT_BYTES:
                    log.warning("copy receipt %s is too large; ignored", key)
                    continue
                try:
                    data = backend.read_file(f"{RECEIPTS_DIR}/{leaf}")
                except AlmcError as exc:
                    log.info("receipt %s not read now: %s", key, exc.detail)
                    continue
                if data is not None:
                    out.append((key, read_remote_receipt(data, spec, size_of, key)))
    finally:
        if own:
            remote.stop()
    return out

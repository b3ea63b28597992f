"""``check_file``: one file's verdict from its headers. Never raises, never writes.

Thread contract: safe to call from any number of threads at once (each call opens its
own read-only handle; tifffile's log is captured per thread).

The file is opened read-only, its first 4 KiB and last 40 bytes are sniffed, and the
format's checker reads only headers. Anything that goes wrong becomes a result naming the
file: ``unreadable`` (could not look inside), ``empty`` (0 bytes), or the format's
damaged verdict. A file that changes or disappears during the check says so.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from pathlib import Path

from almc_assistant.core.errors import describe_os_error
from almc_assistant.core.inspect import datasets, wording
from almc_assistant.core.inspect.finding import Finding
from almc_assistant.core.inspect.formats import check_by_signature
from almc_assistant.core.inspect.model import FileCheck, Flag
from almc_assistant.core.inspect.nd2_check import check_nd2
from almc_assistant.core.inspect.signatures import (
    HEAD_BYTES,
    TAIL_BYTES,
    TIFF_MAGICS,
    Family,
    sniff,
)
from almc_assistant.core.inspect.tiff_check import check_tiff
from almc_assistant.core.inspect.tiff_ifd import NotTiff
from almc_assistant.core.verdicts import Verdict

log = logging.getLogger(__name__)


def check_file(path: str | os.PathLike[str]) -> FileCheck:
    """Judge one file; its dataset (if any) is looked up from the folder layout."""
    return check_one(Path(path), lookup_dataset=True)


def check_one(path: Path, *, lookup_dataset: bool, dataset: str | None = None) -> FileCheck:
    """``check_file`` for callers that already know the file's dataset (or that it has none)."""
    try:
        before = path.stat()
    except OSError as exc:
        return _unreadable(path, exc, None)
    if stat.S_ISDIR(before.st_mode):
        return _result(path, None, Verdict.UNREADABLE, "folder", ("This is a folder, not a file.",))
    if not stat.S_ISREG(before.st_mode):
        return _result(
            path, None, Verdict.UNREADABLE, "special file",
            ("This is not a regular file (a device, pipe or socket); it holds no image data.",),
        )  # fmt: skip
    if lookup_dataset:
        found = datasets.anchor_of(path, datasets.Disk(cached=False))
        dataset = str(found[1]) if found else None
    size = before.st_size
    if size == 0:
        return _result(
            path, 0, Verdict.EMPTY, "empty",
            ("The file is empty (0 bytes): it holds no data at all.",), dataset=dataset,
        )  # fmt: skip
    try:
        finding = _inspect(path, size)
    except OSError as exc:
        return _unreadable(path, exc, size, dataset)
    except Exception as exc:  # a bug or an unforeseen file: report it, never crash
        log.warning("checking %s failed", path, exc_info=True)
        finding = Finding(
            Verdict.UNREADABLE, "unknown",
            (f"The check failed unexpectedly ({type(exc).__name__}: {exc}).",),
        )  # fmt: skip
    return _after(path, before, finding, dataset)


def _inspect(path: Path, size: int) -> Finding:
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
        tail = b""
        if not head.startswith(TIFF_MAGICS):  # only ND2 detection needs the last bytes
            fh.seek(max(0, size - TAIL_BYTES))
            tail = fh.read(TAIL_BYTES)
        sniffed = sniff(head, tail)
        if sniffed.family is Family.ND2:
            return check_nd2(path, fh, size, head, tail, sniffed.format)
        if sniffed.family is Family.TIFF:
            try:
                return check_tiff(fh, size, sniffed.format, head)
            except NotTiff:
                pass
        return check_by_signature(path, fh, size, sniffed)


def _after(path: Path, before: os.stat_result, finding: Finding, dataset: str | None) -> FileCheck:
    reasons = list(finding.reasons)
    details = dict(finding.details)
    verdict = finding.verdict
    try:
        now = path.stat()
    except FileNotFoundError:
        verdict = Verdict.UNREADABLE
        reasons.insert(0, "The file disappeared while it was being checked (moved or deleted).")
    except OSError:
        pass
    else:
        if (now.st_size, now.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            details["changed_during_check"] = True
            reasons.append(
                "The file changed while it was being checked (it may still be being "
                "written): check it again when it is finished."
            )
    flags = set(finding.flags)
    if dataset is not None:
        flags.add(Flag.DATASET_MEMBER)
        # the dataset's own metadata, not an export (an .nd2 of a series is never that)
        if verdict is Verdict.OTHER_FORMAT and path.suffix.lower() != ".nd2":
            verdict = Verdict.DATASET_METADATA
            reasons = [wording.DATASET_METADATA.format(anchor=Path(dataset).name), *reasons[1:]]
        reasons.append(wording.FLAG_TEXT[Flag.DATASET_MEMBER])
    elif finding.format == "NumPy array" and verdict is Verdict.NATIVE_OK:
        verdict = Verdict.OTHER_FORMAT  # outside a SlideBook 7 dataset: processed data
        reasons.insert(0, wording.NPY_ALONE)
    return FileCheck(
        path=path,
        verdict=verdict,
        format=finding.format,
        size=before.st_size,
        reasons=tuple(reasons),
        next_step=wording.NEXT_STEP[verdict],
        flags=frozenset(flags),
        details=details,
        dataset=dataset,
    )


def _unreadable(
    path: Path, exc: OSError, size: int | None, dataset: str | None = None
) -> FileCheck:
    if exc.errno == errno.ELOOP:
        reason = "It is a symbolic link that loops back on itself; there is no file behind it."
    elif exc.errno == errno.ENOENT:
        reason = "It does not exist (any more): it may have been moved or deleted."
    else:
        reason = describe_os_error(exc, action="read", path=path).detail
    return _result(path, size, Verdict.UNREADABLE, "unknown", (reason,), dataset=dataset)


def _result(
    path: Path,
    size: int | None,
    verdict: Verdict,
    fmt: str,
    reasons: tuple[str, ...],
    *,
    dataset: str | None = None,
) -> FileCheck:
    return FileCheck(
        path=path,
        verdict=verdict,
        format=fmt,
        size=size,
        reasons=reasons,
        next_step=wording.NEXT_STEP[verdict],
        flags=frozenset({Flag.DATASET_MEMBER}) if dataset else frozenset(),
        dataset=dataset,
    )

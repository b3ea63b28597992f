"""The per-job receipt at each destination: what was verified, when, and how.

Thread contract: called once per destination on the job thread after the workers end;
:class:`VerifiedRows` on the job thread while they run.

``DEST/almc-receipts/<UTC time>-<job id>.json`` is written through a temporary name
(created ``O_EXCL``, never through a link; removed on any failure), ``fsync``ed and
renamed, so a receipt is either complete or absent. The folder is opened beneath the
root like any folder of a copy (:class:`~folder.Folder`: a link planted at its name, or
a folder another user owns, is refused). A file name
that is not valid UTF-8 is kept exactly: its undecodable bytes appear as JSON escapes
of lone surrogates U+DC80-U+DCFF (Python's ``surrogateescape``: ``os.fsencode`` gives
the bytes back). It lists every copy verified in the job (source, destination, size,
mtime, BLAKE3, verified-at, how it was read back), the files already verified before
(skipped) and the failures with reasons; and, when the job was told which files make up
a dataset, a ``datasets`` section listing each dataset's files
(:mod:`~almc_assistant.core.transfer.receipt_datasets`, an optional addition).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import re
from operator import itemgetter
from pathlib import PurePath, PureWindowsPath

from almc_assistant import __version__
from almc_assistant.core.copies import RECEIPT_FORMAT, CopyRecord, iso_time
from almc_assistant.core.transfer.destination import JobDestination
from almc_assistant.core.transfer.destlock import planted
from almc_assistant.core.transfer.folder import Folder, Foreign, Gone, Planted
from almc_assistant.core.transfer.naming import RECEIPTS_DIR
from almc_assistant.core.transfer.receipt_datasets import DatasetOf, dataset_sections
from almc_assistant.core.transfer.remote_dest import RemoteDestination

_SURROGATE = re.compile("[\udc80-\udcff]")
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_CREATE |= getattr(os, "O_BINARY", 0)


_row = json.JSONEncoder(ensure_ascii=False).encode  # one encoder for every row
_text = json.encoder.encode_basestring  # the function ``_row`` quotes strings with


def _utf8(text: str) -> bytes:
    """UTF-8 of JSON text whose strings may hold undecodable file-name bytes (lone
    surrogates): those become JSON escapes, so the document is valid UTF-8 and exact."""
    try:
        return text.encode("utf-8")  # the common case: no lone surrogate to escape
    except UnicodeEncodeError:
        return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode("utf-8")


def receipts_folder(dest: JobDestination) -> Folder:
    """``almc-receipts`` below ``dest``, created if needed and held open (never through a
    link, never another user's folder). The caller closes it."""
    try:
        return Folder.walk(dest.root, dest.device, [RECEIPTS_DIR])
    except Planted as exc:
        raise planted(exc.path, "the receipts folder") from None
    except Foreign as exc:
        raise planted(exc.path, "the receipts folder (it belongs to another user)") from None
    except Gone:
        raise OSError(errno.ENOENT, "the destination is gone", str(dest.root)) from None


def _layout(head: dict[str, object], lists: dict[str, list[str]]) -> str:
    """JSON with one row per line (each already encoded and indented): readable, and written by the
    fast C encoder (``indent`` would switch ``json`` to its pure-Python encoder: seconds
    for 10^5 rows)."""
    parts = [json.dumps(head, indent=1, ensure_ascii=False)[:-2]]
    for key, rows in lists.items():
        body = ",\n".join(rows)
        parts.append(f',\n "{key}": [\n{body}\n ]' if rows else f',\n "{key}": []')
    return "".join(parts) + "\n}\n"


def write_receipt(
    dest: JobDestination | RemoteDestination,
    *,
    job_id: str,
    started_at: float,
    finished_at: float,
    state: str,
    skipped: int,
    dataset_of: DatasetOf | None = None,
    times: ReceiptTimes | None = None,
    rows: VerifiedRows | None = None,
) -> PurePath:
    name, data = receipt_document(
        dest,
        job_id=job_id,
        started_at=started_at,
        finished_at=finished_at,
        state=state,
        skipped=skipped,
        dataset_of=dataset_of,
        times=times,
        rows=rows,
    )
    if isinstance(dest, RemoteDestination):
        return dest.root / RECEIPTS_DIR / dest.backend_write(f"{RECEIPTS_DIR}/{name}", data)
    tmp = name[: -len(".json")] + ".json.tmp"
    with receipts_folder(dest) as folder:
        try:
            fd = folder.open(tmp, _CREATE, 0o644)
        except FileExistsError:
            raise planted(folder.path / tmp, "the receipt's temporary file") from None
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            folder.replace(tmp, name)
        except BaseException:
            with contextlib.suppress(OSError):
                folder.unlink(tmp)
            raise
        folder.fsync()
        return folder.path / name


def receipt_document(
    dest: JobDestination | RemoteDestination,
    *,
    job_id: str,
    started_at: float,
    finished_at: float,
    state: str,
    skipped: int,
    dataset_of: DatasetOf | None = None,
    times: ReceiptTimes | None = None,
    rows: VerifiedRows | None = None,
) -> tuple[str, bytes]:
    """The receipt's file name and its bytes (``times``: shared by a job's receipts;
    ``rows``: ``dest``'s verified rows, formatted so far while the job ran)."""
    stamp = dt.datetime.fromtimestamp(started_at, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{stamp}-{job_id}.json"
    document = {
        "format": RECEIPT_FORMAT,
        "tool": f"almc-assistant {__version__}",
        "job_id": job_id,
        "destination_root": str(dest.root),
        "file_system": dest.label if isinstance(dest, RemoteDestination) else dest.fs.label,
        "started_at": iso_time(started_at),
        "finished_at": iso_time(finished_at),
        "state": state,
        "already_verified_before": skipped,
    }
    if dest.fs.pending_upload:
        document["pending_upload_reason"] = dest.fs.pending_upload
    when = times or ReceiptTimes()
    verified = (rows or VerifiedRows(when)).rows(dest.records)
    # not verified: only read back through a caching mount (never imported as copies)
    pending = _rows(dest.pending, "read_back_at", when)
    failed = ["  " + _row({"source": str(s), "reason": why}) for s, why in dest.failures]
    lists: dict[str, list[str]] = {
        "verified": verified,
        "pending_upload": pending,
        "failed": failed,
    }
    if sections := dataset_sections(dest.records, dataset_of):
        lists["datasets"] = ["  " + _row(section) for section in sections]
    return name, _utf8(_layout(document, lists))


class ReceiptTimes:
    """ISO texts of timestamps, each formatted once (a group of files shares one
    verification time; a file's copies, one mtime): for one receipt, or for the receipts
    of one job (one thread: the job's)."""

    def __init__(self) -> None:
        self._seen: dict[float, str] = {}

    def __call__(self, ts: float) -> str:
        text = self._seen.get(ts)
        if text is None:
            text = self._seen[ts] = iso_time(ts)
        return text


class VerifiedRows:
    """One destination's receipt rows for its verified copies, formatted as the copies
    are made: the job's thread formats them while its workers copy (:meth:`take`), so the
    receipt at the job's end only formats the last few, sorts and lays them out (a
    receipt of 10^5 rows is written while the user waits; issue 17).

    Thread contract: the job's thread only (it shares the job's :class:`ReceiptTimes`);
    ``records`` is the destination's list, which the workers only append to."""

    def __init__(self, times: ReceiptTimes, stamp: str = "verified_at") -> None:
        """``stamp``: the key of the read-back's time (``read_back_at`` for copies
        pending upload)."""
        self._times = times
        self._stamp = stamp
        self._keyed: list[tuple[str, str]] = []  # (relative path, row), as recorded
        self._done = 0  # records formatted so far

    @property
    def done(self) -> int:
        """How many of the records have their row formatted."""
        return self._done

    def take(self, records: list[CopyRecord]) -> None:
        """Format the records added since the last call."""
        end = len(records)
        if end > self._done:
            self._keyed += _keyed_rows(records[self._done : end], self._stamp, self._times)
            self._done = end

    def rows(self, records: list[CopyRecord]) -> list[str]:
        """Every record's row, sorted by relative path (:func:`_rows`)."""
        self.take(records)
        self._keyed.sort(key=itemgetter(0))  # stable: equal paths stay as recorded
        return [row for _, row in self._keyed]


def _rows(records: list[CopyRecord], stamp: str, when: ReceiptTimes) -> list[str]:
    """Each record's receipt row as JSON text (indented), sorted by relative path."""
    return VerifiedRows(when, stamp).rows(records)


def _keyed_rows(records: list[CopyRecord], stamp: str, when: ReceiptTimes) -> list[tuple[str, str]]:
    """Each record's relative path and receipt row, in the records' order: the very text
    of ``_row(record.receipt_row(...))``, built in one pass without a dict per row."""
    key = _text(stamp)
    out: list[tuple[str, str]] = []
    append = out.append
    for r in records:
        rel = _relpath(r)
        if r.proof is not None:  # a remote copy's proof: a nested object, rare
            append((rel, "  " + _row(r.receipt_row(stamp=stamp, when=when, relpath=rel))))
            continue
        append(
            (
                rel,
                f'  {{"source": {_text(str(r.source))}, "destination": {_text(str(r.path))}, '
                f'"relative_path": {_text(rel)}, "size": {int(r.size)}, '
                f'"mtime_ns": {int(r.mtime_ns)}, "mtime": {_text(when(r.mtime_ns / 1e9))}, '
                f'"blake3": {_text(r.blake3)}, {key}: {_text(when(r.verified_at))}, '
                f'"read_back": {_text(r.read_back)}, '
                f'"adopted_existing_copy": {"true" if r.adopted else "false"}}}',
            )
        )
    return out


def _relpath(r: CopyRecord) -> str:
    """:attr:`CopyRecord.relpath`, from the paths' texts when the copy's text starts
    with its root's (always, for the engine's records): no path parsing per row."""
    root, path = str(r.destination_root), str(r.path)
    sep = "\\" if isinstance(r.path, PureWindowsPath) else "/"
    prefix = root if root.endswith(sep) else root + sep
    if len(path) > len(prefix) and path.startswith(prefix):
        rel = path[len(prefix) :]
        return rel.replace("\\", "/") if sep == "\\" else rel
    return r.relpath

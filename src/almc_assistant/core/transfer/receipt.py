"""The per-job receipt at each destination: what was verified, when, and how.

Thread contract: called once per destination on the job thread after the workers end.

``DEST/almc-receipts/<UTC time>-<job id>.json`` is written through a temporary name,
``fsync``ed and renamed, so a receipt is either complete or absent. It lists every copy
verified in the job (source, destination, size, mtime, BLAKE3, verified-at, how it was
read back), the files already verified before (skipped) and the failures with reasons.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from almc_assistant import __version__
from almc_assistant.core.transfer import cache
from almc_assistant.core.transfer.destination import Destination
from almc_assistant.core.transfer.naming import RECEIPTS_DIR

RECEIPT_FORMAT = "almc-assistant copy receipt 1"


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds")


def _row(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _layout(head: dict[str, object], lists: dict[str, list[dict[str, object]]]) -> str:
    """JSON with one row per line: readable, and written by the fast C encoder
    (``indent`` would switch ``json`` to its pure-Python encoder: seconds for 10^5 rows)."""
    parts = [json.dumps(head, indent=1, ensure_ascii=False)[:-2]]
    for key, rows in lists.items():
        body = ",\n".join("  " + _row(r) for r in rows)
        parts.append(f',\n "{key}": [\n{body}\n ]' if rows else f',\n "{key}": []')
    return "".join(parts) + "\n}\n"


def write_receipt(
    dest: Destination,
    *,
    job_id: str,
    started_at: float,
    finished_at: float,
    state: str,
    skipped: int,
) -> Path:
    folder = dest.root / RECEIPTS_DIR
    folder.mkdir(exist_ok=True)
    stamp = dt.datetime.fromtimestamp(started_at, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{stamp}-{job_id}.json"
    document = {
        "format": RECEIPT_FORMAT,
        "tool": f"almc-assistant {__version__}",
        "job_id": job_id,
        "destination_root": str(dest.root),
        "file_system": dest.fs.label,
        "started_at": _iso(started_at),
        "finished_at": _iso(finished_at),
        "state": state,
        "already_verified_before": skipped,
    }
    stamps: dict[float, str] = {}  # a group of files shares one verification time

    def when(ts: float) -> str:
        text = stamps.get(ts)
        if text is None:
            text = stamps[ts] = _iso(ts)
        return text

    verified: list[dict[str, object]] = [
        {
            "source": str(r.source),
            "destination": str(r.destination),
            "relative_path": r.relpath,
            "size": r.size,
            "mtime_ns": r.mtime_ns,
            "mtime": _iso(r.mtime_ns / 1e9),
            "blake3": r.blake3,
            "verified_at": when(r.verified_at),
            "read_back": r.read_back,
            "adopted_existing_copy": r.adopted,
        }
        for r in sorted(dest.records, key=lambda r: r.relpath)
    ]
    failed: list[dict[str, object]] = [
        {"source": str(s), "reason": why} for s, why in dest.failures
    ]
    tmp = path.with_suffix(".json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(_layout(document, {"verified": verified, "failed": failed}))
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    cache.fsync_dir(folder)
    return path

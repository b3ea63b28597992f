"""Issue 17: ``copy --json`` writes each verified copy's row in one f-string; its text is
exactly what the JSON encoder wrote for the row's dictionary (names of every kind)."""

from __future__ import annotations

import io
import json
from pathlib import Path, PurePosixPath

from almc_assistant.cli import _common
from almc_assistant.cli.copy import _verified_row
from almc_assistant.core.copies import CopyRecord

_NAMES = ["a.tif", 'q"uote\\back.tif', "ümlaut \u2603 雪.nd2", "new\nline\ttab\x01.tif"]


def _copies() -> list[CopyRecord]:
    out = [
        CopyRecord(
            source=Path("/src") / name,
            destination_root=Path("/dst"),
            path=Path("/dst/run") / name,
            size=(1 << 40) + i,
            mtime_ns=-(10**18) + i,
            blake3=f"{i:x}" * 64,
            verified_at=1.5,
            read_back="syncfs, then read from storage" if i else "",
            adopted=bool(i % 2),
        )
        for i, name in enumerate(_NAMES)
    ]
    out.append(
        CopyRecord(
            source=Path("/src/r"),
            destination_root=PurePosixPath("/lab/me"),
            path=PurePosixPath("/lab/me/r"),
            size=1,
            mtime_ns=2,
            blake3="c" * 64,
            verified_at=3.0,
            read_back="the server's BLAKE3",
            proof={"proof": "server-blake3"},
        )
    )
    return out


def _as_before(c: CopyRecord) -> str:
    return _common._ENCODE(
        {
            "source": str(c.source),
            "destination": str(c.path),
            "size": c.size,
            "mtime_ns": c.mtime_ns,
            "blake3": c.blake3,
            "read_back": c.read_back,
            "proof": c.proof_kind or "read-back",
            "adopted": c.adopted,
        }
    )


def test_each_row_is_the_text_the_encoder_wrote() -> None:
    for c in _copies():
        assert _verified_row(c) == _as_before(c)


def test_a_document_with_such_rows_prints_as_it_did() -> None:
    rows = [_verified_row(c) for c in _copies()]
    before = [json.loads(_as_before(c)) for c in _copies()]
    new, old = io.StringIO(), io.StringIO()
    _common.print_json({"ok": True, "verified": rows, "skipped": []}, new)
    _common.print_json({"ok": True, "verified": before, "skipped": []}, old)
    assert new.getvalue() == old.getvalue()
    assert json.loads(new.getvalue())["verified"] == before

"""Read-only questions to the catalog, each answered by an indexed query.

Thread contract: safe from any thread (each thread reads through its own connection of
:class:`~almc_assistant.core.catalog.access.Connections`; WAL readers never wait for
writers). Part of :class:`~almc_assistant.core.catalog.store.Catalog`, which answers
these questions in its own name.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from almc_assistant.core.catalog.access import Connections
from almc_assistant.core.catalog.records import (
    FileRecord,
    FileState,
    SessionRecord,
    SessionTotals,
    stored_ident,
    stored_proof,
)
from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.remotepaths import recorded_path

log = logging.getLogger(__name__)

_FILE_COLUMNS = (
    "id, path, size, mtime_ns, owner, first_seen, born, session_id, state, verdict,"
    " verdict_reasons, safe, dev, ino, ctime_ns"
)
_UNSAFE = "safe = 0 AND state IN ('acquiring', 'complete')"  # matches index files_unsafe
_PRESENT = "state IN ('acquiring', 'complete')"


class CatalogQueries:
    """The catalog's read-only questions, over its connections.

    A row that does not read as what it should be (a malformed value written by another
    program or a damaged page) costs only that row: it is left out of the answer, logged,
    and its id added to :attr:`bad_rows` so that the status can say so.
    """

    def __init__(self, db: Connections) -> None:
        self._db = db
        self.bad_rows: set[str] = set()  # "file 12", "copy 7": rows left out (unreadable)

    # -------------------------------------------------------------- helpers
    def copies_for(
        self, conn: sqlite3.Connection, ids: Sequence[int]
    ) -> dict[int, list[CopyRecord]]:
        """The copies of the files ``ids``, read through ``conn`` (inside a write, the
        writer's own connection)."""
        out: dict[int, list[CopyRecord]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in conn.execute(
                "SELECT c.file_id, c.destination_root, c.path, c.size, c.mtime_ns, c.blake3,"
                " c.verified_at, c.id, c.src_dev, c.src_ino, c.src_ctime_ns, f.path, c.proof"
                " FROM copies c JOIN files f ON f.id = c.file_id"
                f" WHERE c.file_id IN ({marks}) ORDER BY c.verified_at",
                tuple(chunk),
            ):
                try:
                    copy = CopyRecord(
                        source=Path(row[11]),
                        destination_root=recorded_path(row[1]),
                        path=recorded_path(row[2]),
                        size=int(row[3]),
                        mtime_ns=int(row[4]),
                        blake3=str(row[5]),
                        verified_at=float(row[6]),
                        source_ident=stored_ident(row[8:11]),
                        proof=stored_proof(row[12]),
                    )
                except (ValueError, TypeError) as exc:
                    self._note_bad(f"copy {row[7]}", exc)
                    continue
                out.setdefault(int(row[0]), []).append(copy)
        return out

    def _note_bad(self, what: str, exc: Exception) -> None:
        if what not in self.bad_rows:
            log.warning("catalog row %s cannot be read (%s); left out", what, exc)
        self.bad_rows.add(what)

    def _rows_to_files(
        self, rows: Sequence[sqlite3.Row], copies: dict[int, list[CopyRecord]]
    ) -> list[FileRecord]:
        out: list[FileRecord] = []
        for r in rows:
            try:
                out.append(_file(r, copies.get(int(r["id"]), ())))
            except (ValueError, TypeError) as exc:
                self._note_bad(f"file {r['id']}", exc)
        return out

    def _files(self, where: str, args: Sequence[object] = (), tail: str = "") -> list[FileRecord]:
        rows = self._db.read(f"SELECT {_FILE_COLUMNS} FROM files WHERE {where} {tail}", args)
        if not rows:
            return []
        copies = self.copies_for(self._db.conn(), [int(r["id"]) for r in rows])
        return self._rows_to_files(rows, copies)

    # -------------------------------------------------------------- files
    def file(self, path: Path) -> FileRecord | None:
        found = self._files("path = ?", (str(path),))
        return found[0] if found else None

    def unsafe_files(self, owner: str, limit: int | None = None) -> list[FileRecord]:
        """This owner's files on the workstation without the copies the policy asks for."""
        tail = "ORDER BY session_id, id" + (f" LIMIT {int(limit)}" if limit else "")
        return self._files(f"owner = ? AND {_UNSAFE}", (owner,), tail)

    def unsafe_totals(self, owner: str) -> list[SessionTotals]:
        """Count and bytes of the owner's unsafe files, per session."""
        rows = self._db.read(
            "SELECT f.session_id, s.started_at, s.ended_at, count(*) AS n, sum(f.size) AS b"
            " FROM files f LEFT JOIN sessions s ON s.id = f.session_id"
            f" WHERE f.owner = ? AND f.{_UNSAFE.replace(' AND state', ' AND f.state')}"
            " GROUP BY f.session_id ORDER BY f.session_id",
            (owner,),
        )
        out: list[SessionTotals] = []
        for r in rows:
            try:
                out.append(
                    SessionTotals(
                        session_id=r["session_id"],
                        started_at=r["started_at"],
                        ended_at=r["ended_at"],
                        files=int(r["n"]),
                        bytes=int(r["b"] or 0),
                    )
                )
            except (ValueError, TypeError) as exc:
                self._note_bad(f"session {r['session_id']}", exc)
        return out

    def pending(self, owner: str) -> tuple[int, int, float | None]:
        """(files, bytes, oldest age reference) of the owner's unsafe files: one lookup."""
        row = self._db.read(
            f"SELECT count(*), sum(size), min(born) FROM files WHERE owner = ? AND {_UNSAFE}",
            (owner,),
        )[0]
        return int(row[0]), int(row[1] or 0), None if row[2] is None else float(row[2])

    def lost_files(self, owner: str | None = None) -> list[FileRecord]:
        if owner is None:
            return self._files("state = 'lost'", (), "ORDER BY id")
        return self._files("owner = ? AND state = 'lost'", (owner,), "ORDER BY id")

    def session_files(self, session_id: int) -> list[FileRecord]:
        return self._files("session_id = ?", (session_id,), "ORDER BY path")

    def known_files(self, folder: Path) -> dict[Path, tuple[int, int, int, int]]:
        """Complete files anywhere under ``folder`` (or ``folder`` itself when it names
        a file): path -> (size, mtime_ns, ctime_ns, file number), the last two 0 when not
        known yet (rows from before schema v2).

        What the watcher's scan reconciles against (files still acquiring are left out:
        the watcher re-evaluates them). Range scans on the unique path index.
        """
        prefix = str(folder).rstrip(os.sep) + os.sep
        upper = prefix[:-1] + chr(ord(os.sep) + 1)
        columns = "path, size, mtime_ns, coalesce(ctime_ns, 0), coalesce(ino, 0)"
        rows = self._db.read(
            f"SELECT {columns} FROM files WHERE path > ? AND path < ?"
            f" AND state = 'complete' UNION ALL"
            f" SELECT {columns} FROM files WHERE path = ? AND state = 'complete'",
            (prefix, upper, str(folder)),
        )
        return {Path(r[0]): (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}

    def cleanup_candidates(
        self, *, born_before: float, root: Path | None = None, limit: int | None = None
    ) -> list[FileRecord]:
        """Present files old enough for retention, oldest first (any owner)."""
        tail = "ORDER BY born" + (f" LIMIT {int(limit)}" if limit else "")
        if root is None:
            return self._files(f"born < ? AND {_PRESENT}", (born_before,), tail)
        return self._files(f"root = ? AND born < ? AND {_PRESENT}", (str(root), born_before), tail)

    # -------------------------------------------------------------- sessions
    def open_session(self, owner: str) -> SessionRecord | None:
        rows = self._db.read(
            "SELECT * FROM sessions WHERE owner = ? AND ended_at IS NULL ORDER BY id DESC",
            (owner,),
        )
        return self._session_of(rows)

    def latest_session(self, owner: str) -> SessionRecord | None:
        rows = self._db.read(
            "SELECT * FROM sessions WHERE owner = ? ORDER BY id DESC LIMIT 1", (owner,)
        )
        return self._session_of(rows)

    def _session_of(self, rows: Sequence[sqlite3.Row]) -> SessionRecord | None:
        if not rows:
            return None
        try:
            return _session(rows[0])
        except (ValueError, TypeError) as exc:
            self._note_bad(f"session {rows[0]['id']}", exc)
            return None


def _file(row: sqlite3.Row, copies: Iterable[CopyRecord]) -> FileRecord:
    reasons = row["verdict_reasons"]
    return FileRecord(
        id=int(row["id"]),
        path=Path(row["path"]),
        size=int(row["size"]),
        mtime_ns=int(row["mtime_ns"]),
        owner=str(row["owner"]),
        first_seen=float(row["first_seen"]),
        born=float(row["born"]),
        session_id=row["session_id"],
        state=FileState(row["state"]),
        verdict=row["verdict"],
        verdict_reasons=tuple(reasons.split("\n")) if reasons else (),
        safe=bool(row["safe"]),
        copies=tuple(copies),
        ident=stored_ident((row["dev"], row["ino"], row["ctime_ns"])),
    )


def _session(row: sqlite3.Row) -> SessionRecord:
    return SessionRecord(
        id=int(row["id"]),
        owner=str(row["owner"]),
        started_at=float(row["started_at"]),
        ended_at=None if row["ended_at"] is None else float(row["ended_at"]),
    )

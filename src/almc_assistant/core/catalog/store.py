"""The catalog: which files exist on the workstation and where they have verified copies.

Thread contract: a :class:`Catalog` may be used from any number of threads at once (one
SQLite connection per thread, WAL). Several processes of the same user may share the
database file (the tray app and a CLI command): every write runs in a
``BEGIN IMMEDIATE`` transaction behind SQLite's busy timeout and is retried once before
:class:`~almc_assistant.core.catalog.connection.CatalogBusyError` is raised. The file is
private to its user (see :mod:`almc_assistant.core.catalog.connection`): no other
account can add, change or read its rows, so the stored ``safe`` flags are this user's
view only.

Whether a file is *safe* depends on the policy; the catalog stores the answer in an
indexed column (so "unsafe files of this user" is one index lookup) and recomputes it
whenever copies are recorded, the file changes, or the policy changes (``safety_key``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path, PurePath

from almc_assistant.core.catalog.access import Connections
from almc_assistant.core.catalog.queries import CatalogQueries
from almc_assistant.core.catalog.records import (
    PRESENT_STATES,
    FileRecord,
    FileState,
    SessionRecord,
    SessionTotals,
    stored_ident,
)
from almc_assistant.core.copies import NOT_CONFIRMED, CopyRecord, Ident, ident_of
from almc_assistant.core.identity import FileIdentity

log = logging.getLogger(__name__)

_UNSAFE_SQL = "safe = 0 AND f.state IN ('acquiring', 'complete')"
SafetyRule = Callable[[Sequence[CopyRecord]], bool]
FUTURE_TOLERANCE_S = 86_400.0  # an mtime further ahead than this is not believed


def no_copies_are_enough(copies: Sequence[CopyRecord]) -> bool:  # pragma: no cover - trivial
    return False


def age_reference(mtime_ns: int, first_seen: float) -> float:
    """The moment a file's age counts from, never making it older than it is.

    The later of its mtime and when the catalog first saw it; an mtime more than a day
    after ``first_seen`` (a wrong camera or workstation clock) is not believed.
    """
    mtime = mtime_ns / 1e9
    if mtime > first_seen + FUTURE_TOLERANCE_S:
        return first_seen
    return max(mtime, first_seen)


class Catalog:
    """The SQLite catalog (standard library ``sqlite3``): what it records (here), composed
    of its connections (:class:`~almc_assistant.core.catalog.access.Connections`, ``db``)
    and its read-only questions (:class:`~almc_assistant.core.catalog.queries.CatalogQueries`,
    ``queries``), which it answers in its own name."""

    def __init__(
        self,
        path: Path,
        *,
        safety: SafetyRule = no_copies_are_enough,
        safety_key: str = "",
        busy_timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        verify: bool = False,
    ) -> None:
        self.path = path
        self._safety = safety
        self._clock = clock
        self.db = Connections(path, busy_timeout=busy_timeout, verify=verify)
        self.recovery = self.db.recovery
        self.queries = CatalogQueries(self.db)
        if safety_key and self.db.meta("safety_key") != safety_key:
            self.recompute_safety()
            self.db.set_meta("safety_key", safety_key)

    # -------------------------------------------------------------- plumbing
    def close(self) -> None:
        """Close every connection (from any thread)."""
        self.db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[None]:
        """Group writes made by this thread into one transaction (all or nothing)."""
        return self.db.transaction()

    def note(self, key: str, value: str = "1") -> None:
        """Remember a small fact in the catalog (e.g. a receipt already imported)."""
        self.db.set_meta(key, value)

    def noted(self, key: str) -> str | None:
        return self.db.meta(key)

    # -------------------------------------------------------------- questions
    # Answered by :class:`CatalogQueries` (see there); the catalog is the one object
    # its users hold.
    @property
    def bad_rows(self) -> set[str]:
        return self.queries.bad_rows

    def file(self, path: Path) -> FileRecord | None:
        return self.queries.file(path)

    def unsafe_files(self, owner: str, limit: int | None = None) -> list[FileRecord]:
        return self.queries.unsafe_files(owner, limit)

    def unsafe_totals(self, owner: str) -> list[SessionTotals]:
        return self.queries.unsafe_totals(owner)

    def pending(self, owner: str) -> tuple[int, int, float | None]:
        return self.queries.pending(owner)

    def lost_files(self, owner: str | None = None) -> list[FileRecord]:
        return self.queries.lost_files(owner)

    def session_files(self, session_id: int) -> list[FileRecord]:
        return self.queries.session_files(session_id)

    def known_files(self, folder: Path) -> dict[Path, tuple[int, int, int, int]]:
        return self.queries.known_files(folder)

    def cleanup_candidates(
        self, *, born_before: float, root: Path | None = None, limit: int | None = None
    ) -> list[FileRecord]:
        return self.queries.cleanup_candidates(born_before=born_before, root=root, limit=limit)

    def open_session(self, owner: str) -> SessionRecord | None:
        return self.queries.open_session(owner)

    def latest_session(self, owner: str) -> SessionRecord | None:
        return self.queries.latest_session(owner)

    # -------------------------------------------------------------- sessions
    def _open_session(self, conn: sqlite3.Connection, owner: str) -> int:
        row = conn.execute(
            "SELECT id FROM sessions WHERE owner = ? AND ended_at IS NULL ORDER BY id DESC",
            (owner,),
        ).fetchone()
        if row is not None:
            return int(row[0])
        cur = conn.execute(
            "INSERT INTO sessions (owner, started_at) VALUES (?, ?)", (owner, self._clock())
        )
        return int(cur.lastrowid or 0)

    def end_session(self, owner: str) -> int | None:
        """Close the owner's open session; the next file starts a new one."""
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT id FROM sessions WHERE owner = ? AND ended_at IS NULL", (owner,)
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE sessions SET ended_at = ? WHERE owner = ? AND ended_at IS NULL",
                (self._clock(), owner),
            )
            return int(row[0])

    def end_session_before(self, owner: str, login_time: float) -> int | None:
        """A new login: close the owner's open session if it began before ``login_time``
        (they logged out without ending it); the next file starts a new one."""
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT id FROM sessions WHERE owner = ? AND ended_at IS NULL AND started_at < ?",
                (owner, login_time),
            ).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE sessions SET ended_at = ? WHERE id = ?", (login_time, row[0]))
            return int(row[0])

    # -------------------------------------------------------------- files
    def record_seen(
        self,
        path: Path,
        *,
        size: int,
        mtime_ns: int,
        owner: str,
        state: FileState = FileState.ACQUIRING,
        root: Path | None = None,
        identity: FileIdentity | None = None,
    ) -> int:
        """A file exists with this size and mtime (new, changed, or stabilised).

        ``identity`` (its stat): a change of device, file number or ctime with the size
        and mtime kept (an edit with the mtime restored, a replacement) is a change too:
        the copies made before no longer count.
        """
        return self.record_seen_many(
            [(path, size, mtime_ns, owner, root)], state=state, idents=[ident_of(identity)]
        )[0]

    def record_seen_many(
        self,
        files: Sequence[tuple[Path, int, int, str, Path | None]],
        *,
        state: FileState = FileState.ACQUIRING,
        idents: Sequence[Ident | None] | None = None,
    ) -> list[int]:
        """Batch form of :meth:`record_seen` (one transaction: scans of 10^5 files)."""
        now = self._clock()
        ids: list[int] = []
        with self.db.write() as conn:
            sessions: dict[str, int] = {}
            for index, (path, size, mtime_ns, owner, root) in enumerate(files):
                ident = None if idents is None else idents[index]
                ids.append(
                    self._upsert(
                        conn, path, size, mtime_ns, owner, root, state, now, sessions, ident
                    )
                )
        return ids

    def _upsert(
        self,
        conn: sqlite3.Connection,
        path: Path,
        size: int,
        mtime_ns: int,
        owner: str,
        root: Path | None,
        state: FileState,
        now: float,
        sessions: dict[str, int],
        ident: Ident | None = None,
    ) -> int:
        key = str(path)
        row = conn.execute(
            "SELECT id, size, mtime_ns, state, first_seen, dev, ino, ctime_ns FROM files"
            " WHERE path = ?",
            (key,),
        ).fetchone()
        if row is None or row[3] not in PRESENT_STATES:
            if owner not in sessions:
                sessions[owner] = self._open_session(conn, owner)
            if row is not None:  # a file of that name came back: a new file
                conn.execute("DELETE FROM files WHERE id = ?", (row[0],))
            cur = conn.execute(
                "INSERT INTO files (path, root, size, mtime_ns, owner, first_seen, born,"
                " session_id, state, state_at, dev, ino, ctime_ns)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    None if root is None else str(root),
                    size,
                    mtime_ns,
                    owner,
                    now,
                    age_reference(mtime_ns, now),
                    sessions[owner],
                    state.value,
                    now,
                    *(ident or (None, None, None)),
                ),
            )
            return int(cur.lastrowid or 0)
        file_id = int(row[0])
        changed = (int(row[1]), int(row[2])) != (size, mtime_ns)
        if ident is not None:
            changed = self._set_ident(conn, file_id, stored_ident(row[5:8]), ident) or changed
        conn.execute(
            "UPDATE files SET size = ?, mtime_ns = ?, born = ?, state = ?, state_at = ?,"
            " root = coalesce(?, root) WHERE id = ?",
            (
                size,
                mtime_ns,
                age_reference(mtime_ns, float(row[4])),
                state.value,
                now,
                None if root is None else str(root),
                file_id,
            ),
        )
        if changed:  # earlier copies are of other contents now (or may be)
            conn.execute(
                "UPDATE files SET verdict = NULL, verdict_reasons = NULL WHERE id = ?", (file_id,)
            )
            self._update_safe(conn, file_id)
        return file_id

    def _set_ident(
        self, conn: sqlite3.Connection, file_id: int, before: Ident | None, now: Ident
    ) -> bool:
        """Store the file's identity; True when it changed from a known one.

        The first identity known for a file (rows from before schema v2) is given to
        the copies recorded without one: they counted under the old rule (size and
        mtime) and nothing since says otherwise.
        """
        if before == now:
            return False
        conn.execute(
            "UPDATE files SET dev = ?, ino = ?, ctime_ns = ? WHERE id = ?", (*now, file_id)
        )
        if before is None:
            conn.execute(
                "UPDATE copies SET src_dev = ?, src_ino = ?, src_ctime_ns = ?"
                " WHERE file_id = ? AND src_ctime_ns IS NULL",
                (*now, file_id),
            )
            return False
        return True

    def record_identity(
        self, path: Path, *, size: int, mtime_ns: int, identity: FileIdentity
    ) -> bool:
        """A file recorded without its identity (before schema v2) is still there with
        this size and mtime: record its identity (its copies take it too). False when
        the catalog holds it otherwise (then nothing is written)."""
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT id, dev, ino, ctime_ns FROM files WHERE path = ? AND size = ?"
                " AND mtime_ns = ? AND state IN ('acquiring', 'complete')",
                (str(path), size, mtime_ns),
            ).fetchone()
            ident = ident_of(identity)
            if row is None or ident is None or stored_ident(row[1:4]) is not None:
                return False
            self._set_ident(conn, int(row[0]), None, ident)
            return True

    def confirm_copies(
        self,
        path: Path,
        before: Ident | None,
        now: Ident,
        blake3: str,
        copies: Sequence[PurePath] | None = None,
    ) -> int:
        """The file's identity moved from ``before`` to ``now`` without its size or mtime
        changing, and its bytes, re-read from storage, still hash to ``blake3``: the
        copies of it made at ``before`` with that hash (only those at ``copies``, when
        given) hold its bytes; they count again.

        Returns how many copies were confirmed (0 if the file changed meanwhile).
        """
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT id, dev, ino, ctime_ns FROM files WHERE path = ?", (str(path),)
            ).fetchone()
            if row is None or stored_ident(row[1:4]) != now:
                return 0
            sql = (
                "UPDATE copies SET src_dev = ?, src_ino = ?, src_ctime_ns = ?"
                " WHERE file_id = ? AND src_dev IS ? AND src_ino IS ? AND src_ctime_ns IS ?"
                " AND blake3 = ?"
            )
            args: list[object] = [*now, row[0], *(before or (None, None, None)), blake3]
            if copies is not None:  # a few copies of one file: a short list
                sql += f" AND path IN ({', '.join('?' * len(copies))})"
                args += [str(c) for c in copies]
            cur = conn.execute(sql, args)
            self._update_safe(conn, int(row[0]))
            return cur.rowcount

    def record_verdict(self, path: Path, verdict: str, reasons: Sequence[str] = ()) -> bool:
        """Store the file check's verdict; False when the file is unknown."""
        with self.db.write() as conn:
            cur = conn.execute(
                "UPDATE files SET verdict = ?, verdict_reasons = ? WHERE path = ?",
                (verdict, "\n".join(reasons), str(path)),
            )
            return cur.rowcount > 0

    def record_deleted(self, path: Path) -> FileState | None:
        """The file left the workstation: *lost* if it had no verified copy, else *gone*."""
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT id, safe, state FROM files WHERE path = ?", (str(path),)
            ).fetchone()
            if row is None or row[2] not in PRESENT_STATES:
                return None
            has_copy = conn.execute(
                "SELECT 1 FROM copies c JOIN files f ON f.id = c.file_id WHERE f.id = ?"
                " AND c.size = f.size AND c.mtime_ns = f.mtime_ns AND c.src_dev IS f.dev"
                " AND c.src_ino IS f.ino AND c.src_ctime_ns IS f.ctime_ns LIMIT 1",
                (row[0],),
            ).fetchone()
            state = FileState.GONE if (row[1] or has_copy) else FileState.LOST
            conn.execute(
                "UPDATE files SET state = ?, state_at = ? WHERE id = ?",
                (state.value, self._clock(), row[0]),
            )
            return state

    def dismiss_lost(self, owner: str, paths: Sequence[Path] | None = None) -> int:
        """The owner has taken note of lost files (all, or these): stop reporting them."""
        with self.db.write() as conn:
            if paths is None:
                cur = conn.execute(
                    "UPDATE files SET state = ?, state_at = ? WHERE owner = ? AND state = ?",
                    (FileState.DISMISSED.value, self._clock(), owner, FileState.LOST.value),
                )
                return cur.rowcount
            count = 0
            for path in paths:
                cur = conn.execute(
                    "UPDATE files SET state = ?, state_at = ? WHERE owner = ? AND state = ?"
                    " AND path = ?",
                    (
                        FileState.DISMISSED.value,
                        self._clock(),
                        owner,
                        FileState.LOST.value,
                        str(path),
                    ),
                )
                count += cur.rowcount
            return count

    def record_cleaned(self, path: Path) -> None:
        """An audited cleanup deleted the file."""
        with self.db.write() as conn:
            conn.execute(
                "UPDATE files SET state = ?, state_at = ? WHERE path = ?",
                (FileState.CLEANED.value, self._clock(), str(path)),
            )

    def record_moved(
        self,
        src: Path,
        dest: Path,
        *,
        size: int,
        mtime_ns: int,
        root: Path | None = None,
        identity: FileIdentity | None = None,
    ) -> bool:
        """A rename or move: the record (and its copies) follows the file.

        A rename moves the ctime (and a move across disks the file number): the watcher
        paired the two names by size and mtime, so copies of the file as it was before
        the move are carried to its new identity.
        False when ``src`` is not catalogued (the caller records ``dest`` as new).
        """
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT id, size, mtime_ns, dev, ino, ctime_ns FROM files WHERE path = ?",
                (str(src),),
            ).fetchone()
            if row is None:
                return False
            conn.execute("DELETE FROM files WHERE path = ?", (str(dest),))
            conn.execute(
                "UPDATE files SET path = ?, root = coalesce(?, root) WHERE id = ?",
                (str(dest), None if root is None else str(root), row[0]),
            )
            ident, before = ident_of(identity), stored_ident(row[3:6])
            same = (int(row[1]), int(row[2])) == (size, mtime_ns)
            if ident is not None and same and before is not None and before != ident:
                conn.execute(
                    "UPDATE copies SET src_dev = ?, src_ino = ?, src_ctime_ns = ?"
                    " WHERE file_id = ? AND src_dev IS ? AND src_ino IS ? AND src_ctime_ns IS ?",
                    (*ident, row[0], *before),
                )
            if ident is not None and same and before is not None:
                # Carried above; copies of no known version (a receipt's) stay unconfirmed.
                conn.execute(
                    "UPDATE files SET dev = ?, ino = ?, ctime_ns = ? WHERE id = ?", (*ident, row[0])
                )
            elif ident is not None:
                self._set_ident(conn, int(row[0]), None if same else before, ident)
            if not same:  # changed on the way
                conn.execute(
                    "UPDATE files SET size = ?, mtime_ns = ?, verdict = NULL WHERE id = ?",
                    (size, mtime_ns, row[0]),
                )
                self._update_safe(conn, int(row[0]))
        return True

    # -------------------------------------------------------------- copies
    def record_copy(self, copy: CopyRecord, *, owner: str, create: bool = True) -> bool:
        """A verified copy of ``copy.source``; returns whether the file is now safe.

        A source the catalog has not seen (copied from elsewhere) is recorded as complete,
        unless ``create`` is false (then nothing is recorded and False returned).
        """
        with self.db.write() as conn:
            file_id = self._add_copy(conn, copy, owner=owner, create=create)
            return False if file_id is None else self._update_safe(conn, file_id)

    def record_copies(self, copies: Sequence[tuple[CopyRecord, str, bool]]) -> None:
        """Several verified copies ``(copy, owner, create)`` in one transaction: the
        catalog ends as after :meth:`record_copy` of each in order, a file's safety
        decided once after its copies in a row (a file's copies at two destinations)."""
        with self.db.write() as conn:
            pending: int | None = None  # the file whose safety is still to decide
            untracked: PurePath | None = None  # the last source found absent, not created
            for copy, owner, create in copies:
                if not create and copy.source is untracked:
                    continue  # absent a moment ago, and nothing was written for it since
                file_id = self._add_copy(conn, copy, owner=owner, create=create)
                untracked = copy.source if file_id is None else None
                if pending is not None and pending != file_id:
                    self._update_safe(conn, pending)
                pending = file_id
            if pending is not None:
                self._update_safe(conn, pending)

    def _add_copy(
        self, conn: sqlite3.Connection, copy: CopyRecord, *, owner: str, create: bool
    ) -> int | None:
        """:meth:`record_copy` but the safety; the file's id (None: not recorded)."""
        source = copy.source
        # The source's identity as the copy engine reported it (not a receipt's).
        reported = None if copy.source_ident == NOT_CONFIRMED else copy.source_ident
        row = conn.execute("SELECT id FROM files WHERE path = ?", (str(source),)).fetchone()
        if row is None and not create:
            return None
        if row is None:
            file_id = self._upsert(
                conn,
                source,
                copy.size,
                copy.mtime_ns,
                owner,
                None,
                FileState.COMPLETE,
                self._clock(),
                {},
                reported,
            )
        else:
            file_id = int(row[0])
            known = conn.execute(
                "SELECT dev, ino, ctime_ns FROM files WHERE id = ?", (file_id,)
            ).fetchone()
            if reported is not None and stored_ident(known) is None:
                self._set_ident(conn, file_id, None, reported)  # first known
        source_ident = reported
        if source_ident is None:  # not reported (a receipt): known only if recorded
            source_ident = (
                stored_ident(
                    conn.execute(
                        "SELECT src_dev, src_ino, src_ctime_ns FROM copies WHERE file_id = ?"
                        " AND path = ? AND size = ? AND mtime_ns = ? AND blake3 = ?",
                        (file_id, str(copy.path), copy.size, copy.mtime_ns, copy.blake3),
                    ).fetchone()
                )
                or copy.source_ident
            )  # else it counts once a re-hash matches it
        conn.execute(
            "INSERT OR REPLACE INTO copies (file_id, destination_root, path, size,"
            " mtime_ns, blake3, verified_at, src_dev, src_ino, src_ctime_ns, proof)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                file_id,
                str(copy.destination_root),
                str(copy.path),
                copy.size,
                copy.mtime_ns,
                copy.blake3,
                copy.verified_at,
                *(source_ident or (None, None, None)),
                None if copy.proof is None else json.dumps(dict(copy.proof)),
            ),
        )
        return file_id

    def forget_copy(self, copy_path: PurePath) -> int:
        """A copy was found missing or different: it no longer counts."""
        with self.db.write() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT file_id FROM copies WHERE path = ?", (str(copy_path),)
                )
            ]
            conn.execute("DELETE FROM copies WHERE path = ?", (str(copy_path),))
            for file_id in ids:
                self._update_safe(conn, file_id)
            return len(ids)

    def _update_safe(self, conn: sqlite3.Connection, file_id: int) -> bool:
        copies = self.queries.copies_for(conn, [file_id]).get(file_id, [])
        size, mtime_ns, *ident = conn.execute(
            "SELECT size, mtime_ns, dev, ino, ctime_ns FROM files WHERE id = ?", (file_id,)
        ).fetchone()
        now = stored_ident(ident)
        current = [
            c for c in copies if c.size == size and c.mtime_ns == mtime_ns and c.source_ident == now
        ]
        safe = bool(current) and self._safety(current)
        conn.execute("UPDATE files SET safe = ? WHERE id = ?", (int(safe), file_id))
        return safe

    def refresh_safety(self, device_of: Callable[[Path], int | None]) -> int:
        """Re-decide the unsafe files whose copies are on a destination whose device is
        not what it was when last looked at (a drive plugged back in, a share mounted):
        their stored flags were decided while it could not be reached.

        ``device_of``: the policy's (cached) resolver, None for unreachable. Cheap when
        nothing changed: one query and one resolver call per destination root holding
        copies of unsafe files. Returns how many files were re-decided.
        """
        roots = [
            str(r[0])
            for r in self.db.read(
                "SELECT DISTINCT c.destination_root FROM copies c JOIN files f"
                f" ON f.id = c.file_id WHERE f.{_UNSAFE_SQL}"
            )
        ]
        try:
            before = json.loads(self.db.meta("destination_devices") or "{}")
        except ValueError:
            before = {}
        now = {root: device_of(Path(root)) for root in roots}
        changed = [root for root in roots if before.get(root) != now[root]]
        count = 0
        for start in range(0, len(changed), 500):
            chunk = changed[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            ids = [
                int(r[0])
                for r in self.db.read(
                    "SELECT DISTINCT c.file_id FROM copies c JOIN files f ON f.id = c.file_id"
                    f" WHERE f.{_UNSAFE_SQL} AND c.destination_root IN ({marks})",
                    chunk,
                )
            ]
            with self.db.write() as conn:
                for file_id in ids:
                    self._update_safe(conn, file_id)
            count += len(ids)
        if changed:
            self.db.set_meta("destination_devices", json.dumps({**before, **now}))
        return count

    def recompute_safety(self) -> int:
        """Re-decide every file with copies (the policy or destinations changed)."""
        ids = [int(r["file_id"]) for r in self.db.read("SELECT DISTINCT file_id FROM copies")]
        with self.db.write() as conn:  # decided now: the next refresh_safety looks afresh
            conn.execute("DELETE FROM meta WHERE key = 'destination_devices'")
        for start in range(0, len(ids), 2000):
            with self.db.write() as conn:
                for file_id in ids[start : start + 2000]:
                    self._update_safe(conn, file_id)
        return len(ids)

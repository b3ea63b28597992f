"""Opening the catalog database safely: WAL, busy timeout, corruption, errors in words.

Thread contract: :func:`open_database` and :func:`recover_corrupt` are called by
:class:`~almc_assistant.core.catalog.store.Catalog` under its own lock; the connections
returned are then used by one thread at a time.

Each user's catalog is private (see :mod:`almc_assistant.core.privatefs`): its folder is
0700, the database and SQLite's ``-wal``, ``-shm`` and ``-journal`` files are this user's
regular files with mode 0600, created with ``O_EXCL | O_NOFOLLOW`` before SQLite opens
them; a link, a FIFO or another account's file under one of those names is refused with
a message naming it (:class:`~almc_assistant.core.privatefs.UnsafeStateError`), never
opened. Several of the user's own processes (the tray app, a CLI command) share it: WAL
lets readers run while one writer writes, writers queue behind SQLite's busy timeout,
and a write that still finds the database locked after the timeout (and one more try)
fails with :class:`CatalogBusyError`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from almc_assistant.core import privatefs
from almc_assistant.core.catalog import schema
from almc_assistant.core.errors import AlmcError

log = logging.getLogger(__name__)

_SALVAGE_TABLES = ("meta", "sessions", "files", "copies")
SIDECARS = ("-wal", "-shm", "-journal")
_CHUNK = 5000


class CatalogError(AlmcError):
    """The catalog database cannot be read or written."""

    title = "Catalog problem"


class CatalogBusyError(CatalogError):
    title = "Catalog busy"


class CatalogFullError(CatalogError):
    title = "No space for the catalog"


class CatalogCorruptError(CatalogError):
    title = "Catalog damaged"


@dataclass(frozen=True, slots=True)
class Recovery:
    """What happened when a damaged catalog was moved aside and rebuilt."""

    damaged: Path  # where the damaged file now is
    salvaged: dict[str, int]  # rows recovered per table
    reason: str

    def message(self) -> str:
        rows = ", ".join(f"{n} {t}" for t, n in self.salvaged.items() if n) or "no records"
        return (
            f"The catalog database was damaged ({self.reason}). It was moved aside to "
            f"{self.damaged} and a new one was built; {rows} could be recovered from it. "
            "A scan of the acquisition folders restores the list of files."
        )


def prepare_private(path: Path) -> None:
    """The catalog's folder made 0700 and this user's; the database created 0600 if
    missing; it and its SQLite side files checked (this user's regular files, no links).

    Raises :class:`~almc_assistant.core.privatefs.UnsafeStateError` naming what is
    refused, or :class:`CatalogError` when the folder cannot be created.
    """
    try:
        privatefs.ensure_private_dir(path.parent)
        names = tuple(path.name + s for s in ("", *SIDECARS))
        privatefs.check_private_files(path.parent, names, create=path.name)
    except privatefs.UnsafeStateError:
        raise
    except OSError as exc:
        raise CatalogError(
            f"Could not create the folder {path.parent} for the catalog: {exc.strerror}.",
            next_step="Check the permissions of that folder, or ask staff.",
            paths=(path.parent,),
        ) from exc


def _param(value: object) -> object:
    """A file name that is not valid UTF-8 (a str holding surrogate escapes, as Python
    decodes such names) is stored as its exact bytes; every other value as it is."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return os.fsencode(value)
    return value


def _params(args: object) -> object:
    if isinstance(args, dict):
        return {k: _param(v) for k, v in args.items()}
    if isinstance(args, (tuple, list)):
        return tuple(_param(v) for v in args)
    return args


def _cell(value: object) -> object:
    """Back from the catalog: the bytes of a non-UTF-8 name are the same str again
    (surrogate escapes), so a path read back equals the path recorded."""
    return os.fsdecode(value) if isinstance(value, bytes) else value


def decoded_row(cursor: sqlite3.Cursor, row: tuple[object, ...]) -> sqlite3.Row:
    """A :class:`sqlite3.Row` whose non-UTF-8 names read back as the paths recorded."""
    return sqlite3.Row(cursor, tuple(_cell(v) for v in row))


class PathSafeConnection(sqlite3.Connection):
    """Stores file names exactly, including names that are not valid UTF-8 (a Linux
    name can be any bytes): such a name is bound as its bytes (a BLOB) and read back as
    the same surrogate-escaped str, so lookups by path, inserts and reads agree. Before,
    recording one raised ``UnicodeEncodeError`` and the copy went unrecorded."""

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        cur = super().execute(sql, _params(parameters))  # type: ignore[arg-type]
        if cur.row_factory is None:
            cur.row_factory = _plain_row
        return cur

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        return super().executemany(sql, (_params(p) for p in parameters))  # type: ignore[misc]


def _plain_row(_cursor: sqlite3.Cursor, row: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(_cell(v) for v in row)


def connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """A connection in autocommit mode (we open transactions ourselves), WAL, FKs on."""
    conn = sqlite3.connect(
        path,
        timeout=busy_timeout,
        isolation_level=None,
        check_same_thread=False,
        factory=PathSafeConnection,
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def open_database(
    path: Path, busy_timeout: float, *, verify: bool = False
) -> tuple[sqlite3.Connection, Recovery | None]:
    """Open (creating or migrating) the catalog; a damaged file is moved aside and rebuilt.

    A file that is not a database at all is noticed at once. Damage inside an otherwise
    readable database shows only when the damaged pages are read; ``verify`` runs
    SQLite's ``quick_check`` to find it up front (the headless watcher does this).
    """
    prepare_private(path)
    try:
        conn = connect(path, busy_timeout)
        try:
            schema.migrate(conn, path)
            if verify:
                verdict = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
                if verdict != "ok":
                    raise sqlite3.DatabaseError(f"database disk image is malformed: {verdict}")
        except BaseException:
            conn.close()
            raise
        return conn, None
    except sqlite3.DatabaseError as exc:
        if not is_corruption(exc):
            raise translate(exc, path, "open") from exc
        recovery = recover_corrupt(path, busy_timeout, reason=str(exc))
        return connect(path, busy_timeout), recovery
    except schema.NewerSchemaError as exc:
        raise CatalogError(
            f"The catalog {path} was written by a newer almc-assistant (schema "
            f"{exc.found}); this version understands up to {schema.LATEST}.",
            next_step="Update almc-assistant on this workstation, or ask staff.",
            paths=(path,),
        ) from exc


def is_corruption(exc: sqlite3.DatabaseError) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    return (
        name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT"))
        or "not a database" in text
        or "malformed" in text
    )


def recover_corrupt(path: Path, busy_timeout: float, *, reason: str) -> Recovery:
    """Move a damaged database aside, build a new one, and copy over what still reads."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    damaged = path.with_name(f"{path.name}.damaged-{stamp}-{os.getpid()}")
    for suffix in ("", *SIDECARS):
        part = Path(f"{path}{suffix}")
        if part.exists():
            part.replace(Path(f"{damaged}{suffix}"))
    log.warning("catalog %s damaged (%s); moved to %s", path, reason, damaged)
    prepare_private(path)  # the name is taken again at once, 0600, by this user
    conn = connect(path, busy_timeout)
    try:
        schema.migrate(conn, None)
        salvaged = _salvage(damaged, conn)
    finally:
        conn.close()
    return Recovery(damaged=damaged, salvaged=salvaged, reason=reason)


def _salvage(damaged: Path, conn: sqlite3.Connection) -> dict[str, int]:
    """Copy every row that still reads from the damaged file, chunk by chunk."""
    counts = dict.fromkeys(_SALVAGE_TABLES, 0)
    try:
        old = sqlite3.connect(f"file:{damaged}?mode=ro", uri=True)
    except sqlite3.Error:
        return counts
    try:
        for table in _SALVAGE_TABLES:
            counts[table] = _salvage_table(old, conn, table)
    finally:
        old.close()
    return counts


def _salvage_table(old: sqlite3.Connection, new: sqlite3.Connection, table: str) -> int:
    try:
        columns = [r[1] for r in new.execute(f"PRAGMA table_info({table})")]
        top = old.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0
    except sqlite3.Error:
        return 0
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    copied = 0
    select = f"SELECT {names} FROM {table} WHERE rowid BETWEEN ? AND ?"
    for start in range(0, int(top) + 1, _CHUNK):
        try:
            rows = old.execute(select, (start, start + _CHUNK - 1)).fetchall()
        except sqlite3.Error:  # a damaged page: read this chunk row by row
            rows = []
            for rowid in range(start, start + _CHUNK):
                try:
                    rows.extend(old.execute(select, (rowid, rowid)).fetchall())
                except sqlite3.Error:
                    continue
        new.execute("BEGIN IMMEDIATE")
        try:
            for row in rows:
                cur = new.execute(f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({marks})", row)
                copied += cur.rowcount
        except sqlite3.Error:
            new.execute("ROLLBACK")
            continue
        new.execute("COMMIT")
    return copied


def translate(exc: sqlite3.Error, path: Path, action: str) -> CatalogError:
    """Turn an SQLite error into plain words naming the catalog file and what to do."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return CatalogBusyError(
            f"Could not {action} the catalog {path}: another program kept it locked for too long.",
            next_step="Try again in a moment. If it keeps happening, close other "
            "almc-assistant windows on this computer or ask staff.",
            paths=(path,),
        )
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return CatalogFullError(
            f"Could not {action} the catalog {path}: the disk holding it is full.",
            next_step="Free some space on that disk; nothing recorded so far is lost and "
            "pending records are written again once there is room.",
            paths=(path,),
        )
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        return CatalogError(
            f"Could not {action} the catalog {path}: permission denied or the file is read-only.",
            next_step="Check that you may write to that folder and own the catalog file "
            "in it (each user's catalog is private to them).",
            paths=(path,),
        )
    if isinstance(exc, sqlite3.DatabaseError) and is_corruption(exc):
        return CatalogCorruptError(
            f"The catalog {path} is damaged ({text}).",
            next_step="Restart almc-assistant: it moves the damaged file aside and "
            "rebuilds the catalog from what still reads and a scan.",
            paths=(path,),
        )
    return CatalogError(
        f"Could not {action} the catalog {path}: {text}.",
        next_step="Try again; if it persists, send this message to staff.",
        paths=(path,),
    )

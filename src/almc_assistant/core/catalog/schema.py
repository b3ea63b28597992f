"""The catalog's schema and its migrations.

Thread contract: called with a connection the caller owns, inside no open transaction.

The schema version lives in ``PRAGMA user_version``. :data:`MIGRATIONS` holds one SQL
script per version; :func:`migrate` applies the missing ones in order, each in its own
transaction, after copying the database aside (``<name>.v<N>.bak``) so that a failed
migration never costs a record.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from pathlib import Path

from almc_assistant.core import privatefs

log = logging.getLogger(__name__)

# A copy row's root is on a remote (``name:path``, as ``remotepaths.is_remote`` tells one:
# two characters or more of [A-Za-z0-9_. -] before the first colon, the first not " .-").
_REMOTE_ROOT = """instr(destination_root, ':') > 2
        AND substr(destination_root, 1, 1) GLOB '[A-Za-z0-9_]'
        AND substr(destination_root, 1, instr(destination_root, ':') - 1)
            NOT GLOB '*[^A-Za-z0-9_. -]*'"""

# Schema v5 on Windows (see there).
WINDOWS_REMOTE_SLASHES = (
    """
    UPDATE OR IGNORE copies
        SET destination_root = replace(destination_root, '\\', '/'),
            path = replace(path, '\\', '/')
        WHERE instr(destination_root || path, '\\') > 0 AND """
    + _REMOTE_ROOT
    + """;
    DELETE FROM copies WHERE instr(destination_root || path, '\\') > 0 AND """
    + _REMOTE_ROOT
    + """;
    DELETE FROM meta WHERE key = 'safety_key';
    """
)

# Index of the list + 1 == the version the script brings the database to.
MIGRATIONS: tuple[str, ...] = (
    # v1
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        owner TEXT NOT NULL,
        started_at REAL NOT NULL,
        ended_at REAL
    );
    CREATE INDEX sessions_open ON sessions (owner) WHERE ended_at IS NULL;
    CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        root TEXT,                      -- the acquisition folder it was seen under
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        owner TEXT NOT NULL,
        first_seen REAL NOT NULL,
        born REAL NOT NULL,             -- age reference (see catalog.store.age_reference)
        session_id INTEGER REFERENCES sessions (id),
        state TEXT NOT NULL,
        state_at REAL NOT NULL,
        verdict TEXT,
        verdict_reasons TEXT,
        safe INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX files_unsafe ON files (owner, session_id, size, born)
        WHERE safe = 0 AND state IN ('acquiring', 'complete');
    CREATE INDEX files_lost ON files (owner) WHERE state = 'lost';
    CREATE INDEX files_session ON files (session_id);
    CREATE INDEX files_root ON files (root, born);
    CREATE TABLE copies (
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
        destination_root TEXT NOT NULL,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        blake3 TEXT NOT NULL,
        verified_at REAL NOT NULL,
        UNIQUE (file_id, path)
    );
    CREATE INDEX copies_destination ON copies (destination_root);
    """,
    # v2: file identity (issue 9). NULL in rows written before: "not known yet".
    """
    ALTER TABLE files ADD COLUMN dev INTEGER;
    ALTER TABLE files ADD COLUMN ino INTEGER;
    ALTER TABLE files ADD COLUMN ctime_ns INTEGER;
    ALTER TABLE copies ADD COLUMN src_dev INTEGER;
    ALTER TABLE copies ADD COLUMN src_ino INTEGER;
    ALTER TABLE copies ADD COLUMN src_ctime_ns INTEGER;
    """,
    # v3: how a remote copy was proven (issue 13): ``StoredProof.as_dict()`` as JSON.
    # NULL for a local copy, and for remote copies recorded before (all were proven).
    """
    ALTER TABLE copies ADD COLUMN proof TEXT;
    """,
    # v4: copies on a remote (root ``name:path``, as ``policy.remote_device`` tells one:
    # two characters or more of [A-Za-z0-9_. -] before the first colon, the first not
    # " .-") recorded with no source identity: the receipts' imports from before
    # ``copies.NOT_CONFIRMED``. A file's first identity (a first scan, a move) would adopt
    # them, so a copy of older bytes could count as current: they become NOT_CONFIRMED,
    # counted once a re-hash from storage matches them and their proof, as new imports.
    # Their files' safety is decided again (unsafe meanwhile; the next open with a
    # safety key recomputes every flag).
    """
    UPDATE copies SET src_dev = -1, src_ino = -1, src_ctime_ns = -1
        WHERE src_dev IS NULL AND src_ino IS NULL AND src_ctime_ns IS NULL
        AND """
    + _REMOTE_ROOT
    + """;
    UPDATE files SET safe = 0
        WHERE id IN (SELECT file_id FROM copies WHERE src_ctime_ns = -1);
    DELETE FROM meta WHERE key = 'safety_key';
    """,
    # v5: remote copies recorded on Windows before remote paths were kept ``/``-separated
    # (``core.remotepaths``): ``research:lab\\me\\a.nd2`` (a ``WindowsPath``'s text) becomes
    # ``research:lab/me/a.nd2``, the name rclone and the receipts use. Windows only: there
    # a file name cannot hold ``\\`` (every one was a separator); elsewhere it is a plain
    # character of a name and nothing wrote one as a separator. A row whose ``/`` twin is
    # there already (the same copy recorded again since) is dropped for it.
    WINDOWS_REMOTE_SLASHES if sys.platform == "win32" else "",
)

LATEST = len(MIGRATIONS)


def version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, db_path: Path | None) -> int:
    """Bring the database to :data:`LATEST`; return the version it had before.

    Refuses a database written by a newer version of the app (it would not understand
    its records) with ``sqlite3.DatabaseError`` mapped by the caller.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        before = version(conn)
    finally:
        conn.execute("COMMIT")
    if before > LATEST:
        raise NewerSchemaError(before)
    if before == LATEST:
        return before
    if before > 0 and db_path is not None:
        backup = db_path.with_name(f"{db_path.name}.v{before}.bak")
        privatefs.check_private_files(backup.parent, (backup.name,), create=backup.name)
        with sqlite3.connect(backup) as target:
            conn.backup(target)
        target.close()
        log.info("catalog %s copied to %s before migrating", db_path, backup)
    for number in range(before + 1, LATEST + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if version(conn) >= number:  # another process migrated meanwhile
                conn.execute("COMMIT")
                continue
            for statement in _statements(MIGRATIONS[number - 1]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return before


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (executescript would commit early)."""
    out: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            out.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        out.append(buffer.strip())
    return out


class NewerSchemaError(Exception):
    """The database was written by a newer almc-assistant."""

    def __init__(self, found: int) -> None:
        super().__init__(f"catalog schema version {found} is newer than {LATEST}")
        self.found = found

"""The catalog's connections: one per thread, reads, write transactions, small facts.

Thread contract: usable from any number of threads at once. Each thread reads and writes
through its own SQLite connection (WAL readers never wait for writers); every write runs
in a ``BEGIN IMMEDIATE`` transaction behind SQLite's busy timeout and is retried once
before :class:`~almc_assistant.core.catalog.connection.CatalogBusyError` is raised.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from almc_assistant.core.catalog import connection as db


class Connections:
    """The database file at ``path``, opened (and checked, recovered) once."""

    def __init__(self, path: Path, *, busy_timeout: float, verify: bool) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        first, self.recovery = db.open_database(path, busy_timeout, verify=verify)
        self._register(first)

    def _register(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            self._all.append(conn)
        self._local.conn = conn

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = db.connect(self.path, self._busy_timeout)
            except sqlite3.Error as exc:
                raise db.translate(exc, self.path, "open") from exc
            self._register(conn)
        return conn

    def close(self) -> None:
        """Close every connection (from any thread)."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes made by this thread into one transaction (all or nothing)."""
        if getattr(self._local, "batch", None) is not None:
            yield
            return
        with self.write() as conn:
            self._local.batch = conn
            try:
                yield
            finally:
                self._local.batch = None

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, retried once if the database stays locked."""
        batch: sqlite3.Connection | None = getattr(self._local, "batch", None)
        if batch is not None:  # inside transaction(): the outer one commits
            yield batch
            return
        conn = self.conn()
        for attempt in (1, 2):
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                error = db.translate(exc, self.path, "write to")
                if attempt == 2 or not isinstance(error, db.CatalogBusyError):
                    raise error from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise db.translate(exc, self.path, "write to") from exc
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def read(self, sql: str, args: Sequence[object] = ()) -> list[sqlite3.Row]:
        conn = self.conn()
        try:
            cur = conn.execute(sql, tuple(args))
            cur.row_factory = db.decoded_row
            return cur.fetchall()
        except sqlite3.Error as exc:
            raise db.translate(exc, self.path, "read") from exc

    def meta(self, key: str) -> str | None:
        """A small fact kept in the catalog (``None``: never noted)."""
        rows = self.read("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0]["value"]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

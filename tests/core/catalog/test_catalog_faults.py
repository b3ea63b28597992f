"""Bad input and faults: damaged file, locked database, full disk, permissions, newer schema."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from almc_assistant.core.catalog import (
    Catalog,
    CatalogBusyError,
    CatalogError,
    CatalogFullError,
    FileState,
    schema,
)
from almc_assistant.core.privatefs import UnsafeStateError
from tests.core.catalog.conftest import copy_of
from tests.portable import IS_ROOT, WINDOWS

NS = 1_000_000_000
SRC = Path(__file__).resolve().parents[3] / "src"


def _fill(db: Path, n: int) -> None:
    with Catalog(db) as cat:
        cat.record_seen_many(
            [(Path(f"/acq/f{i:06d}.tif"), 1000 + i, NS, "ann", None) for i in range(n)],
            state=FileState.COMPLETE,
        )
        src = Path("/acq/f000001.tif")
        cat.record_copy(copy_of(src, Path("/d1"), 1001, NS), owner="ann")


def test_garbage_file_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    db = tmp_path / "catalog.sqlite3"
    db.write_bytes(os.urandom(8192))
    with Catalog(db) as cat:
        assert cat.recovery is not None
        assert cat.recovery.damaged.exists()
        assert cat.recovery.damaged.read_bytes()[:16] != b"SQLite format 3\x00"
        assert "moved aside" in cat.recovery.message()
        assert str(cat.recovery.damaged) in cat.recovery.message()
        cat.record_seen(Path("/acq/a"), size=1, mtime_ns=NS, owner="ann")
        assert cat.file(Path("/acq/a")) is not None


def test_damaged_pages_lose_only_what_cannot_be_read(tmp_path: Path) -> None:
    db = tmp_path / "catalog.sqlite3"
    _fill(db, 30_000)
    page = sqlite3.connect(db).execute("PRAGMA page_size").fetchone()[0]
    size = db.stat().st_size
    with open(db, "r+b") as fh:  # overwrite a few pages in the middle of the files table
        fh.seek((size // page // 2) * page)
        fh.write(os.urandom(page * 3))
    with Catalog(db, verify=True) as cat:
        assert cat.recovery is not None
        salvaged = cat.recovery.salvaged
        assert 20_000 < salvaged["files"] < 30_000
        assert salvaged["sessions"] == 1
        assert cat.file(Path("/acq/f000001.tif")) is not None
        assert len(cat.unsafe_files("ann")) == salvaged["files"]


def test_write_waits_for_a_lock_then_succeeds(tmp_path: Path) -> None:
    db = tmp_path / "catalog.sqlite3"
    with Catalog(db, busy_timeout=5.0) as cat:
        other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN EXCLUSIVE")
        release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
        release.start()
        try:
            cat.record_seen(Path("/acq/a"), size=1, mtime_ns=NS, owner="ann")
        finally:
            release.join()
            other.close()
        assert cat.file(Path("/acq/a")) is not None


def test_write_to_a_database_locked_too_long_says_so(tmp_path: Path) -> None:
    db = tmp_path / "catalog.sqlite3"
    with Catalog(db, busy_timeout=0.2) as cat:
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(CatalogBusyError) as info:
                cat.record_seen(Path("/acq/a"), size=1, mtime_ns=NS, owner="ann")
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert str(db) in info.value.detail and "locked" in info.value.detail
        assert "almc-assistant" in info.value.next_step
        cat.record_seen(Path("/acq/a"), size=1, mtime_ns=NS, owner="ann")  # fine again


def _writer(db: str, who: str, n: int) -> None:
    with Catalog(Path(db), busy_timeout=30.0) as cat:
        for i in range(n):
            cat.record_seen(Path(f"/acq/{who}/{i}"), size=i, mtime_ns=NS, owner=who)


def test_concurrent_writers_threads_and_processes(tmp_path: Path) -> None:
    db = tmp_path / "shared.sqlite3"
    Catalog(db).close()
    code = (
        "import sys; from tests.core.catalog.test_catalog_faults import _writer;"
        " _writer(sys.argv[1], sys.argv[2], 150)"
    )
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{SRC.parent}"}
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(db), f"proc{i}"], env=env)
        for i in range(3)
    ]
    threads = [
        threading.Thread(target=_writer, args=(str(db), f"thread{i}", 150)) for i in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    with Catalog(db) as cat:
        for who in [f"proc{i}" for i in range(3)] + [f"thread{i}" for i in range(3)]:
            assert cat.pending(who)[0] == 150, who


@contextlib.contextmanager
def _tmpfs(size: str) -> Iterator[Path]:
    mount = Path(tempfile.mkdtemp(prefix="almc-tmpfs-"))
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount tmpfs: {done.stderr.decode().strip()}")
        try:
            yield mount
        finally:
            subprocess.run(["umount", "-l", str(mount)], check=False)
    finally:
        mount.rmdir()


@pytest.mark.root
@pytest.mark.skipif(not IS_ROOT, reason="needs root to mount a tmpfs")
def test_disk_full_while_writing_reports_and_loses_nothing_recorded() -> None:
    with _tmpfs("2m") as mount:
        db = mount / "catalog.sqlite3"
        with Catalog(db) as cat:
            cat.record_seen(Path("/acq/first"), size=1, mtime_ns=NS, owner="ann")
            filler = mount / "filler"
            # the suppress outside: closing the file flushes what did not fit, and fails
            with contextlib.suppress(OSError), open(filler, "wb") as fh:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            batch = [(Path(f"/acq/{'x' * 200}{i}"), i, NS, "ann", None) for i in range(20_000)]
            with pytest.raises(CatalogFullError) as info:
                cat.record_seen_many(batch)
            assert "full" in info.value.detail and str(db) in info.value.detail
            assert cat.file(Path("/acq/first")) is not None
            filler.unlink()
            cat.record_seen_many(batch[:100])
            assert cat.pending("ann")[0] == 101


@pytest.mark.skipif(WINDOWS, reason="Windows ignores POSIX folder modes (chmod)")
def test_permission_denied_is_a_clear_error(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    db = shared / "catalog.sqlite3"
    with Catalog(db) as cat:
        cat.record_seen(Path("/acq/a"), size=1, mtime_ns=NS, owner="ann")
    with (
        _read_only(shared),
        pytest.raises(CatalogError) as info,
        Catalog(db, busy_timeout=0.2) as cat,
    ):
        cat.record_seen(Path("/acq/b"), size=1, mtime_ns=NS, owner="ann")
    assert str(db) in info.value.detail
    assert "permission denied or the file is read-only" in info.value.detail
    assert "write to that folder" in info.value.next_step
    with Catalog(db) as cat:
        assert cat.file(Path("/acq/a")) is not None


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """Permission bits for a user; a read-only bind mount for root (root ignores bits)."""
    if not IS_ROOT:
        modes = {p: p.stat().st_mode for p in [folder, *folder.iterdir()]}
        for p in modes:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    done = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount: {done.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_folder_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(CatalogError) as info:
        Catalog(blocker / "catalog.sqlite3")
    assert str(blocker) in info.value.detail


def test_newer_schema_is_refused_without_touching_it(tmp_path: Path) -> None:
    db = tmp_path / "catalog.sqlite3"
    Catalog(db).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {schema.LATEST + 1}")
    conn.close()
    before = db.read_bytes()
    with pytest.raises(CatalogError) as info:
        Catalog(db)
    assert "newer" in info.value.detail and "Update" in info.value.next_step
    assert db.read_bytes() == before


def test_migration_copies_the_old_database_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "catalog.sqlite3"
    with Catalog(db) as cat:
        cat.record_seen(Path("/acq/a"), size=1, mtime_ns=NS, owner="ann")
    extra = "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);"
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, extra))
    monkeypatch.setattr(schema, "LATEST", len(schema.MIGRATIONS))
    with Catalog(db) as cat:
        assert cat.file(Path("/acq/a")) is not None
    backup = db.with_name(f"{db.name}.v{schema.LATEST - 1}.bak")
    assert backup.exists()
    old = sqlite3.connect(backup)
    assert old.execute("SELECT count(*) FROM files").fetchone()[0] == 1
    old.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST
    conn.close()


def test_reads_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    db = tmp_path / "catalog.sqlite3"
    with Catalog(db, busy_timeout=0.1) as cat:
        cat.record_seen(Path("/acq/a"), size=1, mtime_ns=NS, owner="ann")
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE files SET size = 99")
        try:
            assert cat.pending("ann")[:2] == (1, 1)  # WAL: the committed state
        finally:
            other.execute("ROLLBACK")
            other.close()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_the_catalog_is_private_to_its_user(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        state = tmp_path / "state"
        state.mkdir(mode=0o755)
        db = state / "catalog.sqlite3"
        with Catalog(db) as cat:
            cat.record_seen(Path("/acq/a"), size=1, mtime_ns=NS, owner="ann")
            for part in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                assert stat.S_IMODE(part.stat().st_mode) == 0o600, part
        assert stat.S_IMODE(state.stat().st_mode) == 0o700  # tightened through its fd
    finally:
        os.umask(old)


@pytest.mark.skipif(os.name != "posix", reason="POSIX links and FIFOs")
@pytest.mark.parametrize("name", ["catalog.sqlite3", "catalog.sqlite3-wal", "catalog.sqlite3-shm"])
@pytest.mark.parametrize("kind", ["link", "fifo"])
def test_a_link_or_fifo_under_a_catalog_name_is_refused_not_opened(
    tmp_path: Path, name: str, kind: str
) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    target = tmp_path / "victim"  # e.g. someone's ~/.bash_profile
    if kind == "link":
        (state / name).symlink_to(target)
    else:
        os.mkfifo(state / name)
    with pytest.raises(UnsafeStateError) as info:
        Catalog(state / "catalog.sqlite3")
    assert str(state / name) in info.value.detail
    assert "symbolic link" in info.value.detail or "not a regular file" in info.value.detail
    assert not target.exists()  # nothing created through the link


def test_a_malformed_row_costs_only_that_row(tmp_path: Path) -> None:
    db = tmp_path / "catalog.sqlite3"
    with Catalog(db) as cat:
        cat.record_seen(Path("/acq/good"), size=1, mtime_ns=NS, owner="ann")
        cat.record_seen(Path("/acq/bad"), size=1, mtime_ns=NS, owner="ann")
    raw = sqlite3.connect(db)
    bad = str(Path("/acq/bad"))  # as stored: with this OS's separators
    raw.execute("UPDATE files SET state = 'from-the-future', born = 'x' WHERE path = ?", (bad,))
    raw.commit()
    raw.close()
    with Catalog(db) as cat:
        assert [f.path for f in cat.unsafe_files("ann")] == [Path("/acq/good")]
        assert cat.file(Path("/acq/bad")) is None
        assert cat.bad_rows == {f"file {2}"}
        cat.unsafe_totals("ann")  # no ValueError

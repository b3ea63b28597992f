"""The catalog keeps each file's identity and each copy's source identity (issue 9).

"Unchanged" is size, mtime, ctime and file number: an edit with the size kept and the
mtime restored leaves the old copies stale (the file is unsafe, "changed since its last
backup") until a re-hash from storage shows they still hold its bytes. Real files; the
device test mounts a real tmpfs (root only).
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

import blake3
import pytest

from almc_assistant.core.catalog import Catalog, FileState, schema
from almc_assistant.core.catalog.revalidate import revalidate
from almc_assistant.core.config import PolicySettings
from almc_assistant.core.copies import NOT_CONFIRMED, CopyRecord, ident_of
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.identity import FileIdentity
from almc_assistant.core.policy import DeviceResolver, Policy
from tests.disks import mount_tmpfs, unmount
from tests.portable import IS_ROOT, chmod_until_the_ctime_moves


def any_copy(copies: Sequence[CopyRecord]) -> bool:
    return bool(copies)


def acquired(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    when = time.time() - 3600
    os.utime(path, (when, when))
    return path


def edit_keeping_size_and_mtime(path: Path, data: bytes) -> None:
    """``dd conv=notrunc`` then ``touch -d``: same size, same mtime, new bytes."""
    st = path.stat()
    with open(path, "r+b") as f:
        f.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def copy_of(path: Path, dest: Path) -> CopyRecord:
    """A verified copy of ``path`` as the copy engine reports it (with its identity)."""
    data = path.read_bytes()
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)
    ident = FileIdentity.of_path(path)
    return CopyRecord(
        source=path,
        destination_root=dest.parent,
        path=dest,
        size=ident.size,
        mtime_ns=ident.mtime_ns,
        blake3=blake3.blake3(data).hexdigest(),
        verified_at=time.time(),
        source_ident=ident_of(ident),
    )


def seen(catalog: Catalog, path: Path) -> None:
    ident = FileIdentity.of_path(path)
    catalog.record_seen(
        path,
        size=ident.size,
        mtime_ns=ident.mtime_ns,
        owner="ann",
        state=FileState.COMPLETE,
        identity=ident,
    )


def test_an_edit_with_the_mtime_restored_makes_the_copies_stale(tmp_path: Path) -> None:
    f = acquired(tmp_path / "acq" / "a.nd2", b"a" * 4096)
    with Catalog(tmp_path / "c.sqlite3", safety=any_copy) as cat:
        seen(cat, f)
        assert cat.record_copy(copy_of(f, tmp_path / "bit" / "a.nd2"), owner="ann")
        edit_keeping_size_and_mtime(f, b"B" * 100)
        seen(cat, f)
        rec = cat.file(f)
        assert rec is not None and not rec.safe and rec.changed_since_backup
        assert rec.current_copies() == ()
        assert [r.path for r in cat.unsafe_files("ann")] == [f]
        assert revalidate(cat, f) == 0  # the bytes differ: the copy stays stale
        assert not cat.file(f).safe  # type: ignore[union-attr]
        # Deleted now, it was never safe as it was: lost, not gone.
        assert cat.record_deleted(f) is FileState.LOST


def test_a_chmod_alone_is_told_apart_by_a_rehash(tmp_path: Path) -> None:
    f = acquired(tmp_path / "acq" / "a.nd2", b"a" * 4096)
    with Catalog(tmp_path / "c.sqlite3", safety=any_copy) as cat:
        seen(cat, f)
        cat.record_copy(copy_of(f, tmp_path / "bit" / "a.nd2"), owner="ann")
        chmod_until_the_ctime_moves(f)
        seen(cat, f)
        assert not cat.file(f).safe  # type: ignore[union-attr]  # until re-hashed
        assert revalidate(cat, f) == 1
        rec = cat.file(f)
        assert rec is not None and rec.safe and not rec.changed_since_backup
        assert revalidate(cat, f) == 0  # nothing stale left: no second read


def test_a_hard_link_made_by_a_backup_tool_keeps_the_copies_after_a_rehash(
    tmp_path: Path,
) -> None:
    f = acquired(tmp_path / "acq" / "a.nd2", b"a" * 4096)
    with Catalog(tmp_path / "c.sqlite3", safety=any_copy) as cat:
        seen(cat, f)
        cat.record_copy(copy_of(f, tmp_path / "bit" / "a.nd2"), owner="ann")
        os.link(f, tmp_path / "snapshot-a.nd2")  # the link count moves the ctime
        seen(cat, f)
        assert revalidate(cat, f) == 1 and cat.file(f).safe  # type: ignore[union-attr]


def test_a_replacement_under_the_same_name_is_a_change(tmp_path: Path) -> None:
    f = acquired(tmp_path / "acq" / "a.nd2", b"a" * 4096)
    with Catalog(tmp_path / "c.sqlite3", safety=any_copy) as cat:
        seen(cat, f)
        cat.record_copy(copy_of(f, tmp_path / "bit" / "a.nd2"), owner="ann")
        st = f.stat()
        other = acquired(tmp_path / "acq" / ".tmp", b"z" * 4096)
        os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
        other.replace(f)
        seen(cat, f)
        assert cat.file(f).changed_since_backup  # type: ignore[union-attr]


def test_old_rows_are_read_and_adopt_the_first_identity_seen(tmp_path: Path) -> None:
    """A catalog written before schema v2: its copies count as before (size and mtime)
    until an identity is known; the first one is adopted, a later change is not."""
    db = tmp_path / "c.sqlite3"
    f = acquired(tmp_path / "acq" / "a.nd2", b"a" * 4096)
    st = f.stat()
    legacy_catalog(db, f)
    with Catalog(db, safety=any_copy) as cat:
        rec = cat.file(f)
        assert rec is not None and rec.safe and rec.ident is None
        assert len(rec.current_copies()) == 1
        assert cat.known_files(f.parent) == {f: (st.st_size, st.st_mtime_ns, 0, 0)}
        seen(cat, f)  # the first identity known
        rec = cat.file(f)
        assert rec is not None and rec.safe and rec.ident is not None
        edit_keeping_size_and_mtime(f, b"B")
        seen(cat, f)
        assert cat.file(f).changed_since_backup  # type: ignore[union-attr]


def test_a_receipts_copy_is_never_adopted_only_confirmed_by_a_rehash(tmp_path: Path) -> None:
    """A copy read from a receipt (``NOT_CONFIRMED``: which version was copied is not
    known) counts for the bytes it names once a re-hash finds them, never by adoption:
    not as the first identity known of an old row, not on a rename."""
    db = tmp_path / "c.sqlite3"
    f = acquired(tmp_path / "acq" / "a.nd2", b"a" * 4096)
    legacy_catalog(db, f)  # the file's identity is not known yet
    with Catalog(db, safety=lambda copies: len(copies) >= 2) as cat:
        other = dataclasses.replace(
            copy_of(f, tmp_path / "remote" / "a.nd2"),
            blake3=blake3.blake3(b"older bytes").hexdigest(),
            source_ident=NOT_CONFIRMED,
        )
        assert cat.record_copy(other, owner="ann", create=False) is False
        assert len(cat.file(f).current_copies()) == 1  # type: ignore[union-attr]
        seen(cat, f)  # the first identity known: the old row's copy adopts it, not this
        rec = cat.file(f)
        assert rec is not None and not rec.safe and len(rec.current_copies()) == 1
        moved = f.with_name("b.nd2")
        f.rename(moved)
        st = FileIdentity.of_path(moved)
        cat.record_moved(f, moved, size=st.size, mtime_ns=st.mtime_ns, identity=st)
        rec = cat.file(moved)
        assert rec is not None and not rec.safe and len(rec.current_copies()) == 1
        assert revalidate(cat, moved) == 0  # other bytes: still not counted
        good = dataclasses.replace(
            other, source=moved, blake3=blake3.blake3(b"a" * 4096).hexdigest()
        )
        cat.record_copy(good, owner="ann", create=False)
        assert not cat.file(moved).safe  # type: ignore[union-attr]  # until re-hashed
        assert revalidate(cat, moved) == 1
        assert cat.file(moved).safe  # type: ignore[union-attr]


def legacy_catalog(db: Path, f: Path) -> None:
    """A schema v1 catalog holding ``f`` complete and safe, with one verified copy."""
    st = f.stat()
    conn = sqlite3.connect(db)
    conn.executescript(schema.MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO files (path, size, mtime_ns, owner, first_seen, born, state, state_at,"
        " safe) VALUES (?, ?, ?, 'ann', 0, 0, 'complete', 0, 1)",
        (str(f), st.st_size, st.st_mtime_ns),
    )
    conn.execute(
        "INSERT INTO copies (file_id, destination_root, path, size, mtime_ns, blake3,"
        " verified_at) VALUES (1, '/bit', '/bit/a.nd2', ?, ?, ?, 0)",
        (st.st_size, st.st_mtime_ns, blake3.blake3(f.read_bytes()).hexdigest()),
    )
    conn.commit()
    conn.close()


@pytest.mark.root
def test_safe_flags_come_back_with_the_drive(tmp_path: Path) -> None:
    """Policy recomputed while the backup drive is unplugged: its files are unsafe;
    plugged back in, the next refresh judges them again (no new copy needed)."""
    if not IS_ROOT:
        pytest.skip("needs root to mount a tmpfs")
    drive = tmp_path / "usb"
    dest = Destination(name="USB", path=drive / "backup", kind=DestinationKind.INSTITUTIONAL)
    policy = Policy(
        PolicySettings(), [dest], acquisition_roots=[tmp_path], device_of=DeviceResolver(ttl=0)
    )
    f = acquired(tmp_path / "acq" / "a.nd2", b"a" * 4096)
    mount_tmpfs(drive)
    try:
        with Catalog(tmp_path / "c.sqlite3", safety=policy.is_safe) as cat:
            seen(cat, f)
            copy = copy_of(f, drive / "backup" / "a.nd2")
            copy = dataclasses.replace(copy, destination_root=drive / "backup")
            assert cat.record_copy(copy, owner="ann")
            assert cat.refresh_safety(policy.device_of) == 0  # nothing unsafe
            unmount(drive)
            cat.recompute_safety()  # e.g. the facility changed the policy meanwhile
            assert [r.path for r in cat.unsafe_files("ann")] == [f]
            assert cat.refresh_safety(policy.device_of) == 0  # still away: no work
            assert cat.unsafe_files("ann") != []
            mount_tmpfs(drive)
            (drive / "backup").mkdir()
            copy_of(f, drive / "backup" / "a.nd2")
            assert cat.refresh_safety(policy.device_of) == 1
            assert cat.unsafe_files("ann") == [] and cat.file(f).safe  # type: ignore[union-attr]
    finally:
        unmount(drive)

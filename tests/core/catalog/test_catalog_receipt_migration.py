"""Remote copies read from receipts before ``NOT_CONFIRMED`` existed (schema v3 rows with
no source identity) are migrated to NOT_CONFIRMED (schema v4): a file's first identity,
met on a scan or after a move, never adopts them; a re-hash from storage that matches the
copy and its remote proof makes it count, as for a receipt imported today. Real catalog
files built in the old shape, real files re-read from disk."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from pathlib import Path, PurePosixPath, PureWindowsPath

import blake3
import pytest

from almc_assistant.core.catalog import Catalog, schema
from almc_assistant.core.catalog.revalidate import revalidate
from almc_assistant.core.copies import NOT_CONFIRMED
from almc_assistant.core.identity import FileIdentity
from almc_assistant.core.policy import remote_device
from tests.core.catalog.test_catalog_identity import acquired, any_copy, seen

OLDER = b"o" * 4096  # what an older version of a file held (same size)


def _as_recorded(remote_path: str) -> str:
    """A remote path as the app records it on this system (a ``Path``: ``\\`` on Windows)."""
    return str(Path(remote_path))


def v3_catalog(db: Path, rows: list[tuple[Path, str, str, bytes, str | None]]) -> None:
    """A schema v3 catalog as the app wrote it before the trust fix: each file safe, with
    no identity known, and one copy (``root``, ``copy path``, the bytes it holds, its
    proof as JSON) of no source identity, as the receipts' import recorded them."""
    conn = sqlite3.connect(db)
    for script in schema.MIGRATIONS[:3]:
        conn.executescript(script)
    conn.execute("PRAGMA user_version = 3")
    conn.execute("INSERT INTO meta (key, value) VALUES ('safety_key', 'k')")
    for number, (path, root, copy, held, proof) in enumerate(rows, 1):
        st = path.stat()
        conn.execute(
            "INSERT INTO files (id, path, size, mtime_ns, owner, first_seen, born, state,"
            " state_at, safe) VALUES (?, ?, ?, ?, 'ann', 0, 0, 'complete', 0, 1)",
            (number, str(path), st.st_size, st.st_mtime_ns),
        )
        conn.execute(
            "INSERT INTO copies (file_id, destination_root, path, size, mtime_ns, blake3,"
            " verified_at, proof) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
            (
                number,
                root,
                copy,
                st.st_size,
                st.st_mtime_ns,
                blake3.blake3(held).hexdigest(),
                proof,
            ),
        )
    conn.commit()
    conn.close()


def test_old_receipt_rows_are_not_adopted_and_count_only_once_rehashed(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    acq = tmp_path / "acq"
    current = acquired(acq / "current.nd2", b"c" * 4096)  # the remote holds these bytes
    changed = acquired(acq / "changed.nd2", b"n" * 4096)  # the remote holds OLDER bytes
    local = acquired(acq / "local.nd2", b"l" * 4096)  # a drive's copy from schema v1 days
    md5 = hashlib.md5(b"c" * 4096).hexdigest()
    v3_catalog(
        db,
        [
            (
                current,
                _as_recorded("research:lab/me"),
                _as_recorded("research:lab/me/current.nd2"),
                b"c" * 4096,
                json.dumps({"algorithm": "md5", "expected": md5}),
            ),
            (changed, "s3:bucket", _as_recorded("s3:bucket/changed.nd2"), OLDER, None),
            (
                local,
                str(tmp_path / "drive"),
                str(tmp_path / "drive" / "local.nd2"),
                b"l" * 4096,
                None,
            ),
        ],
    )
    with Catalog(db, safety=any_copy) as cat:
        assert (tmp_path / "c.sqlite3.v3.bak").exists()  # the old catalog kept aside
        for path in (current, changed):
            rec = cat.file(path)
            assert rec is not None and not rec.safe, rec
            assert [c.source_ident for c in rec.copies] == [NOT_CONFIRMED]
        [drive] = cat.file(local).copies  # type: ignore[union-attr]
        assert drive.source_ident is None  # a local legacy row: untouched
        assert cat.db.meta("safety_key") is None  # flags decided again on the next open

        # A first scan of one, a move of the other: neither adopts the receipt's copy.
        seen(cat, changed)
        assert not cat.file(changed).safe  # type: ignore[union-attr]
        assert cat.file(changed).changed_since_backup  # type: ignore[union-attr]
        moved = current.with_name("renamed.nd2")
        current.rename(moved)
        st = FileIdentity.of_path(moved)
        assert cat.record_moved(current, moved, size=st.size, mtime_ns=st.mtime_ns, identity=st)
        rec = cat.file(moved)
        assert rec is not None and not rec.safe and not rec.current_copies()

        # A re-hash from storage: the copy of these bytes (its MD5 proof too) counts, the
        # copy of older bytes never does.
        assert revalidate(cat, moved) == 1
        assert cat.file(moved).safe  # type: ignore[union-attr]
        assert revalidate(cat, changed) == 0
        assert not cat.file(changed).safe  # type: ignore[union-attr]

        # The local legacy row still adopts the first identity (schema v2's rule).
        seen(cat, local)
        assert cat.file(local).safe  # type: ignore[union-attr]


def test_a_proof_the_bytes_do_not_match_keeps_the_copy_unconfirmed(tmp_path: Path) -> None:
    """Right BLAKE3, wrong MD5 in the stored proof: the re-hash does not confirm it."""
    db = tmp_path / "c.sqlite3"
    f = acquired(tmp_path / "acq" / "a.nd2", b"a" * 4096)
    proof = json.dumps({"algorithm": "md5", "expected": hashlib.md5(OLDER).hexdigest()})
    v3_catalog(db, [(f, "s3:bucket", _as_recorded("s3:bucket/a.nd2"), b"a" * 4096, proof)])
    with Catalog(db, safety=any_copy) as cat:
        seen(cat, f)
        assert revalidate(cat, f) == 0
        assert not cat.file(f).safe  # type: ignore[union-attr]


def test_the_migration_tells_a_remote_root_as_the_policy_does(tmp_path: Path) -> None:
    """The SQL's test of a remote root agrees with ``policy.remote_device`` on remotes,
    POSIX and Windows paths, UNC shares and odd names."""
    roots = [
        "research:lab/me",
        "s3:bucket",
        "my drive:",
        "a_b.c-d:x/y",
        "ab:",
        "/bit/lab",
        "C:\\data",
        "C:/data",
        "\\\\server\\share",
        "a/b:c",
        ".hidden:x",
        " x:y",
        "-x:y",
        "x:y",
        "rélais:x",
        "relative/folder",
    ]
    f = acquired(tmp_path / "acq" / "a.nd2", b"a" * 4096)
    db = tmp_path / "c.sqlite3"
    v3_catalog(db, [(f, roots[0], f"{roots[0]}/copy", b"a", None)])
    conn = sqlite3.connect(db)
    conn.executemany(
        "INSERT INTO copies (file_id, destination_root, path, size, mtime_ns, blake3,"
        " verified_at) VALUES (1, ?, ?, 1, 1, 'x', 0)",
        [(root, f"{root}/copy-{i}") for i, root in enumerate(roots[1:])],
    )
    conn.commit()
    conn.close()
    with Catalog(db, safety=any_copy) as cat:
        rows = {
            str(r[0]): r[1] for r in cat.db.read("SELECT destination_root, src_dev FROM copies")
        }
    assert len(rows) == len(roots)
    for root in roots:
        assert (rows[root] == -1) == (remote_device(root) is not None), root
    assert sum(v == -1 for v in rows.values()) == 5


def _copy_rows(db: Path) -> set[tuple[int, str, str]]:
    conn = sqlite3.connect(db)
    try:
        return set(conn.execute("SELECT file_id, destination_root, path FROM copies"))
    finally:
        conn.close()


def test_windows_remote_copies_recorded_with_backslashes_get_their_slashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Schema v5 on Windows: remote copies recorded before remote paths were kept with
    ``/`` (``research:lab\\me\\exp1\\a.nd2``, a ``WindowsPath``'s text) get the name rclone
    and the receipts use; a row whose ``/`` twin is there already goes; local rows (``C:\\``,
    ``\\\\server\\share``) are left alone. Elsewhere this test runs the Windows script."""
    if sys.platform != "win32":
        monkeypatch.setattr(
            schema, "MIGRATIONS", (*schema.MIGRATIONS[:4], schema.WINDOWS_REMOTE_SLASHES)
        )
    win = PureWindowsPath
    a = acquired(tmp_path / "acq" / "a.nd2", b"a" * 4096)
    b = acquired(tmp_path / "acq" / "b.nd2", b"b" * 4096)
    c = acquired(tmp_path / "acq" / "c.nd2", b"c" * 4096)
    db = tmp_path / "c.sqlite3"
    v3_catalog(
        db,
        [
            (a, str(win("research:lab/me")), str(win("research:lab/me/exp1/a.nd2")), b"a", None),
            (b, "s3:bucket", str(win("s3:bucket/b.nd2")), b"b", None),
            (c, "C:\\drive", "C:\\drive\\c.nd2", b"c", None),
        ],
    )
    conn = sqlite3.connect(db)
    conn.executemany(  # b's copy recorded again since, with "/"; a share's copy of c
        "INSERT INTO copies (file_id, destination_root, path, size, mtime_ns, blake3,"
        " verified_at) VALUES (?, ?, ?, 1, 1, 'x', 0)",
        [(2, "s3:bucket", "s3:bucket/b.nd2"), (3, "\\\\server\\share", "\\\\server\\share\\c")],
    )
    conn.commit()
    conn.close()

    with Catalog(db, safety=any_copy) as cat:
        assert (tmp_path / "c.sqlite3.v3.bak").exists()
        assert cat.db.read("PRAGMA user_version")[0][0] == schema.LATEST == 5
        [copy] = cat.file(a).copies  # type: ignore[union-attr]
        assert (str(copy.destination_root), str(copy.path)) == (
            "research:lab/me",
            "research:lab/me/exp1/a.nd2",
        )
        assert isinstance(copy.path, PurePosixPath)  # "/" on every system
        assert copy.relpath == "exp1/a.nd2"
    assert _copy_rows(db) == {
        (1, "research:lab/me", "research:lab/me/exp1/a.nd2"),
        (2, "s3:bucket", "s3:bucket/b.nd2"),
        (3, "C:\\drive", "C:\\drive\\c.nd2"),
        (3, "\\\\server\\share", "\\\\server\\share\\c"),
    }


@pytest.mark.skipif(sys.platform == "win32", reason="a name holding a backslash: not Windows")
def test_elsewhere_a_backslash_in_a_remote_name_is_part_of_the_name(tmp_path: Path) -> None:
    """On Linux and macOS a ``\\`` is a character of a file name and nothing recorded one
    as a separator: schema v5 changes nothing there."""
    f = acquired(tmp_path / "acq" / "a\\b.nd2", b"a" * 4096)
    db = tmp_path / "c.sqlite3"
    v3_catalog(db, [(f, "research:lab/me", "research:lab/me/a\\b.nd2", b"a", None)])
    with Catalog(db, safety=any_copy) as cat:
        [copy] = cat.file(f).copies  # type: ignore[union-attr]
        assert str(copy.path) == "research:lab/me/a\\b.nd2"
        assert copy.relpath == "a\\b.nd2"

"""core.identity: "same file" and "unchanged" by what the storage says, not by path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from almc_assistant.core.identity import FileIdentity
from tests.portable import WINDOWS, chmod_until_the_ctime_moves


@pytest.mark.skipif(WINDOWS, reason="symbolic links need a privilege on Windows (Wine makes none)")
def test_a_link_and_a_hard_link_are_the_same_file_a_copy_is_not(tmp_path: Path) -> None:
    src = tmp_path / "a.nd2"
    src.write_bytes(b"x" * 100)
    (tmp_path / "link").symlink_to(src)
    os.link(src, tmp_path / "hard")
    (tmp_path / "copy").write_bytes(b"x" * 100)
    me = FileIdentity.of_path(src)
    assert FileIdentity.of_path(tmp_path / "link", follow_symlinks=True).same_file(me)
    assert FileIdentity.of_path(tmp_path / "link").is_link
    assert not FileIdentity.of_path(tmp_path / "link").is_regular
    assert FileIdentity.of_path(tmp_path / "hard").same_file(me)
    assert not FileIdentity.of_path(tmp_path / "copy").same_file(me)


def test_a_same_size_edit_with_the_mtime_restored_is_a_change(tmp_path: Path) -> None:
    src = tmp_path / "a.nd2"
    src.write_bytes(b"a" * 4096)
    before = FileIdentity.of_path(src)
    with open(src, "r+b") as fh:  # dd conv=notrunc
        fh.seek(100)
        fh.write(b"Z")
    os.utime(src, ns=(before.mtime_ns, before.mtime_ns))  # touch -d
    after = FileIdentity.of_path(src)
    assert (after.size, after.mtime_ns) == (before.size, before.mtime_ns)
    assert not after.unchanged_since(before)
    assert "modification time was kept" in after.change_from(before)


def test_a_file_replaced_under_its_name_is_a_change(tmp_path: Path) -> None:
    src = tmp_path / "a.nd2"
    src.write_bytes(b"a" * 10)
    before = FileIdentity.of_path(src)
    other = tmp_path / "b"
    other.write_bytes(b"a" * 10)
    os.utime(other, ns=(before.mtime_ns, before.mtime_ns))
    other.replace(src)
    after = FileIdentity.of_path(src)
    assert not after.unchanged_since(before)
    assert after.change_from(before) == "it was replaced by another file of the same name"


def test_untouched_is_unchanged_and_unknown_identity_refuses(tmp_path: Path) -> None:
    src = tmp_path / "a"
    src.write_bytes(b"a")
    before = FileIdentity.of_path(src)
    assert FileIdentity.of_path(src).unchanged_since(before)
    assert FileIdentity.of_path(src).change_from(before) == ""
    with open(src, "rb") as fh:
        assert FileIdentity.of_fd(fh.fileno()).same_file(before)
    unknown = FileIdentity(0, 0, before.mode, 0, 1, 0, 0)
    assert unknown.same_file(FileIdentity.of_path(tmp_path))  # cannot say "no": refuse


def test_a_new_owner_is_a_change(tmp_path: Path) -> None:
    import dataclasses

    src = tmp_path / "a.nd2"
    src.write_bytes(b"a")
    before = FileIdentity.of_path(src)
    other = dataclasses.replace(before, uid=before.uid + 1)  # as fstat says after a chown
    assert not other.unchanged_since(before)
    assert other.change_from(before) == f"its owner changed (uid {before.uid} -> {other.uid})"


def test_every_way_to_read_an_identity_agrees(tmp_path: Path) -> None:
    """From a path, a descriptor or a stat plus its path: one identity (on Windows the
    change time comes through a handle, and the file number must match ``os.stat``'s)."""
    src = tmp_path / "a.nd2"
    src.write_bytes(b"a" * 100)
    st = os.lstat(src)
    by_path = FileIdentity.of_path(src)
    assert FileIdentity.of(st, src) == by_path
    assert (by_path.dev, by_path.ino) == (st.st_dev, st.st_ino)
    with open(src, "rb") as fh:
        assert FileIdentity.of_fd(fh.fileno()).unchanged_since(by_path)
    chmod_until_the_ctime_moves(src)  # Windows: the read-only attribute
    assert not FileIdentity.of_path(src).unchanged_since(by_path)
    src.chmod(0o666)

"""User A against user B and staff's cleanup, with two real accounts (root on Linux).

A shares a sticky common acquisition folder with B; B's own folder is 0700. Staff's
cleanup runs as root. Each attack here deleted B's unbacked file before the fix.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from almc_assistant.core.cleanup import CleanupPlan
from tests.core.cleanup.world import World, digest, tmpfs_mounts
from tests.multiuser import Account, _interpreter

pytestmark = pytest.mark.root


class Lab:
    def __init__(self, world: World, a: Account, b: Account) -> None:
        self.world, self.a, self.b = world, a, b
        world.acq.chmod(0o1777)  # the common folder: sticky, everyone may add
        self.a_dir = a.make_dir(world.acq / "A", 0o755)
        self.b_dir = b.make_dir(world.acq / "B", 0o700)
        self.a_dest = a.make_dir(world.bit / "A", 0o755)
        self.b_file = b.write(self.b_dir / "run.nd2", b"B's only data" * 100)
        world.acquire("B/run.nd2", None, owner=b.name)

    def a_file_with_copy(self) -> Path:
        src = self.a.write(self.a_dir / "run.nd2", b"A's data" * 100)
        self.world.acquire("A/run.nd2", None, owner=self.a.name)
        copy = self.a.write(self.a_dest / "run.nd2", src.read_bytes())
        self.world.record(src, self.world.bit, copy, digest(src.read_bytes()))
        return src


@pytest.fixture
def lab(shared_root: Path, users: tuple[Account, Account]) -> Iterator[Lab]:
    with tmpfs_mounts() as mounted:
        world = World(shared_root / "ws", mounted)
        world.disk.chmod(0o755)
        yield Lab(world, *users)
        world.catalog.close()


def _a_plan(lab: Lab) -> CleanupPlan:
    plan = lab.world.plan()
    assert [i.file.path.name for i in plan.delete] == ["run.nd2"]
    return plan


def test_swapping_a_folder_for_a_link_between_check_and_delete_spares_b(lab: Lab) -> None:
    a_src = lab.a_file_with_copy()
    a_ino = a_src.stat().st_ino
    plan = _a_plan(lab)
    swap = (
        f"import os; os.rename({str(lab.a_dir)!r}, {str(lab.a_dir) + '-old'!r}); "
        f"os.symlink({str(lab.b_dir)!r}, {str(lab.a_dir)!r})"
    )

    def attack(path: Path) -> None:  # A acts right between the checks and the unlink
        done = lab.a.run(["python", "-c", swap])
        assert done.returncode == 0, done.stderr

    lab.world.before_unlink = attack
    result = lab.world.apply(plan)

    assert lab.b_file.read_bytes() == b"B's only data" * 100
    assert lab.a_dir.is_symlink()
    # What was checked is what was deleted: A's file, in A's real folder.
    assert not (lab.world.acq / "A-old" / "run.nd2").exists()
    (done,) = result.deleted
    assert done.ino == a_ino
    entry = json.loads(lab.world.audit.read_text().splitlines()[0])
    assert entry["ino"] == a_ino and entry["uid"] == lab.a.uid


_INOTIFY_ATTACKER = textwrap.dedent(
    """
    import ctypes, os, struct, sys
    libc = ctypes.CDLL(None, use_errno=True)
    IN_OPEN = 0x20
    fd = libc.inotify_init1(0)
    assert libc.inotify_add_watch(fd, sys.argv[1].encode(), IN_OPEN) >= 0
    print("ready", flush=True)
    os.read(fd, 4096)  # cleanup opened A's copy to hash it
    os.rename(sys.argv[2], sys.argv[2] + "-old")
    os.symlink(sys.argv[3], sys.argv[2])
    print("swapped", flush=True)
    """
)


@pytest.mark.timeout(60)
def test_an_inotify_driven_swap_during_cleanup_spares_b(lab: Lab) -> None:
    lab.a_file_with_copy()
    plan = _a_plan(lab)
    script = lab.a.home / "attack.py"
    lab.a.write(script, _INOTIFY_ATTACKER.encode())
    argv = [str(lab.a_dest / "run.nd2"), str(lab.a_dir), str(lab.b_dir)]
    with subprocess.Popen(
        [_interpreter(), str(script), *argv],
        user=lab.a.uid,
        group=lab.a.gid,
        extra_groups=[],
        env=lab.a.env(),
        stdout=subprocess.PIPE,
        text=True,
    ) as attacker:
        try:
            assert attacker.stdout is not None
            assert attacker.stdout.readline().strip() == "ready"
            lab.world.apply(plan)
            assert attacker.stdout.readline().strip() == "swapped"
            attacker.wait(30)
        finally:
            attacker.kill()
    assert lab.a_dir.is_symlink()
    assert lab.b_file.read_bytes() == b"B's only data" * 100


def test_a_forged_row_for_bs_file_pointing_at_as_zero_filled_file_is_ignored(lab: Lab) -> None:
    size = lab.b_file.stat().st_size
    fake = lab.a.write(lab.a_dest / "run.nd2", b"\0" * size)
    lab.world.record(lab.b_file, lab.world.bit, fake, digest(fake.read_bytes()))
    result = lab.world.apply(lab.world.forced())
    assert result.deleted == () and lab.b_file.exists()
    # Even if A knew B's hash, the bytes are not B's.
    lab.world.record(lab.b_file, lab.world.bit, fake, digest(lab.b_file.read_bytes()))
    result = lab.world.apply(lab.world.forced())
    assert result.deleted == () and lab.b_file.exists()
    assert "belongs to another user" in result.kept[0].reason


def test_a_genuine_copy_of_bs_file_in_as_folder_does_not_count(lab: Lab) -> None:
    copy = lab.a.write(lab.a_dest / "run.nd2", lab.b_file.read_bytes())
    lab.world.record(lab.b_file, lab.world.bit, copy, digest(copy.read_bytes()))
    result = lab.world.apply(lab.world.forced())
    assert result.deleted == () and lab.b_file.exists()
    assert f"belongs to another user (uid {lab.a.uid})" in result.kept[0].reason


def test_a_sticky_shared_destination_counts_only_the_owners_entries(lab: Lab) -> None:
    lab.world.bit.chmod(0o1777)  # a shared institutional share: sticky, world-writable
    b_dest = lab.b.make_dir(lab.world.bit / "B", 0o700)
    copy = lab.b.write(b_dest / "run.nd2", lab.b_file.read_bytes())
    lab.world.record(lab.b_file, lab.world.bit, copy, digest(copy.read_bytes()))
    result = lab.world.apply()
    assert [o.path for o in result.deleted] == [lab.b_file] and not lab.b_file.exists()

"""core.storage: device numbers mapped to the disk or server behind them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from almc_assistant.core.storage import StorageKeys, key_for, parse_mountinfo
from tests.portable import WINDOWS

MOUNTINFO = """\
22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw
40 22 0:45 / /mnt/sub1 rw - btrfs /dev/sdb1 rw,subvol=/a
41 22 0:46 / /mnt/sub2 rw - btrfs /dev/sdb1 rw,subvol=/b
50 22 0:60 / /mnt/nas1 rw - nfs4 NAS.example.org:/export/a rw,vers=4.2
51 22 0:61 / /mnt/nas2 rw - nfs4 nas.example.org:/export/b rw,vers=4.2
52 22 0:62 / /mnt/smb rw - cifs //nas.example.org/lab rw
53 22 0:63 / /mnt/ssh rw - fuse.sshfs ann@nas.example.org:/data rw
60 22 0:70 / /tmp/t rw - tmpfs tmpfs rw
"""


def test_mounts_of_one_disk_or_server_share_a_key() -> None:
    table = parse_mountinfo(MOUNTINFO)
    keys = {dev: key_for(dev, *table[dev]) for dev in table}
    assert keys["0:45"] == keys["0:46"] == f"disk:{os.path.realpath('/dev/sdb1')}"
    assert keys["0:60"] == keys["0:61"] == keys["0:62"] == keys["0:63"] == "server:nas.example.org"
    assert keys["0:70"] == "dev:0:70" and keys["8:2"] != keys["0:45"]


@pytest.mark.skipif(
    WINDOWS, reason="POSIX only: os.makedev and /proc/self/mountinfo do not exist on Windows"
)
def test_the_table_is_read_again_after_its_time(tmp_path: Path) -> None:
    reads: list[int] = []
    now = [0.0]

    def read() -> str:
        reads.append(1)
        return MOUNTINFO

    keys = StorageKeys(ttl=60, clock=lambda: now[0], read=read)
    assert keys(os.makedev(0, 60)) == keys(os.makedev(0, 61)) == "server:nas.example.org"
    assert keys(os.makedev(7, 7)) == "dev:7:7" and len(reads) == 1
    now[0] = 61
    keys(os.makedev(0, 60))
    assert len(reads) == 2


@pytest.mark.root
def test_two_real_tmpfs_disks_have_two_keys(
    tmp_path: Path, other_disk: Callable[..., Path]
) -> None:
    a, b = other_disk(tmp_path / "a"), other_disk(tmp_path / "b")
    keys = StorageKeys()
    assert keys(a.stat().st_dev) != keys(b.stat().st_dev)
    (a / "sub").mkdir()
    assert keys((a / "sub").stat().st_dev) == keys(a.stat().st_dev)

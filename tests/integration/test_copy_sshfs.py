"""Issue 9: publishing on sshfs (no-replace rename refused with EINVAL) is still atomic.

A real sshfs mount of a loopback sshd started here (its own host key, key-only login,
internal-sftp, which offers OpenSSH's ``hardlink@openssh.com``). Needs root, /dev/fuse,
``/usr/sbin/sshd`` and ``sshfs`` (apt: openssh-server sshfs); skips cleanly otherwise.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from almc_assistant.core.fslimits import detect_filesystem
from almc_assistant.core.transfer import (
    READ_BACK_EVICTED,
    CopyFailed,
    CopyHooks,
    CopyRetried,
    CopyVerified,
    owner,
)
from almc_assistant.core.transfer.publish import publish
from almc_assistant.core.transfer.scan import FileTask
from tests.core.transfer.conftest import copy, partials
from tests.portable import IS_ROOT

SSHD = Path("/usr/sbin/sshd")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _mounted(mnt: Path) -> bool:
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        return any(f" {mnt} " in line for line in f)


@pytest.fixture
def sshfs(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(mount point, the server's folder behind it)."""
    if not IS_ROOT or not Path("/dev/fuse").exists():
        pytest.skip("needs root and /dev/fuse for a FUSE mount")
    if not SSHD.exists() or shutil.which("sshfs") is None or shutil.which("ssh-keygen") is None:
        pytest.skip("needs sshd and sshfs (apt-get install openssh-server sshfs)")
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    for name in ("host", "user"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)], check=True
        )
    shutil.copy(keys / "user.pub", keys / "authorized_keys")
    port = _free_port()
    config = keys / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host'}\n"
        f"PidFile {keys / 'sshd.pid'}\nAuthorizedKeysFile {keys / 'authorized_keys'}\n"
        "StrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "Subsystem sftp internal-sftp\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation folder
    server = subprocess.Popen(
        [str(SSHD), "-D", "-e", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store, mnt = tmp_path / "store", tmp_path / "mnt"
    store.mkdir()
    mnt.mkdir()
    try:
        opts = f"IdentityFile={keys / 'user'},StrictHostKeyChecking=no,"
        opts += "UserKnownHostsFile=/dev/null,BatchMode=yes"
        for _ in range(100):  # until sshd accepts: waiting, not measuring
            done = subprocess.run(
                ["sshfs", "-p", str(port), "-o", opts, f"root@127.0.0.1:{store}", str(mnt)],
                capture_output=True,
            )
            if done.returncode == 0 or server.poll() is not None:
                break
            time.sleep(0.1)
        if not _mounted(mnt):
            pytest.skip("sshfs could not mount the loopback server here")
        yield mnt, store
    finally:
        subprocess.run(["fusermount", "-u", "-z", str(mnt)], check=False, capture_output=True)
        server.terminate()
        server.wait(timeout=30)


def test_publish_on_sshfs_never_replaces_and_needs_no_check(sshfs: tuple[Path, Path]) -> None:
    mnt, store = sshfs
    assert detect_filesystem(mnt).type == "fuse.sshfs"
    assert detect_filesystem(mnt).pending_upload == ""  # reads go to the server
    (mnt / "partial").write_bytes(b"verified")
    (store / "taken").write_bytes(b"someone else's")
    assert publish(mnt / "partial", mnt / "taken") is False
    assert (store / "taken").read_bytes() == b"someone else's"
    assert publish(mnt / "partial", mnt / "free") is True
    assert (store / "free").read_bytes() == b"verified" and not (store / "partial").exists()


def test_copy_to_sshfs_with_a_competing_writer_at_the_final_name(
    tmp_path: Path, sshfs: tuple[Path, Path]
) -> None:
    mnt, store = sshfs
    run = tmp_path / "src" / "run1"
    run.mkdir(parents=True)
    data = os.urandom(300_000)
    (run / "a.nd2").write_bytes(data)
    (run / "b.tif").write_bytes(b"b" * 1000)

    def competitor(partial: Path, start: int, end: int) -> None:  # writes on the server
        theirs = store / "run1" / "a.nd2"
        if partial.name.endswith("a.nd2") and not theirs.exists():
            theirs.write_bytes(b"another writer's bytes")

    result, sink = copy([run], [mnt], hooks=CopyHooks(after_flush=competitor))
    assert result.summary.ok and not sink.of_type(CopyFailed)
    assert (store / "run1" / "a.nd2").read_bytes() == b"another writer's bytes"
    assert (store / "run1" / "a (almc copy 2).nd2").read_bytes() == data
    assert (store / "run1" / "b.tif").read_bytes() == b"b" * 1000
    assert len(sink.of_type(CopyVerified)) == 2 and partials(store) == []


def test_publish_on_sshfs_leaves_no_window_between_check_and_rename(
    sshfs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old fallback checked the name, then renamed: a writer in between was replaced.
    Here a writer strikes at the moment any such check runs: its file must survive."""
    mnt, store = sshfs
    (mnt / "partial").write_bytes(b"verified")
    raced: list[bool] = []
    real_lexists = os.path.lexists

    def writer_strikes(path: str | os.PathLike[str]) -> bool:
        if Path(path) == mnt / "final" and not raced:
            raced.append(True)
            (store / "final").write_bytes(b"competitor")
            return False  # it was free when checked
        return real_lexists(path)

    monkeypatch.setattr(os.path, "lexists", writer_strikes)
    published = publish(mnt / "partial", mnt / "final")
    monkeypatch.undo()
    if raced:
        assert not published and (store / "final").read_bytes() == b"competitor"
    else:
        assert published and (store / "final").read_bytes() == b"verified"


def test_small_files_to_a_share_are_spread_over_the_workers(
    tmp_path: Path, sshfs: tuple[Path, Path]
) -> None:
    """Issue 17: small files to a share once went as one 64-file group to one worker
    (groups only pay on local disks), so the other workers stood idle."""
    mnt, store = sshfs
    run = tmp_path / "src" / "run1"
    run.mkdir(parents=True)
    for i in range(24):
        (run / f"f{i:02d}.tif").write_bytes(os.urandom(1000))
    seen: set[str] = set()
    started = threading.Barrier(2, timeout=30)

    def before(task: object) -> None:
        name = threading.current_thread().name
        if name not in seen:
            seen.add(name)
            if len(seen) <= 2:
                started.wait()  # two workers at once, or the barrier breaks

    result, sink = copy([run], [mnt], workers=4, hooks=CopyHooks(before_file=before))
    assert result.summary.ok and len(sink.of_type(CopyVerified)) == 24
    assert len(seen) >= 2
    assert sorted(p.name for p in (store / "run1").iterdir()) == [
        f"f{i:02d}.tif" for i in range(24)
    ]


def test_publish_after_a_refused_no_replace_rename_still_never_replaces(
    sshfs: tuple[Path, Path],
) -> None:
    mnt, store = sshfs
    for _ in range(2):  # the second time the refusal is remembered: link straight away
        (mnt / "partial").write_bytes(b"verified")
        (store / "taken").write_bytes(b"someone else's")
        assert publish(mnt / "partial", mnt / "taken") is False
        assert (store / "taken").read_bytes() == b"someone else's"
        (mnt / "partial").unlink()


def test_partials_on_a_share_are_written_in_staging_folders(
    tmp_path: Path, sshfs: tuple[Path, Path]
) -> None:
    """Issue 17: a partial beside its final name costs three name operations in the final
    folder, which the kernel serialises (one round trip each on a share). In staging
    folders (a few per job, shared by the workers), only the link to the final name is
    left there."""
    mnt, store = sshfs
    run = tmp_path / "src" / "run1"
    (run / "sub").mkdir(parents=True)
    for i in range(12):
        (run / ("sub" if i % 2 else "") / f"f{i:02d}.tif").write_bytes(os.urandom(2000 + i))
    seen: list[Path] = []

    def record(partial: Path, start: int, end: int) -> None:
        seen.append(partial)

    result, sink = copy([run], [mnt], workers=4, hooks=CopyHooks(after_flush=record))
    assert result.summary.ok and len(sink.of_type(CopyVerified)) == 12
    assert len(seen) == 12
    assert all(p.parent.parent == mnt and p.parent.name.startswith(".almc-staging-") for p in seen)
    assert 1 <= len({p.parent for p in seen}) <= 4  # at most one per worker that copied
    for f in run.rglob("*.tif"):
        assert (store / "run1" / f.relative_to(run)).read_bytes() == f.read_bytes()
    assert [p.name for p in store.iterdir() if p.name.startswith(".almc-staging-")] == []
    assert partials(store) == []


def test_a_dead_jobs_staging_folder_on_a_share_is_emptied_and_removed(
    tmp_path: Path, sshfs: tuple[Path, Path]
) -> None:
    mnt, store = sshfs
    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid is free now: its partials' writer is gone
    who = owner.marker(os.getpid()).split("-")
    stale_owner = f"{who[0]}-{dead.pid}-{who[2]}"
    stale = store / f".almc-staging-{stale_owner}-0123456789ab"
    stale.mkdir()
    (stale / f".almc-partial-{stale_owner}-deadbeef0-a.tif").write_bytes(b"half a copy")
    alive = store / f".almc-staging-{owner.marker()}-ba9876543210"  # a running job's
    alive.mkdir()
    run = tmp_path / "src" / "run1"
    run.mkdir(parents=True)
    (run / "a.tif").write_bytes(b"a" * 5000)
    result, _ = copy([run], [mnt], workers=2)
    assert result.summary.ok
    assert not stale.exists() and alive.exists()
    assert (store / "run1" / "a.tif").read_bytes() == b"a" * 5000


def test_files_already_on_a_share_are_adopted_or_kept_beside(
    tmp_path: Path, sshfs: tuple[Path, Path]
) -> None:
    """The share's folders are listed once instead of each name looked up: a name the
    listing shows is still adopted (same bytes) or kept beside (other bytes)."""
    mnt, store = sshfs
    run = tmp_path / "src" / "run1"
    run.mkdir(parents=True)
    (run / "same.tif").write_bytes(b"s" * 3000)
    (run / "other.tif").write_bytes(b"o" * 3000)
    (run / "new.tif").write_bytes(b"n" * 3000)
    (store / "run1").mkdir()
    (store / "run1" / "same.tif").write_bytes(b"s" * 3000)
    (store / "run1" / "other.tif").write_bytes(b"x" * 3000)
    result, sink = copy([run], [mnt], workers=2)
    assert result.summary.ok and len(sink.of_type(CopyVerified)) == 3
    assert (store / "run1" / "other.tif").read_bytes() == b"x" * 3000
    assert (store / "run1" / "other (almc copy 2).tif").read_bytes() == b"o" * 3000
    assert (store / "run1" / "same.tif").read_bytes() == b"s" * 3000
    assert (store / "run1" / "new.tif").read_bytes() == b"n" * 3000
    assert sorted(p.name for p in (store / "run1").iterdir()) == [
        "new.tif",
        "other (almc copy 2).tif",
        "other.tif",
        "same.tif",
    ]


def test_files_to_a_share_are_handed_out_from_a_few_folders_at_once(
    tmp_path: Path, sshfs: tuple[Path, Path]
) -> None:
    """Issue 17: each file's link holds its folder's lock; files handed out folder after
    folder put every worker behind one lock. They come from a few folders in turn."""
    mnt, store = sshfs
    run = tmp_path / "src" / "plate"
    for w in range(5):
        (run / f"well{w}").mkdir(parents=True)
        for i in range(4):
            (run / f"well{w}" / f"f{i}.tif").write_bytes(os.urandom(500 + i))
    order: list[str] = []
    lock = threading.Lock()

    def before(task: FileTask) -> None:
        with lock:
            order.append(task.relpath)

    result, sink = copy([run], [mnt], workers=1, hooks=CopyHooks(before_file=before))
    assert result.summary.ok and len(sink.of_type(CopyVerified)) == 20
    assert [r.split("/")[1] for r in order[:8]] == ["well0", "well1", "well2", "well3"] * 2
    for f in run.rglob("*.tif"):
        assert (store / "plate" / f.relative_to(run)).read_bytes() == f.read_bytes()


def test_read_back_on_a_share_reads_the_servers_bytes(
    tmp_path: Path, sshfs: tuple[Path, Path]
) -> None:
    """Issue 17: the read-back on a share goes to the server, not to this machine's cache
    (the pages are dropped first): a byte changed on the server after the flush is caught
    and the copy retried; sizes no block would align (empty, one byte, odd, several
    chunks) verify, and each copy says how it was read back."""
    mnt, store = sshfs
    run = tmp_path / "src" / "run1"
    run.mkdir(parents=True)
    sizes = {"empty.tif": 0, "one.tif": 1, "odd.tif": 65_537, "multi.nd2": (9 << 20) + 3}
    for name, size in sizes.items():
        (run / name).write_bytes(os.urandom(size))
    changed: list[str] = []

    def server_side_change(partial: Path, start: int, end: int) -> None:
        if partial.name.endswith("odd.tif") and not changed:  # the first attempt only
            on_server = store / partial.relative_to(mnt)
            with open(on_server, "r+b") as f:
                f.seek(start + 100)
                b = f.read(1)
                f.seek(start + 100)
                f.write(bytes([b[0] ^ 0xFF]))
            changed.append(partial.name)

    result, sink = copy([run], [mnt], workers=2, hooks=CopyHooks(after_flush=server_side_change))
    assert changed
    (retry,) = sink.of_type(CopyRetried)
    assert "odd.tif" in retry.detail and "does not match" in retry.detail
    assert result.summary.ok and len(sink.of_type(CopyVerified)) == len(sizes)
    assert {e.copy.read_back for e in sink.of_type(CopyVerified)} == {READ_BACK_EVICTED}
    for name in sizes:
        assert (store / "run1" / name).read_bytes() == (run / name).read_bytes()
    assert partials(store) == []
